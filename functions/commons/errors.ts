/**
 * Which failures are worth retrying. Like Celery's `autoretry_for`, but decided from the AWS SDK's
 * error shapes: a transient error makes the task `RETRY` (the message comes back after a backoff),
 * a permanent one makes it `FAILURE` at once.
 */
import type { TaskError } from './task-record';

/** `transient`: try again later; `permanent`: trying again cannot help. */
export type ErrorKind = 'transient' | 'permanent';

/** A queue message whose content cannot be processed (not JSON, wrong shape): never retried. */
export class InvalidPayloadError extends Error {
  override name = 'InvalidPayload';
}

/** Whether a DynamoDB write was refused because its condition did not hold (not an outage). */
export function isConditionFailure(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
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

interface SdkErrorShape {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  $fault?: unknown;
  $metadata?: { httpStatusCode?: unknown };
}

function shapeOf(error: unknown): SdkErrorShape {
  return typeof error === 'object' && error !== null ? (error as SdkErrorShape) : {};
}

/**
 * Classifies an error of an AWS SDK call (or of the worker itself).
 *
 * Permanent: SES `MessageRejected`, `MailFromDomainNotVerified`, `InvalidParameterValue`, and an
 * invalid payload ({@link InvalidPayloadError}). Everything else is transient — throttling (SES
 * "Maximum sending rate exceeded", DynamoDB `ProvisionedThroughputExceededException`), 5xx answers,
 * timeouts and network errors explicitly, and unknown errors too: those are retried until the
 * message reaches the dead-letter queue, from which `npm run redrive` brings them back once the
 * cause (a missing permission, a deleted table) is fixed, so nothing accepted is lost.
 */
export function classifyError(error: unknown): ErrorKind {
  const { name, code } = shapeOf(error);
  if (typeof name === 'string' && PERMANENT_NAMES.has(name)) return 'permanent';
  if (typeof code === 'string' && PERMANENT_NAMES.has(code)) return 'permanent';
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

const ADDRESS = /[^\s@<>()[\]"',;:]+@[^\s@<>()[\]"',;:]+/g;
const MAX_MESSAGE_LENGTH = 300;

/**
 * The `{ type, message }` shown in the task record and the status API, and logged. SES names the
 * offending address in some messages ("... failed the check: visitor@example.com"): addresses are
 * masked, so neither the record nor the logs ever hold one.
 */
export function describeError(error: unknown): TaskError {
  const { name, code, message } = shapeOf(error);
  const type =
    typeof name === 'string' && name !== 'Error' ? name : typeof code === 'string' ? code : 'Error';
  const text = typeof message === 'string' && message !== '' ? message : String(error);
  return { type, message: text.replace(ADDRESS, '<address>').slice(0, MAX_MESSAGE_LENGTH) };
}
