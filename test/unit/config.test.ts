import { afterEach, describe, expect, it, vi } from 'vitest';
import { numberEnv, optionalEnv, requireEnv } from '../../functions/config/env.ts';

const NAME = 'CONFIG_TEST_VARIABLE';

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('requireEnv', () => {
  it('returns the value, and names a missing or blank variable', () => {
    // Prepare
    vi.stubEnv(NAME, 'value');

    // Act / Assess
    expect(requireEnv(NAME)).toBe('value');
    vi.stubEnv(NAME, '  ');
    expect(() => requireEnv(NAME)).toThrow(`Missing required environment variable ${NAME}`);
    vi.stubEnv(NAME, undefined);
    expect(() => requireEnv(NAME)).toThrow(NAME);
  });
});

describe('optionalEnv', () => {
  it.each([
    ['a value, trimmed', ' owner@example.com ', 'owner@example.com'],
    ['blank', '   ', undefined],
    ['empty', '', undefined],
    ['unset', undefined, undefined],
  ])('%s', (_case, value, expected) => {
    // Prepare
    vi.stubEnv(NAME, value);

    // Act / Assess
    expect(optionalEnv(NAME)).toBe(expected);
  });
});

describe('numberEnv', () => {
  it('reads a non-negative number, falls back when unset or blank, and names an invalid one', () => {
    // Prepare
    vi.stubEnv(NAME, '2.5');

    // Act / Assess
    expect(numberEnv(NAME, 7)).toBe(2.5);
    vi.stubEnv(NAME, ' ');
    expect(numberEnv(NAME, 7)).toBe(7);
    vi.stubEnv(NAME, undefined);
    expect(numberEnv(NAME, 7)).toBe(7);
    for (const invalid of ['-1', 'abc', 'Infinity']) {
      vi.stubEnv(NAME, invalid);
      expect(() => numberEnv(NAME, 7)).toThrow(`${NAME} must be a non-negative number, got "${invalid}"`);
    }
  });
});
