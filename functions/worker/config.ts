/**
 * The email worker's settings, read from its environment once, at load, and sized with the same
 * {@link workerSizing} as the stack, so that the worker's pace and lease agree with its deployment.
 */
import { numberEnv, optionalEnv, requireEnv } from '../config/env.ts';
import {
  autoresponse,
  consumer,
  DEFAULT_SES_MAX_SEND_RATE,
  DEFAULT_WORK_SECONDS,
  env,
  queue,
  workerSizing,
} from '../config/settings.ts';
import type { Recipient } from '../task/record.ts';

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
  const notifyEmail = optionalEnv(env.notifyEmail);
  const recipients: readonly Recipient[] = notifyEmail === undefined ? ['visitor'] : ['visitor', 'owner'];
  const workSeconds = numberEnv(env.workSeconds, DEFAULT_WORK_SECONDS);
  const concurrency = optionalEnv(env.workerConcurrency);
  const sizing = workerSizing({
    workSeconds,
    sesMaxSendRate: numberEnv(env.sesMaxSendRate, DEFAULT_SES_MAX_SEND_RATE),
    emailsPerTask: recipients.length,
    ...(concurrency === undefined
      ? {}
      : { maxConcurrency: Math.max(1, numberEnv(env.workerConcurrency, 1)) }),
  });
  const maxAttempts = numberEnv(env.maxAttempts, queue.maxAttempts);
  const maxReceiveCount = numberEnv(env.maxReceiveCount, queue.maxReceiveCount);
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1)
    throw new Error(
      `Environment variable ${env.maxAttempts} must be a whole number of at least 1, got "${maxAttempts}"`,
    );
  // SQS's backstop must leave the worker its attempts and the receives on which it only gives up.
  if (!Number.isInteger(maxReceiveCount) || maxReceiveCount < maxAttempts + queue.giveUpReceives) {
    throw new Error(
      `Environment variable ${env.maxReceiveCount} must be at least ${env.maxAttempts} + ${queue.giveUpReceives} (${maxAttempts + queue.giveUpReceives}), got "${maxReceiveCount}"`,
    );
  }
  return {
    tableName: requireEnv(env.tasksTableName),
    queueUrl: requireEnv(env.feedbackQueueUrl),
    deadLetterQueueUrl: requireEnv(env.deadLetterQueueUrl),
    maxAttempts,
    lastWorkReceive: maxReceiveCount - queue.giveUpReceives,
    senderEmail: requireEnv(env.senderEmail),
    notifyEmail,
    recipients,
    workSeconds,
    maxReceiveCount,
    leaseSeconds: numberEnv(env.leaseSeconds, sizing.timeoutSeconds),
    sendIntervalMs: sizing.sendIntervalMs,
    sendBurst: ((workSeconds + consumer.taskOverheadSeconds) * 1000) / sizing.sendIntervalMs,
    configurationSet: optionalEnv(env.sesConfigurationSet),
    autoresponseConfigurationSet: optionalEnv(env.sesAutoresponseConfigurationSet),
    autoresponseLimit: readAutoresponseLimit(),
  };
}

function readAutoresponseLimit(): AutoresponseLimitConfig | undefined {
  const key = optionalEnv(env.autoresponseHashKey);
  if (key === undefined) return undefined;
  const maxPerWindow = numberEnv(env.autoresponseLimit, autoresponse.maxPerWindow);
  if (!Number.isInteger(maxPerWindow) || maxPerWindow < 1) {
    throw new Error(
      `Environment variable ${env.autoresponseLimit} must be a whole number of at least 1, got "${maxPerWindow}"`,
    );
  }
  return { key, maxPerWindow, windowSeconds: autoresponse.windowSeconds };
}
