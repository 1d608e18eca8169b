/**
 * The feedback form, declared once: each field's name, label, rules and Django error texts. Everything
 * else follows from {@link feedbackFields}: the submit handler's validation (the authority), the page's
 * own check before it posts and its markup (built into `index.html` by `lib/site.ts`), the no-JavaScript
 * form view (`http/views.ts`), and the queue message the worker accepts (`queue-message.ts`, where a field
 * is optional unless `alwaysQueued`). The emails (`email/messages.ts`) read the queued values.
 * Browser-safe: no Node APIs, only `zod/mini` (tree-shakable).
 *
 * The rules and texts are those of the seed's Django form (`EmailField(max_length=254)`,
 * `CharField(max_length=5000, widget=Textarea)`), plus an optional name
 * (`CharField(max_length=100, required=False)`), with these deliberate, documented choices:
 * - Every value is stripped of surrounding whitespace (Django's `strip=True`); the stripped ("cleaned")
 *   value is what is validated, counted, queued and mailed. JavaScript's `trim()` stands in for Python's
 *   `str.strip()`; both remove ASCII and Unicode whitespace. An optional field left blank is absent.
 * - Lengths and the address rule are those of `text-rules.ts`.
 * - Text that is not well-formed UTF-16 (a lone surrogate, which no UTF-8 email can carry and which
 *   would break the mail of the task) is refused: "Enter a valid email address." or "Enter a valid
 *   value.".
 * - Like Django, every failing rule of a field is reported (an address can be both invalid and too
 *   long), except that an empty field reports only "This field is required.".
 * - JSON numbers and booleans are taken as their text (Django's `str(value)`); arrays and objects are
 *   not values of these fields. Unknown fields are ignored.
 */
import * as z from 'zod/mini';
import { asciiEmail, CONTROL_CHARACTER, characterCount, isValidEmail, LONE_SURROGATE } from './text-rules.ts';

/** The error texts, word for word those of the seed's Django form. */
export const errorTexts = {
  required: 'This field is required.',
  invalidEmail: 'Enter a valid email address.',
  invalidValue: 'Enter a valid value.',
  nullCharacters: 'Null characters are not allowed.',
  maxLength: (max: number, actual: number): string =>
    `Ensure this value has at most ${max} characters (it has ${actual}).`,
} as const;

/** One field of the form. */
export interface FieldDefinition {
  /** The label on the page (with "(optional)" for an optional field). */
  label: string;
  /** A line under the label. */
  hint?: string;
  required: boolean;
  /** In characters of the cleaned value (code points). */
  maxLength: number;
  /** How the page asks for it: an `<input type="email">`, an `<input type="text">` or a `<textarea>`. */
  control: 'email' | 'text' | 'textarea';
  /** The browser's autofill hint. */
  autocomplete?: string;
  /** The error text of a value that is not text at all (an array, an object). */
  notText: string;
  /** The errors of a non-blank value, in Django's order: `raw` as submitted, `cleaned` stripped. */
  check(raw: string, cleaned: string, field: FieldDefinition): string[];
  /** The cleaned value as it is queued and mailed. */
  normalize?(cleaned: string): string;
  /**
   * Every queued message carries the field: the worker and the emails may count on it. Only the first
   * version's fields (`email`, `message`) say so, and a field added later must not, even a required
   * one: a message waits for days in the queue, and for longer in the dead-letter queue, from which
   * `npm run redrive` sends it back (their retention: `queue` in `config/settings.ts`), so after a
   * deploy the worker still gets the previous version's messages, which lack the new field. Without this flag the queue message's schema takes the field
   * as optional (checked when present), and TypeScript makes the emails do without it. Setting it on
   * such a field later waits until both queues hold no message older than the field.
   */
  alwaysQueued?: true;
}

function tooLong(cleaned: string, { maxLength }: FieldDefinition): string[] {
  const count = characterCount(cleaned);
  return count > maxLength ? [errorTexts.maxLength(maxLength, count)] : [];
}

/** A Django `CharField`: any well-formed text without NUL, up to the field's length. */
function checkText(raw: string, cleaned: string, field: FieldDefinition): string[] {
  return [
    ...(LONE_SURROGATE.test(raw) ? [errorTexts.invalidValue] : []),
    ...tooLong(cleaned, field),
    ...(cleaned.includes('\u0000') ? [errorTexts.nullCharacters] : []),
  ];
}

const MESSAGE_MAX_LENGTH = 5000;

/**
 * The fields, in the order the form shows them. Their names are the form's field names, the JSON keys
 * of `POST /api/feedback` and of the queue message.
 */
