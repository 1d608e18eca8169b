import { env } from '../../functions/commons/settings';

/**
 * The environment variables of the handlers outside Lambda — the local stack, `npm run report` and the
 * benchmark — with the names the deployed functions get (`functions/commons/settings.ts`). Settings left
 * undefined are left out, so the handlers' defaults apply; the credentials are placeholders, which the
 * emulators accept. `endpoints` are the emulators' (the SDK's `AWS_ENDPOINT_URL_<SERVICE>`).
 */
export function handlerEnvironment(input: {
  region: string;
  endpoints?: { dynamodb: string; sqs: string; ses: string };
  tableName: string;
  queueUrl: string;
  deadLetterQueueUrl: string;
  senderEmail: string;
  notifyEmail?: string | undefined;
  workSeconds?: number;
  taskTtlDays?: number;
  maxReceiveCount?: number;
  sesMaxSendRate?: number;
  workerConcurrency?: number;
  leaseSeconds?: number | undefined;
  /** `ALLOWED_ORIGINS`: origins allowed to post cross-site, comma-separated. */
  allowedOrigins?: string;
  /** `SES_CONFIGURATION_SET`: every send goes through it, so that SES publishes its events. */
  sesConfigurationSet?: string;
  /** `AUTORESPONSE_HASH_KEY`: the key of the per-recipient limit's hashed addresses. */
  autoresponseHashKey?: string;
  /** `POWERTOOLS_LOG_LEVEL`. */
  logLevel: string;
}): Record<string, string> {
  const variables: Record<string, string | number | undefined> = {
    AWS_REGION: input.region,
    AWS_DEFAULT_REGION: input.region,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_DYNAMODB: input.endpoints?.dynamodb,
    AWS_ENDPOINT_URL_SQS: input.endpoints?.sqs,
    AWS_ENDPOINT_URL_SES: input.endpoints?.ses,
    [env.tasksTableName]: input.tableName,
    [env.feedbackQueueUrl]: input.queueUrl,
    [env.deadLetterQueueUrl]: input.deadLetterQueueUrl,
    [env.senderEmail]: input.senderEmail,
    [env.notifyEmail]: input.notifyEmail,
    [env.workSeconds]: input.workSeconds,
    [env.taskTtlDays]: input.taskTtlDays,
    [env.maxReceiveCount]: input.maxReceiveCount,
    [env.sesMaxSendRate]: input.sesMaxSendRate,
    [env.workerConcurrency]: input.workerConcurrency,
    [env.leaseSeconds]: input.leaseSeconds,
    [env.allowedOrigins]: input.allowedOrigins,
    [env.sesConfigurationSet]: input.sesConfigurationSet,
    [env.autoresponseHashKey]: input.autoresponseHashKey,
    POWERTOOLS_LOG_LEVEL: input.logLevel,
    // Locally the metrics would only add a JSON line per invocation to the terminal.
    POWERTOOLS_METRICS_DISABLED: 'true',
  };
  return Object.fromEntries(
    Object.entries(variables).flatMap(([name, value]) =>
      value === undefined ? [] : [[name, String(value)]],
    ),
  );
}
