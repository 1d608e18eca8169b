/**
 * Reading a handler's environment once, at load, failing fast with the missing variable's name.
 */

/** The value of a required variable, or an error naming it. */
export function requireEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value.trim() === '') {
    throw new Error(`Missing required environment variable ${name}`);
  }
  return value;
}

/** The value of an optional variable, trimmed; undefined when unset or blank. */
export function optionalEnv(name: string): string | undefined {
  return process.env[name]?.trim() || undefined;
}

/** A non-negative number from the environment, or `fallback` when unset; an error naming it when invalid. */
export function numberEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) {
    throw new Error(`Environment variable ${name} must be a non-negative number, got "${raw}"`);
  }
  return value;
}
