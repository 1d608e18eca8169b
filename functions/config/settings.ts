/**
 * The one source of truth for the fixed values that the handlers, the CDK stack (`lib/`) and the local
 * stack (`lib/local/`) share, so that the emulated system cannot drift from the deployed one. What a
 * person may set is in the settings table (table.ts). It lives beside the handlers because `lib/` may
 * import `functions/`, never the reverse.
 *
 * Pure data and arithmetic only: this module is in the handlers' bundles, and must stay free of
 * imports so that it adds nothing to them.
 */

/** The deployed stack's name: `cdk deploy` creates it, the command-line tools look up its outputs. */
export const STACK_NAME = 'ServerlessFeedback';

/** The CloudWatch namespace of the product's metrics (EMF). */
export const METRICS_NAMESPACE = 'ServerlessFeedback';

/** The request limit of `POST /api/feedback` (the fields' own are in form/fields.ts). */
export const limits = {
  /** Bodies over this many bytes get 413. */
  maxBodyBytes: 64 * 1024,
} as const;

/** The SQS-triggered email worker. */
export const consumer = {
  /** Messages handed to one invocation. The records of a batch are processed concurrently. */
  batchSize: 5,
  /** Seconds the event source waits to fill a batch; 0 answers the visitor's task soonest. */
  maxBatchingWindowSeconds: 0,
  /** The event source's bounds on `maxConcurrency` (SQS event sources accept 2 to 1000). */
  minConcurrency: 2,
  maxConcurrency: 1000,
  memoryMb: 256,
  /**
   * Seconds a batch takes beyond the simulated work: its receive, the claims, the records, SES's
   * answers. The local stack measures 1–1.5 s when a whole wave of batches claims and sends at once;
   * 2 leaves a margin, so that the containers' pace, not the work, bounds a drain (see `workerSizing`).
   */
  taskOverheadSeconds: 2,
  /** Seconds of the timeout beyond the work and the batch's paced sends: DynamoDB, SES, retries of a write. */
  headroomSeconds: 20,
} as const;

/** Lambda's longest timeout, seconds. */
export const LAMBDA_MAX_TIMEOUT_SECONDS = 900;

/** The feedback queue and its dead-letter queue. */
export const queue = {
  /**
   * The worker's own limit on a task's attempts: claims that started work, counted on the task record, not SQS's
   * receives, so that deferrals (another worker holds the task, SES's send rate or daily quota) use up
   * none. At the limit the worker writes `FAILURE` (the last error, or "worker lost" when the last
   * attempt never finished), then moves the message to the dead-letter queue itself.
   */
  maxAttempts: 5,
  /**
   * SQS's redrive count, a backstop above the worker's limit: twice `maxAttempts` leaves room for the
   * deferrals. The worker does no work on the last two receives, only gives up, so that the verdict is
   * written even when a give-up was cut short once.
   */
  maxReceiveCount: 10,
  /** The last receives before the backstop, on which the worker only gives up (`maxReceiveCount` is at least `maxAttempts` + this). */
  giveUpReceives: 2,
  /** AWS's guidance for Lambda event sources: at least six times the function's timeout. */
  visibilityTimeoutFactor: 6,
  /**
   * A week: the API accepts feedback faster than the SES sandbox's rate drains it, and a message that
   * expires is a task left PENDING forever; the age alarm fires long before (see Monitoring). Shorter
   * than the dead-letter queue's, because SQS counts a dead letter's age from its first enqueue: a task
   * that failed after days in a backlog still has a week left there for `npm run redrive`.
   */
  retentionSeconds: 7 * 24 * 3600,
  /**
   * SQS's longest, for inspection and `npm run redrive`: the oldest any message of the task gets, so the
   * task record (`taskTtlDays`) must outlive it.
   */
  deadLetterRetentionSeconds: 14 * 24 * 3600,
} as const;

/** Retries of transient failures, like Celery's `retry_backoff`: exponential with full jitter. */
export const retry = {
  baseDelaySeconds: 5,
  maxDelaySeconds: 300,
} as const;

/**
 * Throttling of `GET /api/tasks/{taskId}`, apart from the submissions': every waiting page polls it, so
 * a busy minute of polls must not use up the budget of new feedback (nor the reverse).
 */
export const statusThrottling = {
  rateLimit: 50,
  burstLimit: 100,
} as const;

/** The HTTP handlers (submit and status). */
export const apiFunction = {
  memoryMb: 256,
  timeoutSeconds: 10,
} as const;

/**
 * The queue between SES's events and `record-email-event` (the EventBridge rule's target, the function's
 * event source), and its dead-letter queue. SQS, not an invoke of the function by EventBridge: EventBridge
 * retries only the hand-over to Lambda, which accepts at once and then retries a failing handler twice
 * itself, within minutes, and drops the event. SQS keeps the event and delivers it again after each
 * visibility timeout, as long as the redrive policy allows, then moves it to the dead-letter queue the
 * `EventsNotRecorded` alarm watches.
 */
