/**
 * Which failures of a task are worth retrying, and when. Like Celery's `autoretry_for` +
 * `retry_backoff`, but decided from the AWS SDK's error shapes: a transient error makes the task `RETRY`
 * (the message comes back after a backoff), a permanent one makes it `FAILURE` at once, and SES's daily
 * quota defers the task for hours.
 */
import { describeError, shapeOf, type TaskError } from '../commons/errors.ts';
import { retry } from '../config/settings.ts';
import { type TaskRecord, TaskStatus } from '../task/record.ts';
import { DAILY_QUOTA_ERROR_TYPE } from '../task/status-words.ts';

/** `transient`: try again soon; `permanent`: trying again cannot help; `quota`: SES's daily quota is used up. */
export type ErrorKind = 'transient' | 'permanent' | 'quota';

/** A queue message whose content cannot be processed (not JSON, wrong shape): never retried. */
export class InvalidPayloadError extends Error {
  override name = 'InvalidPayload';
}

/** Errors SES answers for an email it will never accept as it stands. */
const PERMANENT_NAMES = new Set([
  // The sandbox's unverified recipient, or content SES refuses.
  'MessageRejected',
  'MailFromDomainNotVerified',
  'MailFromDomainNotVerifiedException',
  // A malformed address or header.
  'InvalidParameterValue',
  'InvalidPayload',
  // A request that cannot be built from its input.
  'RequestBuildError',
  'URIError',
]);

/** Errors of a service's rate (SES's per-second rate, DynamoDB's throughput): the attempt is deferred, not spent. */
const RATE_NAMES = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'ProvisionedThroughputExceededException',
]);

const TRANSIENT_NAMES = new Set([
  ...RATE_NAMES,
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'InternalFailure',
  'InternalServerError',
  'InternalError',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
]);

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/**
 * Whether SES refused a send because the account's 24-hour sending quota is used up (SES answers
 * `Throttling` with "Daily message quota exceeded."; the sandbox allows 200 a day), as opposed to the
 * per-second rate ("Maximum sending rate exceeded."), which frees up within a second.
 */
export function isDailyQuotaExceeded(error: unknown): boolean {
  const { name, code, message } = shapeOf(error);
  const throttling = name === 'Throttling' || code === 'Throttling';
  return throttling && typeof message === 'string' && /daily message quota/i.test(message);
}

/**
 * Classifies an error of an AWS SDK call (or of the worker itself).
 *
 * Permanent: SES `MessageRejected`, `MailFromDomainNotVerified`, `InvalidParameterValue`, an invalid
 * payload ({@link InvalidPayloadError}) and a request that cannot be built ({@link RequestBuildError}).
 * Quota: SES's daily sending quota ({@link isDailyQuotaExceeded}). Everything else is transient — throttling (SES
 * "Maximum sending rate exceeded", DynamoDB `ProvisionedThroughputExceededException`), 5xx answers,
 * timeouts and network errors explicitly, and unknown errors too: those are retried until the task
 * has used up its attempts and its message is in the dead-letter queue, from which `npm run redrive` brings them back once the
 * cause (a missing permission, a deleted table) is fixed, so nothing accepted is lost.
 */
export function classifyError(error: unknown): ErrorKind {
  const { name, code } = shapeOf(error);
  if (typeof name === 'string' && PERMANENT_NAMES.has(name)) return 'permanent';
  if (typeof code === 'string' && PERMANENT_NAMES.has(code)) return 'permanent';
  if (isDailyQuotaExceeded(error)) return 'quota';
  return 'transient';
}

/**
 * Whether an error is one of the known transient kinds (throttling, 5xx, timeout, network), as
 * opposed to an unknown error that {@link classifyError} retries only to be safe. Used for logging.
 */
export function isKnownTransient(error: unknown): boolean {
  const { name, code, message, $fault, $metadata } = shapeOf(error);
  if (typeof name === 'string' && TRANSIENT_NAMES.has(name)) return true;
  if (typeof code === 'string' && (TRANSIENT_NAMES.has(code) || NETWORK_CODES.has(code))) return true;
  if ($fault === 'server') return true;
  const status = $metadata?.httpStatusCode;
  if (typeof status === 'number' && (status >= 500 || status === 429)) return true;
  return typeof message === 'string' && /maximum sending rate exceeded|throttl/i.test(message);
}

/** SQS's longest visibility timeout: 12 hours. */
export const MAX_VISIBILITY_SECONDS = 12 * 3600;

/** The first deferral on SES's daily quota; each next one is three times longer, up to 12 hours. */
export const QUOTA_FIRST_DELAY_SECONDS = 3600;

/**
 * What the status shows while SES's daily quota holds a task back (instead of SES's terse
 * "Daily message quota exceeded.").
 */
export const QUOTA_ERROR: TaskError = {
  type: DAILY_QUOTA_ERROR_TYPE,
  message: 'The daily sending quota of SES is used up; the email is sent once it frees up.',
};

/**
 * Seconds until a message that failed transiently on its `receiveCount`-th receive is delivered again:
 * exponential backoff with full jitter, like Celery's `retry_backoff` + `retry_jitter`, but never under
 * a second, so that a retry never hammers a service that has just failed (and `RETRY` is seen).
 */
export function retryDelaySeconds(receiveCount: number, random: () => number = Math.random): number {
  const cap = Math.min(retry.maxDelaySeconds, retry.baseDelaySeconds * 2 ** Math.max(0, receiveCount - 1));
  return Math.max(1, Math.round(random() * cap));
}

