import { describe, expect, it } from 'vitest';
import { errorTexts, isHoneypotFilled, validateFeedback } from '../../functions/form/fields.ts';
import { characterCount, isValidEmail } from '../../functions/form/text-rules.ts';
import { validFeedback } from '../helpers/feedback.ts';

const REQUIRED = 'This field is required.';
const INVALID_EMAIL = 'Enter a valid email address.';

describe('validateFeedback', () => {
  it('accepts a valid feedback and returns the cleaned (stripped) values', () => {
    // Prepare
    const input = { email: '  visitor@example.com ', message: '\n  Great tutorial!  \n' };

    // Act
    const result = validateFeedback(validFeedback(input));

    // Assess
    expect(result).toEqual({
      success: true,
      data: validFeedback({ email: 'visitor@example.com', message: 'Great tutorial!' }),
    });
  });

  it('ignores unknown fields', () => {
    // Prepare
    const input = { email: 'a@example.com', message: 'Hi', nickname: 'Ann', admin: true };

    // Act
    const result = validateFeedback(validFeedback(input));

    // Assess
    expect(result).toEqual({ success: true, data: validFeedback({ email: 'a@example.com', message: 'Hi' }) });
  });

  it.each([
    ['both missing', { email: undefined, message: undefined }, { email: [REQUIRED], message: [REQUIRED] }],
    ['empty strings', { email: '', message: '' }, { email: [REQUIRED], message: [REQUIRED] }],
    ['only whitespace', { email: '   ', message: ' \n\t ' }, { email: [REQUIRED], message: [REQUIRED] }],
    ['null values', { email: null, message: null }, { email: [REQUIRED], message: [REQUIRED] }],
  ])('requires both fields: %s', (_case, input, fields) => {
    // Act
    const result = validateFeedback(validFeedback(input));

    // Assess
    expect(result).toEqual({ success: false, fields });
  });

  it('reports only the failing field', () => {
    // Act
    const result = validateFeedback(validFeedback({ email: 'not-an-address', message: 'Hello' }));

    // Assess
    expect(result).toEqual({ success: false, fields: { email: [INVALID_EMAIL] } });
  });

  it('accepts an email of exactly 254 characters', () => {
    // Prepare
    const email = `${'a'.repeat(64)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(57)}.com`;

    // Act
    const result = validateFeedback(validFeedback({ email, message: 'Hi' }));

    // Assess
    expect(email).toHaveLength(254);
    expect(result.success).toBe(true);
  });

  it('rejects an email of 255 characters with the count', () => {
    // Prepare
    const email = `${'a'.repeat(64)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(58)}.com`;

    // Act
    const result = validateFeedback(validFeedback({ email, message: 'Hi' }));

    // Assess
    expect(result).toEqual({
      success: false,
      fields: { email: ['Ensure this value has at most 254 characters (it has 255).'] },
    });
  });

  it('counts the email after stripping surrounding whitespace', () => {
    // Prepare
    const email = `   ${'a'.repeat(64)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(57)}.com   `;

    // Act
    const result = validateFeedback(validFeedback({ email, message: 'Hi' }));

    // Assess
    expect(result).toEqual({ success: true, data: validFeedback({ email: email.trim(), message: 'Hi' }) });
  });

  it('reports both rules, in Django order, for an address that is invalid and too long', () => {
    // Prepare
    const email = `${'a'.repeat(300)} @example.com`;

    // Act
    const result = validateFeedback(validFeedback({ email, message: 'Hi' }));

    // Assess
    expect(result).toEqual({
      success: false,
      fields: { email: [INVALID_EMAIL, 'Ensure this value has at most 254 characters (it has 313).'] },
    });
  });

  it('accepts a message of exactly 5000 characters', () => {
    // Act
    const result = validateFeedback(validFeedback({ email: 'a@example.com', message: 'x'.repeat(5000) }));

    // Assess
    expect(result.success).toBe(true);
  });

  it('rejects a message of 5001 characters with the count', () => {
    // Act
    const result = validateFeedback(validFeedback({ email: 'a@example.com', message: 'x'.repeat(5001) }));

    // Assess
    expect(result).toEqual({
      success: false,
      fields: { message: ['Ensure this value has at most 5000 characters (it has 5001).'] },
    });
  });

  it('counts the message after trimming, in code points (an emoji is one character)', () => {
    // Prepare
    const fits = `  ${'😀'.repeat(5000)}  `;
    const tooLong = '😀'.repeat(5001);

    // Act
    const fitting = validateFeedback(validFeedback({ email: 'a@example.com', message: fits }));
    const rejected = validateFeedback(validFeedback({ email: 'a@example.com', message: tooLong }));

    // Assess
    expect(fitting.success).toBe(true);
    expect(rejected).toEqual({
      success: false,
      fields: { message: ['Ensure this value has at most 5000 characters (it has 5001).'] },
    });
  });

  it('rejects NUL characters in the message with Django text', () => {
    // Act
    const result = validateFeedback(validFeedback({ email: 'a@example.com', message: 'a\u0000b' }));

    // Assess
    expect(result).toEqual({ success: false, fields: { message: ['Null characters are not allowed.'] } });
  });

  it('keeps newlines and tabs inside a message', () => {
    // Act
    const result = validateFeedback(validFeedback({ email: 'a@example.com', message: 'line 1\n\tline 2' }));

    // Assess
    expect(result).toEqual({
      success: true,
      data: validFeedback({ email: 'a@example.com', message: 'line 1\n\tline 2' }),
    });
  });

  it('takes JSON numbers and booleans as their text, and rejects arrays and objects', () => {
    // Act
    const numbers = validateFeedback(validFeedback({ email: 'a@example.com', message: 42 }));
    const structures = validateFeedback(validFeedback({ email: ['a@example.com'], message: { text: 'Hi' } }));

    // Assess
    expect(numbers).toEqual({
      success: true,
      data: validFeedback({ email: 'a@example.com', message: '42' }),
    });
    expect(structures).toEqual({
      success: false,
      fields: { email: [INVALID_EMAIL], message: [errorTexts.invalidValue] },
    });
  });
});

