/**
 * The one source of truth for the settings that the handlers, the CDK stack (`lib/`) and the local
 * stack (`lib/local/`) share, so that the emulated system cannot drift from the deployed one. It lives
 * beside the handlers because `lib/` may import `functions/`, never the reverse.
 *
 * Pure data and arithmetic only: this module is in the handlers' bundles, and must stay free of
 * imports so that it adds nothing to them.
 */

/** The deployed stack's name: `cdk deploy` creates it, the command-line tools look up its outputs. */
export const STACK_NAME = 'ServerlessFeedback';

/** The CloudWatch namespace of the product's metrics (EMF). */
export const METRICS_NAMESPACE = 'ServerlessFeedback';

/** Seconds of simulated slow work before sending (the seed's `sleep(20)`). */
export const DEFAULT_WORK_SECONDS = 20;

/** Days a task record lives before DynamoDB's TTL removes it. */
export const DEFAULT_TASK_TTL_DAYS = 7;

/** The sender used by the local stack (the seed's `support@example.com`). */
export const LOCAL_SENDER_EMAIL = 'support@example.com';

/** Request and field limits of `POST /api/feedback` (the contract's, and the seed's Django form's). */
export const limits = {
  /** Bodies over this many bytes get 413. */
  maxBodyBytes: 64 * 1024,
  emailMaxLength: 254,
  messageMaxLength: 5000,
} as const;

/** The SQS-triggered email worker. */
export const consumer = {
  /** Messages handed to one invocation. The records of a batch are processed concurrently. */
  batchSize: 5,
  /** Seconds the event source waits to fill a batch; 0 answers the visitor's task soonest. */
  maxBatchingWindowSeconds: 0,
  /** Concurrent invocations at most (2 is the lowest value SQS event sources accept). */
  maxConcurrency: 2,
  memoryMb: 256,
  /** Seconds the worker needs beyond the simulated work: SES, DynamoDB, the send-rate limiter. */
  headroomSeconds: 40,
} as const;

/** The worker's Lambda timeout: the slow work plus headroom. Also the length of a task's claim (lease). */
export function consumerTimeoutSeconds(workSeconds: number): number {
  return workSeconds + consumer.headroomSeconds;
}

/** The feedback queue and its dead-letter queue. */
export const queue = {
  /** Receives before a message moves to the dead-letter queue; the worker's last attempt is this one. */
  maxReceiveCount: 5,
  /** AWS's guidance for Lambda event sources: at least six times the function's timeout. */
  visibilityTimeoutFactor: 6,
  /** Long enough to ride out a weekend's outage of the worker, no longer (the message holds an address). */
  retentionSeconds: 4 * 24 * 3600,
  /** Failed messages are kept for inspection and `npm run redrive`. */
  deadLetterRetentionSeconds: 14 * 24 * 3600,
} as const;

/** The queue's visibility timeout for a given amount of simulated work. */
export function visibilityTimeoutSeconds(workSeconds: number): number {
  return queue.visibilityTimeoutFactor * consumerTimeoutSeconds(workSeconds);
}

/** Retries of transient failures, like Celery's `retry_backoff`: exponential with full jitter. */
export const retry = {
  baseDelaySeconds: 5,
  maxDelaySeconds: 300,
} as const;

/** SES: the sandbox allows one message a second; raise it to the account's quota. */
export const DEFAULT_SES_MAX_SEND_RATE = 1;

/** HTTP API stage throttling (requests per second, and the burst above it). */
export const apiThrottling = {
  rateLimit: 10,
  burstLimit: 20,
} as const;

/** The HTTP handlers (submit and status). */
export const apiFunction = {
  memoryMb: 256,
  timeoutSeconds: 10,
} as const;

/** The daily report's function (a few GetItem calls, one queue attribute read, one email). */
export const reportFunction = {
  memoryMb: 256,
  timeoutSeconds: 30,
} as const;

/** Days the Lambda log groups keep their logs. */
export const LOG_RETENTION_DAYS = 14;

/** The environment variables the handlers read (the Lambda console shows them; the local stack sets them). */
export const env = {
  tasksTableName: 'TASKS_TABLE_NAME',
  feedbackQueueUrl: 'FEEDBACK_QUEUE_URL',
  senderEmail: 'SENDER_EMAIL',
  workSeconds: 'FEEDBACK_WORK_SECONDS',
  taskTtlDays: 'TASK_TTL_DAYS',
  maxReceiveCount: 'MAX_RECEIVE_COUNT',
  sesMaxSendRate: 'SES_MAX_SEND_RATE',
  workerConcurrency: 'WORKER_CONCURRENCY',
  leaseSeconds: 'TASK_LEASE_SECONDS',
  notifyEmail: 'NOTIFY_EMAIL',
  deadLetterQueueUrl: 'DEAD_LETTER_QUEUE_URL',
} as const;

/** Default ports of the local stack (each changed by the environment variable beside it). */
export const localPorts = {
  web: { port: 3000, variable: 'PORT' },
  dynamodb: { port: 8000, variable: 'DYNAMODB_PORT' },
  sqs: { port: 9324, variable: 'SQS_PORT' },
  ses: { port: 8005, variable: 'SES_PORT' },
} as const;