/**
 * Seconds a message held back by SES's daily quota waits before its next receive: 1 h, 3 h, 9 h, then
 * 12 h (SQS's longest). SES's quota is a rolling 24-hour window, and when it frees up depends on when
 * the sends in it were made; these waits add up to more than a day (25 h) by the fifth receive, and a
 * task gives up on the quota only then ({@link quotaWaitedSeconds}), once a whole window has passed.
 */
export function quotaDelaySeconds(receiveCount: number): number {
  return Math.min(MAX_VISIBILITY_SECONDS, QUOTA_FIRST_DELAY_SECONDS * 3 ** Math.max(0, receiveCount - 1));
}

/** A day: SES's daily quota is a rolling 24-hour window. */
const QUOTA_WINDOW_SECONDS = 24 * 3600;

/** Seconds the quota's deferrals before the `receiveCount`-th receive add up to, had each receive met the quota. */
export function quotaWaitedSeconds(receiveCount: number): number {
  let waited = 0;
  for (let receive = 1; receive < receiveCount; receive++) waited += quotaDelaySeconds(receive);
  return waited;
}

/**
 * Whether a transient error says a service's rate was exceeded (SES "Maximum sending rate exceeded",
 * DynamoDB throttling): the task was not at fault and waits its turn, so the attempt does not count
 * toward the worker's limit.
 */
export function isRateLimited(error: unknown): boolean {
  const { name, code, message } = shapeOf(error);
  if (
    (typeof name === 'string' && RATE_NAMES.has(name)) ||
    (typeof code === 'string' && RATE_NAMES.has(code))
  )
    return true;
  return typeof message === 'string' && /maximum sending rate exceeded/i.test(message);
}

/** What to do about a failed attempt, from {@link decideOnError}. */
export type ErrorDecision =
  /** Trying again cannot help: `FAILURE` now, the message deleted. */
  | { action: 'fail'; error: TaskError }
  /**
   * `RETRY`: the message comes back after `delaySeconds`. `expected`: a known transient kind, not an
   * unknown error. `deferral`: SES's rate or daily quota, not the task's fault: the attempt does not count.
   */
  | { action: 'retry'; error: TaskError; delaySeconds: number; expected: boolean; deferral: boolean }
  /** The task used up its attempts (or its message its receives): `FAILURE`, then the message goes to the dead-letter queue. */
  | { action: 'give-up'; error: TaskError };

/** The attempt and the receive a failure came from, for {@link decideOnError}. */
export interface Attempt {
  /** The message's `ApproximateReceiveCount`. */
  receiveCount: number;
  /** The last receive on which the worker still works: after it, it only gives up. */
  lastWorkReceive: number;
  /** This attempt's number toward the limit (the claim's `countedAttempts`); absent when the claim itself failed. */
  attempt?: number;
  /** The worker's limit of counted attempts. */
  maxAttempts: number;
  /** Jitter source, replaceable in tests. */
  random?: () => number;
}

/**
 * Decides, from an error and the attempt it ended, between `FAILURE`, `RETRY` after a delay, and giving
 * up. A transient error gives up on the task's last counted attempt; SES's rate and daily quota are
 * deferrals, which count no attempt: the quota gives up once its waits add up to more than a day; and
 * every kind gives up on the message's last working receive.
 */
export function decideOnError(
  error: unknown,
  { receiveCount, lastWorkReceive, attempt, maxAttempts, random }: Attempt,
): ErrorDecision {
  const kind = classifyError(error);
  if (kind === 'permanent') return { action: 'fail', error: describeError(error) };
  const lastReceive = receiveCount >= lastWorkReceive;
  if (kind === 'quota') {
    if (lastReceive || quotaWaitedSeconds(receiveCount) > QUOTA_WINDOW_SECONDS)
      return { action: 'give-up', error: describeError(error) };
    const delaySeconds = quotaDelaySeconds(receiveCount);
    return { action: 'retry', error: QUOTA_ERROR, delaySeconds, expected: true, deferral: true };
  }
  const deferral = isRateLimited(error);
  if (lastReceive || (!deferral && attempt !== undefined && attempt >= maxAttempts))
    return { action: 'give-up', error: describeError(error) };
  return {
    action: 'retry',
    error: describeError(error),
    delaySeconds: retryDelaySeconds(receiveCount, random),
    expected: isKnownTransient(error),
    deferral,
  };
}

/** The error type of a task given up because its attempts never finished: the worker stopped (Celery's `WorkerLostError`). */
export const WORKER_LOST_ERROR_TYPE = 'WorkerLost';

/** The error type of a task given up before any attempt was made (its message's receives were used up). */
export const NOT_STARTED_ERROR_TYPE = 'NotStarted';

/**
 * Why a task is given up, in plain words, from its record: its last attempt never finished (worker
 * lost: a crash, a timeout, an invocation that was lost), or the error its last attempt recorded.
 */
export function givenUpError(record: TaskRecord, receiveCount: number): TaskError {
  if (record.status === TaskStatus.STARTED) {
    const counted = record.countedAttempts ?? record.attempts;
    const lost = Math.max(1, Math.min(record.lostAttempts ?? 1, counted));
    return {
      type: WORKER_LOST_ERROR_TYPE,
      message:
        lost >= counted
          ? `The worker stopped ${times(lost)} without finishing (worker lost)`
          : `The worker stopped ${times(lost)} without finishing (worker lost), in ${counted} attempts`,
    };
  }
  if (record.error?.type === DAILY_QUOTA_ERROR_TYPE)
    return { type: 'Throttling', message: 'Daily message quota exceeded.' };
  if (record.error !== undefined) return { type: record.error.type, message: record.error.message };
  return {
    type: NOT_STARTED_ERROR_TYPE,
    message: `The message was received ${times(receiveCount)} without the worker starting the task`,
  };
}

function times(count: number): string {
  return count === 1 ? 'once' : `${count} times`;
}
