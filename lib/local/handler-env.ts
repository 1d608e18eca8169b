import { env } from '../../functions/config/settings.ts';
import { LOCAL_REGION } from './resources.ts';

/** The handlers' settings, keyed as `env` in functions/config/settings.ts names their variables. */
export type HandlerSettings = { [name in keyof typeof env]?: string | number | undefined };

/**
 * The environment of the handlers outside Lambda (the local stack, `npm run report`, the benchmark):
 * the settings under the names the deployed functions get, undefined ones left out so that the
 * handlers' defaults apply; the emulators' endpoints (`AWS_ENDPOINT_URL_<SERVICE>`) and placeholder
 * credentials, which the emulators accept; metrics off, as locally they would only add log lines.
 */
export function handlerEnvironment(
  settings: HandlerSettings,
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
    ...Object.fromEntries(
      Object.entries(settings).map(([name, value]) => [env[name as keyof typeof env], value]),
    ),
    POWERTOOLS_LOG_LEVEL: logLevel,
    POWERTOOLS_METRICS_DISABLED: 'true',
  };
  return Object.fromEntries(
    Object.entries(variables).flatMap(([name, value]) =>
      value === undefined ? [] : [[name, String(value)]],
    ),
  );
}
