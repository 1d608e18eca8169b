/**
 * What every handler needs to say about a failure: its `{ type, message }` for records, answers and
 * logs (with any email address masked), and whether a DynamoDB write failed only on its condition.
 * Whether a failure is worth retrying is the worker's call (`worker/retry-policy.ts`).
 */

/** A failure as the task record, the status API and the logs show it. */
export interface TaskError {
  type: string;
  message: string;
}

/** Whether a DynamoDB write was refused because its condition did not hold (not an outage). */
export function isConditionFailure(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

/** The fields of an error that the AWS SDK's errors (and Node's network errors) may have. */
export interface SdkErrorShape {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  $fault?: unknown;
  $metadata?: { httpStatusCode?: unknown };
}

/** An error's SDK fields, whatever was thrown. */
export function shapeOf(error: unknown): SdkErrorShape {
  return typeof error === 'object' && error !== null ? (error as SdkErrorShape) : {};
}

const ADDRESS = /[^\s@<>()[\]"',;:]+@[^\s@<>()[\]"',;:]+/g;

/** `text` with anything shaped like an email address replaced by `<address>` (logs and records hold none). */
export function maskAddresses(text: string): string {
  return text.replace(ADDRESS, '<address>');
}
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
  return { type, message: maskAddresses(text).slice(0, MAX_MESSAGE_LENGTH) };
}
