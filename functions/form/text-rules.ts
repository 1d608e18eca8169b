/**
 * Rules on submitted text that do not depend on the form: lengths as Django counts them, and the email
 * address rule. Browser-safe (the page bundles it): no Node APIs, no imports.
 *
 * - Lengths are counted in Unicode code points, as Python's `len()` counts them (so an emoji counts as
 *   one character, not two UTF-16 units).
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
 */

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

/** Unicode's control characters: the C0 controls (CR, LF, TAB, NUL, …), DEL and the C1 controls. */
export const CONTROL_CHARACTER = /\p{Cc}/u;
/** With the `u` flag only a lone surrogate is a `Cs` code point: `!isWellFormed()`, on any runtime. */
export const LONE_SURROGATE = /\p{Cs}/u;
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