export const emailEventsQueue = {
  /** Events handed to one invocation: each is a write or two, so ten take milliseconds. */
  batchSize: 10,
  /**
   * Concurrent invocations at most (the event source's `maxConcurrency`, whose least is 2). SES sends at
   * most two events per email (a delivery, then a complaint), and a batch of ten takes milliseconds: two
   * keep up with any send rate the worker allows, and leave the account's concurrency to the worker.
   */
  maxConcurrency: 2,
  /**
   * AWS's guidance for an SQS event source: six times the function's timeout (`apiFunction`'s 10 s, so
   * 60 s). It is also the pause between two attempts at an event the handler could not record.
   */
  visibilityTimeoutSeconds: queue.visibilityTimeoutFactor * apiFunction.timeoutSeconds,
  /**
   * Receives before the dead-letter queue: 60 at 60 s, about an hour of retries. The race of an event
   * with the worker's write of the message id resolves on the first retry; an hour also rides out a
   * DynamoDB throttle or a short outage. What still fails waits in the dead-letter queue for a redrive
   * (the handler is idempotent: a repeated event finds its status recorded, and changes nothing).
   */
  maxReceiveCount: 60,
  /** SQS's default: far beyond the hour of retries; it matters only while the event source is off. */
  retentionSeconds: 4 * 24 * 3600,
  /**
   * SQS's longest, for a look and a redrive. SQS counts a dead letter's age from its first enqueue, so
   * the dead-letter queue keeps an event longer than the queue would.
   */
  deadLetterRetentionSeconds: 14 * 24 * 3600,
} as const;

/** The daily report's function (a few GetItem calls, one queue attribute read, one email). */
export const reportFunction = {
  memoryMb: 256,
  timeoutSeconds: 30,
} as const;

/** Days the Lambda log groups keep their logs. */
export const LOG_RETENTION_DAYS = 14;

/** The header CloudFront adds to every API request, holding the secret the API's authorizer checks. */
export const ORIGIN_VERIFY_HEADER = 'x-origin-verify';

/**
 * The host the visitor's browser asked for, which a CloudFront function sets on every API request (the
 * `Host` CloudFront passes on is the API's own, for API Gateway's routing): the same-origin check of a
 * browser that sends `Origin` but not `Sec-Fetch-Site` compares with it.
 */
export const VIEWER_HOST_HEADER = 'x-viewer-host';

/** The per-recipient limit on the visitor's autoresponse ("Your Feedback"): the owner still gets every feedback. */
export const autoresponse = {
  /** The window the limit counts over (the limit itself is a setting: table.ts). */
  windowSeconds: 24 * 3600,
} as const;

/**
 * AWS reviews an SES account at a 5 % bounce rate and a 0.1 % complaint rate, and may pause its sending at
 * 10 % and 0.5 %: the account's alarms fire at the review levels, and the autoresponses' breaker below them.
 */
export const sesReviewLevels = { bounceRate: 0.05, complaintRate: 0.001 } as const;

/**
 * The circuit breaker of the autoresponses: when the bounce or complaint rate of their configuration set
 * (SES's `Reputation.*` metrics of that set) passes these levels, sending through that set is paused, the
 * owner is told, and feedback keeps reaching the owner through the owner's set. Below AWS's review levels
 * (5 % bounces, 0.1 % complaints), so that the form pauses itself before AWS reviews the account.
 */
export const autoresponseBreaker = {
  bounceRate: 0.04,
  complaintRate: 0.0008,
  /** The alarms' period: the rates are SES's, over its representative volume, not over this period. */
  periodMinutes: 15,
  /**
   * Locally, the rates count only once this many autoresponses went through the set, as SES computes its
   * rates over a representative volume of mail, not from the first email; one bounce among 50 (2 %) does
   * not trip the breaker.
   */
  localMinimumVolume: 50,
} as const;

/**
 * The opt-in per-client limit (context `wafRateLimit`): POSTs to the API from one IP per window, applied
 * by a WAF rate-based rule on AWS and by the local gateway the same way. WAF counts over 5 minutes at
 * least 10 requests, the reason for both numbers.
 */
export const clientRateLimit = {
  windowSeconds: 300,
  minRequests: 10,
} as const;

/** Default ports of the local stack (each changed by the environment variable beside it). */
export const localPorts = {
  web: { port: 3000, variable: 'PORT' },
  dynamodb: { port: 8000, variable: 'DYNAMODB_PORT' },
  sqs: { port: 9324, variable: 'SQS_PORT' },
  ses: { port: 8005, variable: 'SES_PORT' },
} as const;
