/**
 * How the page puts a task's state into words: pure functions, so they are tested without a browser.
 */
import { awaitsDelivery, deliveryWords } from '../functions/commons/delivery-words';
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
  /** True once the task cannot change any more (SUCCESS or FAILURE): polling stops, unless {@link awaitingDelivery}. */
  final: boolean;
  failed: boolean;
  /** Sent, and SES's word on its delivery may come within seconds: worth a few more looks. */
  awaitingDelivery: boolean;
  /** The copy did not reach the visitor, or was marked as spam: said as a warning. */
  undelivered: boolean;
}

/**
 * The worker's error type while SES's daily sending quota holds a task back (a `RETRY` that waits for
 * hours, not seconds).
 */
export const DAILY_QUOTA_ERROR_TYPE = 'DailyQuotaExceeded';

/** What a visitor watching "Sending…" wants to know: it may take a while, and they need not wait. */
export const SENDING_HINT =
  'The slow step can take a minute. You can close this page: your feedback goes out anyway.';

/** Words for each state, by the step a visitor can picture. */
export function presentStatus(
  view: Pick<TaskView, 'status' | 'attempts' | 'runtimeMs' | 'error' | 'emails'>,
): StatusPresentation {
  const shown = present(view);
  const visitor = view.emails?.visitor?.status;
  return {
    ...shown,
    awaitingDelivery: awaitsDelivery(view.status, visitor),
    undelivered: shown.undelivered ?? false,
  };
}

function present(
  view: Pick<TaskView, 'status' | 'attempts' | 'runtimeMs' | 'error' | 'emails'>,
): Omit<StatusPresentation, 'awaitingDelivery' | 'undelivered'> & { undelivered?: boolean } {
  const technical = view.error ? `${view.error.type}: ${view.error.message}` : undefined;
  switch (view.status) {
    case 'PENDING':
      return { step: 'queued', text: 'Queued: waiting for a free worker.', final: false, failed: false };
    case 'STARTED':
      return {
        step: 'sending',
        text: view.attempts > 1 ? `Sending (attempt ${view.attempts})…` : 'Sending…',
        reason: SENDING_HINT,
        final: false,
        failed: false,
      };
    case 'RETRY':
      if (view.error?.type === DAILY_QUOTA_ERROR_TYPE) {
        return {
          step: 'sending',
          text: 'Waiting: we have sent as many emails as we may today.',
          reason:
            'Your feedback is kept and goes out by itself once our daily sending limit frees up, within a day. You can close this page.',
          technical,
          final: false,
          failed: false,
        };
      }
      return {
        step: 'sending',
        text: 'Retrying: the last try did not go through; we try again shortly.',
        reason: describeError(view.error),
        technical,
        final: false,
        failed: false,
      };
    case 'SUCCESS':
      return {
        step: 'sent',
        ...deliveryWords(view.emails?.visitor?.status),
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

/** `12400` → `"12 s"`: whole seconds, for a clock that ticks once a second. */
export function formatElapsed(ms: number): string {
  return `${Math.max(0, Math.floor(ms / 1000))} s`;
}

/**
 * Delay before status poll number `n` (0-based): a quarter of a second, doubling each time, at most
 * 5 s. The first look comes soon, so that a task with no slow work does not stay "Queued" on the page
 * after it is done; the later ones spread out, so that a long task costs few requests.
 */
export function pollDelayMs(n: number): number {
  return Math.min(5000, 250 * 2 ** n);
}

/** Between two looks for the copy's delivery (for up to `DELIVERY_WAIT_MS`). */
export const DELIVERY_POLL_MS = 2000;

/** True for the five states of the contract (a guard for what the API sends). */
export function isTaskStatus(value: unknown): value is TaskStatus {
  return (Object.values(TaskStatus) as unknown[]).includes(value);
}
