/**
 * The settings of the local stack, from the settings table (functions/config/table.ts): what `npm start`
 * reads from its shell, and each setting's value when a caller (a test, the benchmark) gives none. Only
 * the table's `local` settings are read, each from its own variable by the same rule as a deploy's
 * context; the handlers' environment is then written whole (handler-env.ts), so that nothing else in
 * the shell reaches them.
 */
import { environmentSource, parseSetting } from '../../functions/config/env.ts';
import {
  type LocalName,
  type NumberSetting,
  type Setting,
  type SomeValues,
  settingEntries,
  type Values,
} from '../../functions/config/table.ts';

/** The local settings a caller gives; each left out takes the local stack's default. */
export type LocalSettings = Partial<Values<LocalName>>;

function localEntries(): [LocalName, Setting][] {
  return settingEntries().filter(([, entry]) => 'local' in entry) as [LocalName, Setting][];
}

/**
 * The local settings set in `environment` (`npm start`'s shell), each by its variable; blank ones are left
 * out. Only `names`, when given.
 *
 * @throws {ConfigError} naming the variable of a value that cannot work, as a deploy would name its key
 */
export function readLocalSettings(
  environment: Record<string, string | undefined>,
  names?: readonly LocalName[],
): LocalSettings {
  const values: Record<string, unknown> = {};
  for (const [name, entry] of localEntries()) {
    if (names !== undefined && !names.includes(name)) continue;
    const variable = entry.env ?? name;
    const value = parseSetting(entry, environment[variable], environmentSource(variable, true));
    if (value !== undefined) values[name] = value;
  }
  return values as LocalSettings;
}

/** Each local setting: as given (a blank text is none), else the local stack's default, else the deployed one's (or none). */
export function localSettingValues(given: LocalSettings): Values<LocalName> & SomeValues {
  const values: Record<string, unknown> = {};
  for (const [name, entry] of localEntries()) {
    const value = given[name];
    const blank = value === undefined || (typeof value === 'string' && value.trim() === '');
    values[name] = blank ? (entry.localDefault ?? entry.default) : value;
  }
  return values as Values<LocalName> & SomeValues;
}

/**
 * The local stack's own knob (no deployed setting): the feedback queue's visibility timeout, shorter than
 * the stack's, so that the tests of a killed `npm start` see its messages come back soon.
 */
export const localVisibilityTimeout = {
  doc: 'the feedback queue’s visibility timeout, shorter than the stack’s; the tests use it',
  env: 'LOCAL_VISIBILITY_TIMEOUT_SECONDS',
  local: true,
  min: 1,
  integer: true,
  localShown: 'the stack’s',
} as const satisfies NumberSetting;

/** {@link localVisibilityTimeout} from `npm start`'s shell; undefined when unset. */
export function readLocalVisibilityTimeout(
  environment: Record<string, string | undefined>,
): number | undefined {
  const { env } = localVisibilityTimeout;
  return parseSetting(localVisibilityTimeout, environment[env], environmentSource(env, true));
}
