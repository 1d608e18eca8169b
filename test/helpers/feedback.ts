/**
 * One valid feedback for every test that needs one, built from the form's field definitions
 * (`functions/form/fields.ts`): a valid value for each required field, and the test's own values on
 * top. A test names only the fields it is about, so a field added to the form needs no edit in the
 * tests that only need a valid body. Twins: {@link validFeedbackForm} (a form post's body) here,
 * `feedbackMessage()` (the queue message) in `sqs-event.ts`, `fillFeedbackForm()` (the page) in
 * `test/browser/browser.ts`.
 */
import {
  type Feedback,
  FIELD_NAMES,
  type FieldDefinition,
  feedbackFields,
} from '../../functions/form/fields.ts';

/** A valid value for a field, chosen by the control that asks for it. */
export function exampleValue(field: FieldDefinition): string {
  switch (field.control) {
    case 'email':
      return 'visitor@example.com';
    case 'text':
      return 'Ada';
    case 'textarea':
      return 'Great site!';
  }
}

/** A test's values: any value a client could send; `undefined` leaves the field out. */
export type FeedbackOverrides = Record<string, unknown>;

/**
 * A valid `POST /api/feedback` body (JSON): every required field with a valid value, already cleaned,
 * so it is also what validation returns and what the submit queues. `overrides` replace or add fields.
 */
export function validFeedback<T extends FeedbackOverrides = Record<never, never>>(
  overrides?: T,
): Omit<Feedback, keyof T> & T {
  const body: Record<string, unknown> = {};
  for (const name of FIELD_NAMES) {
    const field: FieldDefinition = feedbackFields[name];
    if (field.required) body[name] = exampleValue(field);
  }
  for (const [name, value] of Object.entries(overrides ?? {})) {
    if (value === undefined) delete body[name];
    else body[name] = value;
  }
  return body as Omit<Feedback, keyof T> & T;
}

/** The same as a form post's body (`application/x-www-form-urlencoded`); overrides are text here. */
export function validFeedbackForm(overrides: Record<string, string | undefined> = {}): URLSearchParams {
  return new URLSearchParams(validFeedback(overrides) as Record<string, string>);
}
