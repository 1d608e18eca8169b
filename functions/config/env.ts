/**
 * Reading a setting of the table (table.ts) from where it is given: a handler's environment (once, at
 * load, failing fast with the variable's name), the CDK context (lib/config.ts), `npm start`'s shell
 * (lib/local/settings.ts). One parser per setting, so each says the same thing wherever it is wrong.
 */
import type { NumberSetting, Setting, ValueOf } from './table.ts';

/** A setting's value that cannot work, with where it came from and what it must be. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Where a value comes from, for its errors: `Context taskTtlDays`, `Environment variable TASK_TTL_DAYS`. */
export interface Source {
  readonly subject: string;
  /** How a person sets the value there: `-c taskTtlDays=30`, `TASK_TTL_DAYS=30`. */
  assign(value: string): string;
  /** Whether the most a setting allows applies (it does wherever a person gives the value). */
  readonly bounded: boolean;
}

/** The CDK context key `name` (`-c name=value`). */
export function contextSource(name: string): Source {
  return { subject: `Context ${name}`, assign: (value) => `-c ${name}=${value}`, bounded: true };
}

/** The environment variable `variable`: a person's shell (`bounded`), or a function's, set by its stack. */
export function environmentSource(variable: string, bounded: boolean): Source {
  return { subject: `Environment variable ${variable}`, assign: (value) => `${variable}=${value}`, bounded };
}

function isNumberSetting(entry: Setting): entry is NumberSetting {
  return 'min' in entry;
}

/** What a value of `entry` must be, after "must be". */
function mustBe(entry: NumberSetting, bounded: boolean): string {
  const kind = entry.integer ? 'an integer' : 'a number';
  return bounded && entry.max !== undefined
    ? `${kind} from ${entry.min} to ${entry.max}`
    : `${kind} of at least ${entry.min}`;
}

/**
 * The value of `text` for `entry`: undefined when it is unset or blank (the caller's default applies).
 *
 * @throws {ConfigError} `<source> must be <what>, got "<text>"`
 */
export function parseSetting<S extends Setting>(
  entry: S,
  text: string | undefined,
  source: Source,
): ValueOf<S> | undefined {
  const value = text?.trim();
  if (value === undefined || value === '') return undefined;
  if (isNumberSetting(entry)) {
    const parsed = Number(value);
    const { min, max, integer } = entry;
    const bounded = source.bounded && max !== undefined;
    if (
      !Number.isFinite(parsed) ||
      parsed < min ||
      (bounded && parsed > max) ||
      (integer && !Number.isInteger(parsed))
    ) {
      throw new ConfigError(`${source.subject} must be ${mustBe(entry, source.bounded)}, got "${value}"`);
    }
    return parsed as ValueOf<S>;
  }
  if (entry.parse === undefined) return value as ValueOf<S>;
  try {
    return entry.parse(value) as ValueOf<S>;
  } catch {
    const example = entry.example === undefined ? '' : ` (${source.assign(entry.example)})`;
    throw new ConfigError(`${source.subject} must be ${entry.must}${example}, got "${value}"`);
  }
}

type Read<S extends Setting> = S extends { default: unknown } ? ValueOf<S> : ValueOf<S> | undefined;

/**
 * A handler's setting, from its environment variable, or its default when unset or blank.
 *
 * @throws {ConfigError} naming the variable, for a value that is not of the setting's kind or under its least
 */
export function readSetting<S extends Setting>(entry: S): Read<S> {
  const variable = entry.env ?? '';
  const value = parseSetting(entry, process.env[variable], environmentSource(variable, false));
  return (value ?? entry.default) as Read<S>;
}

/** A setting the handler cannot work without (the stack always sets it), or an error naming its variable. */
export function requireSetting<S extends Setting>(entry: S): ValueOf<S> {
  const value = readSetting(entry);
  if (value === undefined) throw new ConfigError(`Missing required environment variable ${entry.env}`);
  return value as ValueOf<S>;
}
