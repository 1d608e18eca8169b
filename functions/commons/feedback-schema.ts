/**
 * The rules of a feedback submission and their error texts, shared by the submit handler (the authority)
 * and the page (which shows the same texts before it posts). Browser-safe: no Node APIs, and only
 * `zod/mini` (tree-shakable) plus the import-free settings module.
 *
 * The rules and texts are those of the seed's Django form (`EmailField(max_length=254)`,
 * `CharField(max_length=5000, widget=Textarea)`), with these deliberate, documented choices:
 * - Both values are stripped of surrounding whitespace (Django's `strip=True`); the stripped ("cleaned")
 *   value is what is validated, counted, queued and mailed. JavaScript's `trim()` stands in for Python's
 *   `str.strip()`; both remove ASCII and Unicode whitespace.
 * - Lengths are counted in Unicode code points of the cleaned value, as Python's `len()` counts them
 *   (so an emoji counts as one character, not two UTF-16 units).
 * - The email address follows Django's `EmailValidator`: a dot-atom user part of ASCII letters, digits
 *   and ``!#$%&'*+/=?^_`{|}~-``, one `@`, and a domain of at least two dot-separated labels (letters,
 *   digits and inner hyphens, internationalized letters allowed; the last label at least two
 *   characters). Stricter than Django in three places, because the address becomes an email header:
 *   any control character anywhere in the submitted value (CR, LF, NUL, …, even around it) is rejected,
 *   quoted user parts (`"john doe"@example.com`) and IP-literal domains are not accepted, and neither is
 *   a domain without a dot (`localhost`), a user part over 64 characters (RFC 5321's limit) or `=?`
 *   (an RFC 2047 encoded-word, which a mail client would decode into another address).
 * - An internationalized domain is accepted, as Django does, and queued in its ASCII (punycode) form,
 *   the form SES takes; a domain that has no ASCII form is refused with the address text.
 * - Text that is not well-formed UTF-16 (a lone surrogate, which no UTF-8 email can carry and which
 *   would break the mail of the task) is refused: "Enter a valid email address." or "Enter a valid
 *   value.".
 * - Like Django, every failing rule of a field is reported (an address can be both invalid and too
 *   long), except that an empty field reports only "This field is required.".
 * - JSON numbers and booleans are taken as their text (Django's `str(value)`); arrays and objects are
 *   not values of these fields.
 */
import * as z from 'zod/mini';
import { limits } from './settings.ts';

/** The error texts, word for word those of the seed's Django form. */
export const errorTexts = {
  required: 'This field is required.',
  invalidEmail: 'Enter a valid email address.',
  invalidValue: 'Enter a valid value.',
  nullCharacters: 'Null characters are not allowed.',
  maxLength: (max: number, actual: number): string =>
    `Ensure this value has at most ${max} characters (it has ${actual}).`,
} as const;

/** The hidden field that only bots fill in; a submission with it set is answered as accepted and dropped. */
export const HONEYPOT_FIELD = 'website';

/** A feedback that passed validation: both values cleaned (stripped). */
export interface Feedback {
  email: string;
  message: string;
}

/** The error texts per field, in the order Django reports them. */
export interface FeedbackFieldErrors {
  email?: string[];
  message?: string[];
}

/** The outcome of {@link validateFeedback}. */
export type FeedbackValidation =
  | { success: true; data: Feedback }
  | { success: false; fields: FeedbackFieldErrors };

/** The number of characters in `value` as Python's `len()` counts them: Unicode code points. */
export function characterCount(value: string): number {
  let count = 0;
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i);
    const next = value.charCodeAt(i + 1);
    if (unit >= 0xd800 && unit <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) i++;
    count++;
  }
  return count;
}

