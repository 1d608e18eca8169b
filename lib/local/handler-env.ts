import {
  environmentFor,
  type FunctionName,
  type SomeValues,
  settingEntries,
} from '../../functions/config/table.ts';
import { LOCAL_REGION } from './resources.ts';

/** The functions that receive settings, from the table. */
function functionNames(): FunctionName[] {
  return [...new Set(settingEntries().flatMap(([, entry]) => entry.functions ?? []))];
}

/** Every variable some function receives by the settings table: all that the handlers read of their settings. */
export function handlerVariables(): string[] {
  return settingEntries().flatMap(([, entry]) =>
    entry.env !== undefined && (entry.functions ?? []).length > 0 ? [entry.env] : [],
  );
}

/**
 * The environment of the handlers outside Lambda (the local stack, `npm run report`, the benchmark),
 * where they share one process: the variables of the settings given, for every function that receives
 * them (by the settings table), undefined ones left out so that the handlers' defaults apply; the
 * emulators' endpoints (`AWS_ENDPOINT_URL_<SERVICE>`) and placeholder credentials, which the emulators
 * accept; metrics off, as locally they would only add log lines.
 */
export function handlerEnvironment(
  settings: SomeValues,
  { endpoints, logLevel }: { endpoints?: { dynamodb: string; sqs: string; ses: string }; logLevel: string },
): Record<string, string> {
  const variables = {
    AWS_REGION: LOCAL_REGION,
    AWS_DEFAULT_REGION: LOCAL_REGION,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_DYNAMODB: endpoints?.dynamodb,
    AWS_ENDPOINT_URL_SQS: endpoints?.sqs,
    AWS_ENDPOINT_URL_SES: endpoints?.ses,
    ...Object.assign({}, ...functionNames().map((name) => environmentFor(name, settings))),
    POWERTOOLS_LOG_LEVEL: logLevel,
    POWERTOOLS_METRICS_DISABLED: 'true',
  };
  return Object.fromEntries(
    Object.entries(variables).flatMap(([name, value]) =>
      value === undefined ? [] : [[name, String(value)]],
    ),
  );
}

/**
 * Makes {@link handlerEnvironment} this process's environment, which the handlers read when they load:
 * every settings variable it leaves out is removed, so that none set in the shell reaches a handler by
 * accident (a `NOTIFY_EMAIL` exported there does not mail an owner the stack was not given).
 */
export function setHandlerEnvironment(...args: Parameters<typeof handlerEnvironment>): void {
  for (const variable of handlerVariables()) delete process.env[variable];
  Object.assign(process.env, handlerEnvironment(...args));
}
