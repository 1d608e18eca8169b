/**
 * The email worker's settings, read from its environment once, at load, and sized with the same
 * {@link setting.workerSizing} as the stack, so that the worker's pace and lease agree with its deployment.
 */
import { ConfigError, readSetting, requireSetting } from '../config/env.ts';
import { autoresponse, consumer, queue } from '../config/settings.ts';
import * as setting from '../config/table.ts';
import { RECIPIENTS, type Recipient } from '../task/record.ts';

/** What the worker needs to know about its deployment. */
export interface WorkerConfig {
  tableName: string;
  queueUrl: string;
  senderEmail: string;
  /** The owner's address (`NOTIFY_EMAIL`): each task also notifies it. */
  notifyEmail: string | undefined;
  /** The emails of each task: the visitor's, and the owner's when `notifyEmail` is set. */
  recipients: readonly Recipient[];
  workSeconds: number;
  /** Where the worker moves the message of a task it gives up (`DEAD_LETTER_QUEUE_URL`). */
  deadLetterQueueUrl: string;
  /** The worker's limit of a task's counted attempts (`MAX_ATTEMPTS`). */
  maxAttempts: number;
  /** The queue's redrive count, SQS's backstop (`MAX_RECEIVE_COUNT`). */
  maxReceiveCount: number;
  /** The last receive on which the worker works; on the later ones it only gives up. */
  lastWorkReceive: number;
  /** How long a claim holds a task: `TASK_LEASE_SECONDS`, by default the function's derived timeout. */
  leaseSeconds: number;
  /** Milliseconds between two sends of one container (`WORKER_CONCURRENCY` containers share the SES rate). */
  sendIntervalMs: number;
  /**
   * Send slots a container may use at once when it left them unused: one batch's time (work + overhead)
   * at its pace, so with the derived concurrency at most one batch's emails.
   */
  sendBurst: number;
  /** SES's configuration set of the owner's notification (`SES_CONFIGURATION_SET`), so that SES publishes its events. */
  configurationSet: string | undefined;
  /**
   * The configuration set of the visitor's autoresponse (`SES_AUTORESPONSE_CONFIGURATION_SET`): SES validates
   * its addresses, and the circuit breaker pauses it alone. The owner's set when unset.
   */
  autoresponseConfigurationSet: string | undefined;
  /** The per-recipient limit on the visitor's email; absent (no limit) without `AUTORESPONSE_HASH_KEY`. */
  autoresponseLimit: AutoresponseLimitConfig | undefined;
}

/** The per-recipient limit on the visitor's email: at most `maxPerWindow` per address and window. */
export interface AutoresponseLimitConfig {
  /** The HMAC key of the counters' hashed addresses (`AUTORESPONSE_HASH_KEY`). */
  key: string;
  /** `AUTORESPONSE_LIMIT`, by default the setting's. */
  maxPerWindow: number;
  windowSeconds: number;
}

/**
 * Reads the worker's environment.
 *
 * @throws naming the variable that is missing or invalid, or a `SizingError` for a rate that cannot work
 */
export function readWorkerConfig(): WorkerConfig {
  const notifyEmail = readSetting(setting.notifyEmail);
  // The visitor first, then the owner's copy: as many as the sizing counts.
  const recipients: readonly Recipient[] = RECIPIENTS.slice(0, setting.emailsPerTask(notifyEmail));
  const workSeconds = readSetting(setting.workSeconds);
  const sizing = setting.workerSizing({
    workSeconds,
    sesMaxSendRate: readSetting(setting.sesMaxSendRate),
    notifyEmail,
    workerConcurrency: readSetting(setting.workerConcurrency),
  });
  const maxAttempts = readSetting(setting.maxAttempts);
  const maxReceiveCount = readSetting(setting.maxReceiveCount);
  // SQS's backstop must leave the worker its attempts and the receives on which it only gives up.
  if (maxReceiveCount < maxAttempts + queue.giveUpReceives) {
    throw new ConfigError(
      `Environment variable ${setting.maxReceiveCount.env} must be at least ${setting.maxAttempts.env} + ${queue.giveUpReceives} (${maxAttempts + queue.giveUpReceives}), got "${maxReceiveCount}"`,
    );
  }
  return {
    tableName: requireSetting(setting.tasksTableName),
    queueUrl: requireSetting(setting.feedbackQueueUrl),
    deadLetterQueueUrl: requireSetting(setting.deadLetterQueueUrl),
    maxAttempts,
    lastWorkReceive: maxReceiveCount - queue.giveUpReceives,
    senderEmail: requireSetting(setting.senderEmail),
    notifyEmail,
    recipients,
    workSeconds,
    maxReceiveCount,
    leaseSeconds: readSetting(setting.leaseSeconds) ?? sizing.timeoutSeconds,
    sendIntervalMs: sizing.sendIntervalMs,
    sendBurst: ((workSeconds + consumer.taskOverheadSeconds) * 1000) / sizing.sendIntervalMs,
    configurationSet: readSetting(setting.sesConfigurationSet),
    autoresponseConfigurationSet: readSetting(setting.sesAutoresponseConfigurationSet),
    autoresponseLimit: readAutoresponseLimit(),
  };
}

function readAutoresponseLimit(): AutoresponseLimitConfig | undefined {
  const key = readSetting(setting.autoresponseHashKey);
  if (key === undefined) return undefined;
  return {
    key,
    maxPerWindow: readSetting(setting.autoresponseLimit),
    windowSeconds: autoresponse.windowSeconds,
  };
}