// Unicode's control characters: the C0 controls (CR, LF, TAB, NUL, …), DEL and the C1 controls.
const CONTROL_CHARACTER = /\p{Cc}/u;
// With the `u` flag only a lone surrogate is a `Cs` code point: `!isWellFormed()`, on any runtime.
const LONE_SURROGATE = /\p{Cs}/u;
/** RFC 5321's longest user part (local part) of an address. */
const USER_MAX_LENGTH = 64;
const USER_ATOM = /^[-!#$%&'*+/=?^_`{}|~0-9A-Za-z]+$/;
const DOMAIN_LABEL = /^[\p{L}\p{N}](?:[\p{L}\p{M}\p{N}-]{0,61}[\p{L}\p{M}\p{N}])?$/u;
const TOP_LEVEL_LABEL = /^[\p{L}\p{M}\p{N}-]{2,63}$/u;

/**
 * Whether a cleaned (stripped) value is a valid email address under the rule described in this
 * module's documentation (Django's `EmailValidator`, a little stricter). Linear time: no backtracking
 * regular expression over the whole address.
 */
export function isValidEmail(value: string): boolean {
  if (CONTROL_CHARACTER.test(value) || LONE_SURROGATE.test(value) || value.includes('=?')) return false;
  const at = value.lastIndexOf('@');
  if (at <= 0 || at === value.length - 1 || at > USER_MAX_LENGTH) return false;
  const user = value.slice(0, at);
  const labels = value.slice(at + 1).split('.');
  if (!user.split('.').every((atom) => USER_ATOM.test(atom))) return false;
  const topLevel = labels.pop() ?? '';
  if (labels.length === 0 || !TOP_LEVEL_LABEL.test(topLevel) || topLevel.endsWith('-')) return false;
  return labels.every((label) => DOMAIN_LABEL.test(label)) && asciiEmail(value) !== undefined;
}

const ASCII_DOMAIN = /^[a-z0-9.-]+$/;

/**
 * The address with its domain in ASCII (punycode, as the WHATWG URL standard's UTS #46 processing
 * gives it); the address itself when its domain is ASCII already; undefined when the domain has no
 * valid ASCII form. The user part is ASCII by the rule above.
 */
export function asciiEmail(value: string): string | undefined {
  const at = value.lastIndexOf('@');
  const domain = value.slice(at + 1);
  if (!/[^\p{ASCII}]/u.test(domain)) return value;
  let ascii: string;
  try {
    ascii = new URL(`http://${domain}`).hostname;
  } catch {
    return undefined;
  }
  const labels = ascii.split('.');
  const valid =
    ASCII_DOMAIN.test(ascii) &&
    labels.length > 1 &&
    labels.every((label) => DOMAIN_LABEL.test(label)) &&
    TOP_LEVEL_LABEL.test(labels.at(-1) ?? '');
  return valid ? `${value.slice(0, at)}@${ascii}` : undefined;
}

/** A submitted value as text: absent → empty, numbers and booleans → their text, anything else → none. */
function asText(value: unknown): string | undefined {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

function clean(value: unknown): string {
  return (asText(value) ?? '').trim();
}

function field(
  check: (raw: string, cleaned: string) => string[],
  notText: string,
  transform: (cleaned: string) => string = (cleaned) => cleaned,
) {
  return z.pipe(
    z.unknown().check(
      z.superRefine((value, ctx) => {
        const raw = asText(value);
        const errors =
          raw === undefined ? [notText] : raw.trim() === '' ? [errorTexts.required] : check(raw, raw.trim());
        for (const message of errors) ctx.addIssue({ code: 'custom', message, input: value });
      }),
    ),
    z.transform((value) => transform(clean(value))),
  );
}

const feedbackSchema = z.object({
  email: field(
    (raw, cleaned) => {
      const errors: string[] = [];
      if (CONTROL_CHARACTER.test(raw) || LONE_SURROGATE.test(raw) || !isValidEmail(cleaned))
        errors.push(errorTexts.invalidEmail);
      const count = characterCount(cleaned);
      if (count > limits.emailMaxLength) errors.push(errorTexts.maxLength(limits.emailMaxLength, count));
      return errors;
    },
    errorTexts.invalidEmail,
    (cleaned) => asciiEmail(cleaned) ?? cleaned,
  ),
  message: field((raw, cleaned) => {
    const errors: string[] = [];
    if (LONE_SURROGATE.test(raw)) errors.push(errorTexts.invalidValue);
    const count = characterCount(cleaned);
    if (count > limits.messageMaxLength) errors.push(errorTexts.maxLength(limits.messageMaxLength, count));
    if (cleaned.includes('\u0000')) errors.push(errorTexts.nullCharacters);
    return errors;
  }, errorTexts.invalidValue),
});

/**
 * Validates a submission's fields (parsed JSON or form fields; unknown fields are ignored) and returns
 * either the cleaned feedback or the error texts per field, as the API's `invalid_feedback` answer
 * carries them.
 */
export function validateFeedback(input: Record<string, unknown>): FeedbackValidation {
  const result = z.safeParse(feedbackSchema, input);
  if (result.success) return { success: true, data: result.data };
  const fields: FeedbackFieldErrors = {};
  for (const issue of result.error.issues) {
    const name = issue.path[0];
    if (name === 'email' || name === 'message') fields[name] = [...(fields[name] ?? []), issue.message];
  }
  return { success: false, fields };
}

/** Whether the honeypot field holds anything but whitespace: the submission came from a bot. */
export function isHoneypotFilled(input: Record<string, unknown>): boolean {
  return clean(input[HONEYPOT_FIELD]) !== '' || asText(input[HONEYPOT_FIELD]) === undefined;
}
