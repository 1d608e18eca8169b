/**
 * How the page puts a task's state into words: pure functions, so they are tested without a browser.
 */
import { type TaskError, TaskStatus, type TaskView } from '../functions/commons/task-record';

/** The three steps the visitor sees; RETRY is still "sending", FAILURE stops at it. */
export type Step = 'queued' | 'sending' | 'sent';

/** What the thank-you view shows for one task state. */
export interface StatusPresentation {
  /** The step reached (drawn as the current one, or as failed for FAILURE). */
  step: Step;
  /** The status line, announced to screen readers when it changes. */
  text: string;
  /** A reason a person understands, for FAILURE and RETRY. */
  reason?: string;
  /** `type: message` as the API gave it, for the "Technical details" disclosure. */
  technical?: string;
  /** How long the worker took, for a sent task ("20 s"). */
  runtime?: string;
  /** True once the task cannot change any more (SUCCESS or FAILURE): polling stops. */
  final: boolean;
  failed: boolean;
}

/** Words for each state, by the step a visitor can picture. */
export function presentStatus(
  view: Pick<TaskView, 'status' | 'attempts' | 'runtimeMs' | 'error'>,
): StatusPresentation {
  const technical = view.error ? `${view.error.type}: ${view.error.message}` : undefined;
  switch (view.status) {
    case 'PENDING':
      return { step: 'queued', text: 'Queued: waiting for a free worker.', final: false, failed: false };
    case 'STARTED':
      return {
        step: 'sending',
        text: view.attempts > 1 ? `Sending (attempt ${view.attempts})…` : 'Sending…',
        final: false,
        failed: false,
      };
    case 'RETRY':
      return {
        step: 'sending',
        text: 'Retrying: the first try did not go through, we try again shortly.',
        reason: describeError(view.error),
        technical,
        final: false,
        failed: false,
      };
    case 'SUCCESS':
      return {
        step: 'sent',
        text: 'Sent: a copy is on its way to your inbox.',
        runtime: view.runtimeMs === undefined ? undefined : formatSeconds(view.runtimeMs),
        final: true,
        failed: false,
      };
    case 'FAILURE':
      return {
        step: 'sending',
        text: 'Failed: your feedback could not be sent.',
        reason: describeError(view.error),
        technical,
        final: true,
        failed: true,
      };
  }
}

/** A reason a visitor understands, derived from the error type and message the worker recorded. */
export function describeError(error: TaskError | undefined): string {
  const text = error ? `${error.type} ${error.message}` : '';
  if (/MessageRejected|not verified|Address blacklisted|InvalidParameterValue/i.test(text)) {
    return 'Our mail service refused to send to this address. Please check the address and send your feedback again.';
  }
  if (/Throttl|rate exceeded|TooManyRequests|LimitExceeded/i.test(text)) {
    return 'Our mail service was too busy to take it. Please try again in a few minutes.';
  }
  if (/SendingPaused|AccountSuspended|MailFromDomainNotVerified|ConfigurationSet/i.test(text)) {
    return 'Sending mail is switched off on our side at the moment. Please try again later.';
  }
  if (
    /Timeout|timed out|ECONN|ENOTFOUND|EAI_AGAIN|socket|network|Unavailable|InternalFailure|5\d\d/i.test(text)
  ) {
    return 'We could not reach our mail service. Please try again later.';
  }
  if (/Invalid|Validation|payload|malformed/i.test(text)) {
    return 'Your feedback reached us in a shape we could not process. Please send it again.';
  }
  return 'Something went wrong on our side while sending. Please try again later.';
}

/** `1234` → `"1.2 s"`, `20000` → `"20 s"`. */
export function formatSeconds(ms: number): string {
  const seconds = ms / 1000;
  return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)} s`;
}

/** Delay before status poll number `n` (0-based): 1 s, growing by half each time, at most 5 s. */
export function pollDelayMs(n: number): number {
  return Math.min(5000, Math.round(1000 * 1.5 ** n));
}

/** True for the five states of the contract (a guard for what the API sends). */
export function isTaskStatus(value: unknown): value is TaskStatus {
  return (Object.values(TaskStatus) as unknown[]).includes(value);
}