describe('the optional name', () => {
  it('is taken stripped, and absent when missing or blank', () => {
    // Act
    const given = validateFeedback(
      validFeedback({ name: '  Ada Lovelace ', email: 'a@example.com', message: 'Hi' }),
    );
    const blank = validateFeedback(validFeedback({ name: '   ', email: 'a@example.com', message: 'Hi' }));
    const missing = validateFeedback(validFeedback({ name: null, email: 'a@example.com', message: 'Hi' }));

    // Assess
    expect(given).toEqual({
      success: true,
      data: validFeedback({ name: 'Ada Lovelace', email: 'a@example.com', message: 'Hi' }),
    });
    expect(blank).toEqual({ success: true, data: validFeedback({ email: 'a@example.com', message: 'Hi' }) });
    expect(missing).toEqual(blank);
  });

  it('accepts 100 characters and refuses 101 with the Django text', () => {
    // Act
    const longest = validateFeedback(
      validFeedback({ name: 'n'.repeat(100), email: 'a@example.com', message: 'Hi' }),
    );
    const tooLong = validateFeedback(
      validFeedback({ name: 'n'.repeat(101), email: 'a@example.com', message: 'Hi' }),
    );

    // Assess
    expect(longest.success).toBe(true);
    expect(tooLong).toEqual({
      success: false,
      fields: { name: ['Ensure this value has at most 100 characters (it has 101).'] },
    });
  });

  it('refuses NUL characters, lone surrogates and values that are not text, as a Django CharField', () => {
    // Act
    const results = ['Ada\u0000', 'Ada \ud800', ['Ada']].map(
      (name) =>
        validateFeedback(validFeedback({ name, email: 'a@example.com', message: 'Hi' })) as {
          fields?: unknown;
        },
    );

    // Assess
    expect(results.map((result) => result.fields)).toEqual([
      { name: [errorTexts.nullCharacters] },
      { name: [errorTexts.invalidValue] },
      { name: [errorTexts.invalidValue] },
    ]);
  });
});