export const feedbackFields = {
  name: {
    label: 'Your name (optional)',
    required: false,
    maxLength: 100,
    control: 'text',
    autocomplete: 'name',
    notText: errorTexts.invalidValue,
    check: checkText,
  },
  email: {
    label: 'Email address',
    required: true,
    maxLength: 254,
    control: 'email',
    autocomplete: 'email',
    notText: errorTexts.invalidEmail,
    check: (raw, cleaned, field) => [
      ...(CONTROL_CHARACTER.test(raw) || LONE_SURROGATE.test(raw) || !isValidEmail(cleaned)
        ? [errorTexts.invalidEmail]
        : []),
      ...tooLong(cleaned, field),
    ],
    normalize: (cleaned) => asciiEmail(cleaned) ?? cleaned,
    alwaysQueued: true,
  },
  message: {
    label: 'Message',
    hint: `Up to ${MESSAGE_MAX_LENGTH} characters.`,
    required: true,
    maxLength: MESSAGE_MAX_LENGTH,
    control: 'textarea',
    notText: errorTexts.invalidValue,
    check: checkText,
    alwaysQueued: true,
  },
} as const satisfies Record<string, FieldDefinition>;

/** A field's name. */
export type FieldName = keyof typeof feedbackFields;

/** The field names in the form's order. */
export const FIELD_NAMES = Object.keys(feedbackFields) as FieldName[];

type RequiredName = {
  [name in FieldName]: (typeof feedbackFields)[name]['required'] extends true ? name : never;
}[FieldName];

/** A feedback that passed validation: every value cleaned; an optional field left blank is absent. */
export type Feedback = { [name in RequiredName]: string } & {
  [name in Exclude<FieldName, RequiredName>]?: string;
};

/** The error texts per field, in the order Django reports them. */
export type FeedbackFieldErrors = Partial<Record<FieldName, string[]>>;

/** The outcome of {@link validateFeedback}. */
export type FeedbackValidation =
  | { success: true; data: Feedback }
  | { success: false; fields: FeedbackFieldErrors };

/** The hidden field that only bots fill in; a submission with it set is answered as accepted and dropped. */
export const HONEYPOT_FIELD = 'website';

/** A submitted value as text: absent → empty, numbers and booleans → their text, anything else → none. */
function asText(value: unknown): string | undefined {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

/** The errors of a submitted value of `field` (none for a blank optional one). */
export function fieldErrors(field: FieldDefinition, value: unknown): string[] {
  const raw = asText(value);
  if (raw === undefined) return [field.notText];
  if (raw.trim() === '') return field.required ? [errorTexts.required] : [];
  return field.check(raw, raw.trim(), field);
}

function fieldSchema(field: FieldDefinition) {
  const schema = z.pipe(
    z.unknown().check(
      z.superRefine((value, ctx) => {
        for (const message of fieldErrors(field, value))
          ctx.addIssue({ code: 'custom', message, input: value });
      }),
    ),
    z.transform((value) => {
      const cleaned = (asText(value) ?? '').trim();
      if (cleaned === '') return undefined;
      return field.normalize?.(cleaned) ?? cleaned;
    }),
  );
  return field.required ? schema : z.optional(schema);
}

const feedbackSchema = z.object(
  Object.fromEntries(FIELD_NAMES.map((name) => [name, fieldSchema(feedbackFields[name])])),
);

/**
 * Validates a submission's fields (parsed JSON or form fields; unknown fields are ignored) and returns
 * either the cleaned feedback or the error texts per field, as the API's `invalid_feedback` answer
 * carries them.
 */
export function validateFeedback(input: Record<string, unknown>): FeedbackValidation {
  const result = z.safeParse(feedbackSchema, input);
  if (result.success) {
    const present = Object.entries(result.data).filter(([, value]) => value !== undefined);
    return { success: true, data: Object.fromEntries(present) as Feedback };
  }
  const fields: FeedbackFieldErrors = {};
  for (const issue of result.error.issues) {
    const name = issue.path[0] as FieldName;
    fields[name] = [...(fields[name] ?? []), issue.message];
  }
  return { success: false, fields };
}

/** Whether the honeypot field holds anything but whitespace: the submission came from a bot. */
export function isHoneypotFilled(input: Record<string, unknown>): boolean {
  const value = asText(input[HONEYPOT_FIELD]);
  return value === undefined || value.trim() !== '';
}

/** What the visitor typed, field by field: what the form shows again after an error. */
export type FormValues = Partial<Record<FieldName, string>>;

/** The fields' values as submitted, where they are text. */
export function submittedValues(input: Record<string, unknown>): FormValues {
  const values: FormValues = {};
  for (const name of FIELD_NAMES) {
    const value = input[name];
    if (typeof value === 'string') values[name] = value;
  }
  return values;
}
