/**
 * Which failures of a task are worth retrying, and when. Like Celery's `autoretry_for` +
 * `retry_backoff`, but decided from the AWS SDK's error shapes: a transient error makes the task `RETRY`
 * (the message comes back after a backoff), a permanent one makes it `FAILURE` at once, and SES's daily
 * quota defers the task for hours.
 */
import { describeError, shapeOf, type TaskError } from '../commons/errors.ts';
import { retry } from '../config/settings.ts';
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

const TRANSIENT_NAMES = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'ProvisionedThroughputExceededException',
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
 * timeouts and network errors explicitly, and unknown errors too: those are retried until the
 * message reaches the dead-letter queue, from which `npm run redrive` brings them back once the
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
 * the sends in it were made; these waits add up to more than a day within the queue's default five
 * receives, so a task gives up only once a whole window has passed.
 */
export function quotaDelaySeconds(receiveCount: number): number {
  return Math.min(MAX_VISIBILITY_SECONDS, QUOTA_FIRST_DELAY_SECONDS * 3 ** Math.max(0, receiveCount - 1));
}

/** What to do about a failed attempt, from {@link decideOnError}. */
export type ErrorDecision =
  /** Trying again cannot help: `FAILURE` now, the message deleted. */
  | { action: 'fail'; error: TaskError }
  /** `RETRY`: the message comes back after `delaySeconds`. `expected`: a known transient kind, not an unknown error. */
  | { action: 'retry'; error: TaskError; delaySeconds: number; expected: boolean }
  /** The last allowed receive failed: `FAILURE`, and the message goes to the dead-letter queue. */
  | { action: 'give-up'; error: TaskError };

/** The receive an attempt came from, for {@link decideOnError}. */
export interface Attempt {
  /** The message's `ApproximateReceiveCount`. */
  receiveCount: number;
  /** The queue's redrive count: the receive after the last allowed one moves the message to the dead-letter queue. */
  maxReceiveCount: number;
  /** Jitter source, replaceable in tests. */
  random?: () => number;
}

/** Decides, from an error and the attempt it ended, between `FAILURE`, `RETRY` after a delay, and giving up. */
export function decideOnError(
  error: unknown,
  { receiveCount, maxReceiveCount, random }: Attempt,
): ErrorDecision {
  const kind = classifyError(error);
  if (kind === 'permanent') return { action: 'fail', error: describeError(error) };
  if (receiveCount >= maxReceiveCount) return { action: 'give-up', error: describeError(error) };
  return kind === 'quota'
    ? { action: 'retry', error: QUOTA_ERROR, delaySeconds: quotaDelaySeconds(receiveCount), expected: true }
    : {
        action: 'retry',
        error: describeError(error),
        delaySeconds: retryDelaySeconds(receiveCount, random),
        expected: isKnownTransient(error),
      };
}