describe('email address rule', () => {
  it.each([
    'visitor@example.com',
    'first.last@example.com',
    "o'brien+feedback@mail.example.co.uk",
    "!#$%&'*+/=^_`{|}~?-@example.org",
    `${'a'.repeat(64)}@example.com`,
    'USER@EXAMPLE.COM',
    'a@b.co',
    'user@sub-domain.example.com',
    'user@bücher.de',
    'user@xn--bcher-kva.de',
    'user@例え.テスト',
    '123@example.io',
  ])('accepts %s', (email) => {
    expect(isValidEmail(email)).toBe(true);
    expect(validateFeedback(validFeedback({ email, message: 'Hi' })).success).toBe(true);
  });

  it.each([
    ['no @', 'plainaddress'],
    ['no user part', '@example.com'],
    ['no domain', 'visitor@'],
    ['a domain without a dot', 'visitor@localhost'],
    ['a space in the user part', 'john doe@example.com'],
    ['a space in the domain', 'visitor@exa mple.com'],
    ['two @', 'a@b@example.com'],
    ['a leading dot', '.visitor@example.com'],
    ['two dots in a row', 'visi..tor@example.com'],
    ['a trailing dot in the user part', 'visitor.@example.com'],
    ['a domain label starting with a hyphen', 'visitor@-example.com'],
    ['a domain label ending with a hyphen', 'visitor@example-.com'],
    ['a one-letter top-level domain', 'visitor@example.c'],
    ['a trailing dot in the domain', 'visitor@example.com.'],
    ['an empty domain label', 'visitor@example..com'],
    ['a quoted user part', '"john doe"@example.com'],
    ['an IP literal', 'visitor@[192.168.0.1]'],
    ['a non-ASCII user part', 'jörg@example.com'],
    ['a display name', 'Visitor <visitor@example.com>'],
    ['a comma-separated list', 'a@example.com,b@example.com'],
    ['a user part over 64 characters', `${'a'.repeat(65)}@example.com`],
    ['an RFC 2047 encoded-word', '=?utf-8?q?attacker=40evil.example?=@example.com'],
    ['an encoded-word in the domain', 'visitor@=?utf-8?q?x?=.example.com'],
    ['a lone high surrogate', 'visitor\ud800@example.com'],
    ['a lone low surrogate in the domain', 'visitor@exa\udc00mple.com'],
    ['an internationalized domain without an ASCII form (bidi rule)', 'visitor@\u0661a.example.com'],
  ])('rejects %s', (_case, email) => {
    expect(isValidEmail(email)).toBe(false);
    expect(validateFeedback(validFeedback({ email, message: 'Hi' }))).toEqual({
      success: false,
      fields: { email: [INVALID_EMAIL] },
    });
  });

  it.each([
    ['CR LF and a header', 'visitor@example.com\r\nBcc: victim@example.org'],
    ['LF inside', 'visitor\n@example.com'],
    ['a trailing CR LF', 'visitor@example.com\r\n'],
    ['a leading tab', '\tvisitor@example.com'],
    ['NUL', 'visitor@example.com\u0000'],
    ['DEL', 'visi\u007ftor@example.com'],
    ['a C1 control (NEL)', 'visitor@exam\u0085ple.com'],
  ])('rejects control characters anywhere (header injection): %s', (_case, email) => {
    expect(validateFeedback(validFeedback({ email, message: 'Hi' }))).toEqual({
      success: false,
      fields: { email: [INVALID_EMAIL] },
    });
  });
});

describe('internationalized domains', () => {
  it.each([
    ['user@bücher.de', 'user@xn--bcher-kva.de'],
    ['user@例え.テスト', 'user@xn--r8jz45g.xn--zckzah'],
    ['user@BÜCHER.de', 'user@xn--bcher-kva.de'],
    ['User@Example.COM', 'User@Example.COM'],
  ])('queues %s as %s, the ASCII form SES takes', (email, queued) => {
    expect(validateFeedback(validFeedback({ email, message: 'Hi' }))).toEqual({
      success: true,
      data: validFeedback({ email: queued, message: 'Hi' }),
    });
  });
});

describe('ill-formed UTF-16 (a lone surrogate)', () => {
  it.each([
    ['a lone high surrogate', 'x \ud800'],
    ['a lone low surrogate', '\udc00 x'],
    ['surrogates in the wrong order', 'x \udc00\ud800 y'],
  ])('refuses %s in the message with "Enter a valid value."', (_case, message) => {
    expect(validateFeedback(validFeedback({ email: 'visitor@example.com', message }))).toEqual({
      success: false,
      fields: { message: [errorTexts.invalidValue] },
    });
  });

  it('refuses it in the email with "Enter a valid email address."', () => {
    expect(validateFeedback(validFeedback({ email: 'visitor@example.com\ud800', message: 'Hi' }))).toEqual({
      success: false,
      fields: { email: [INVALID_EMAIL] },
    });
  });

  it('accepts a surrogate pair (an emoji)', () => {
    expect(validateFeedback(validFeedback({ email: 'visitor@example.com', message: 'ok 😀' })).success).toBe(
      true,
    );
  });
});

describe('characterCount', () => {
  it('counts code points as Python len() does', () => {
    expect(characterCount('')).toBe(0);
    expect(characterCount('abc')).toBe(3);
    expect(characterCount('😀😀')).toBe(2);
    expect(characterCount('e\u0301')).toBe(2);
    expect(characterCount('\ud800x')).toBe(2);
  });
});

describe('isHoneypotFilled', () => {
  it.each([
    [{}, false],
    [{ website: '' }, false],
    [{ website: '   ' }, false],
    [{ website: null }, false],
    [{ website: 'http://spam.example' }, true],
    [{ website: 0 }, true],
    [{ website: ['x'] }, true],
  ])('%j → %s', (input, filled) => {
    expect(isHoneypotFilled(input)).toBe(filled);
  });
});
