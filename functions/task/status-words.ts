/**
 * A task's state in words, the one source of the page's view (static/task-status.ts) and the
 * no-JavaScript status view (views.ts), so that both say the same: each state's sentence, a reason a
 * person understands when it is not going well, and once sent, the visitor's copy: on its way,
 * delivered, bounced, marked as spam, judged unable to receive mail, or not emailed because the address
 * had its copies for the day or the copies are paused.
 */
import type { TaskError } from '../commons/errors.ts';
import type { EmailStatus, TaskView } from './record.ts';

/** The worker's error type while SES's daily quota holds a task back (a `RETRY` of hours, not seconds). */
export const DAILY_QUOTA_ERROR_TYPE = 'DailyQuotaExceeded';

/** What a visitor watching "Sending…" wants to know: it may take a while, and they need not wait. */
export const SENDING_HINT =
  'The slow step can take a minute. You can close this page: your feedback goes out anyway.';

/** A task's state in words. */
export interface StatusWords {
  /** The status line: its first words name the state ("Queued", "Sending", "Delivered"…). */
  text: string;
  /** Why, and what the visitor can do, when it is not simply going well. */
  reason?: string;
  /** The error the worker recorded, `type: message`, for a "Technical details" disclosure (not once sent). */
  technical?: string;
  /** The copy did not reach the visitor, or was marked as spam: shown as a warning. */
  undelivered: boolean;
}

/** The words for a task's state; once `SUCCESS`, those of its visitor's copy ({@link deliveryWords}). */
export function statusWords(view: Pick<TaskView, 'status' | 'attempts' | 'error' | 'emails'>): StatusWords {
  const words = wordsOf(view);
  if (view.error === undefined || view.status === 'SUCCESS') return words;
  return { ...words, technical: `${view.error.type}: ${view.error.message}` };
}

function wordsOf(view: Pick<TaskView, 'status' | 'attempts' | 'error' | 'emails'>): StatusWords {
  switch (view.status) {
    case 'PENDING':
      return { text: 'Queued: waiting for a free worker.', undelivered: false };
    case 'STARTED': {
      const text = view.attempts > 1 ? `Sending (attempt ${view.attempts})…` : 'Sending…';
      return { text, reason: SENDING_HINT, undelivered: false };
    }
    case 'RETRY':
      if (view.error?.type === DAILY_QUOTA_ERROR_TYPE) {
        return {
          text: 'Waiting: we have sent as many emails as we may today.',
          reason:
            'Your feedback is kept and goes out by itself once our daily sending limit frees up, within a day. You can close this page.',
          undelivered: false,
        };
      }
      return {
        text: 'Retrying: the last try did not go through; we try again shortly.',
        reason: reasonFor(view.error),
        undelivered: false,
      };
    case 'SUCCESS':
      return deliveryWords(view.emails?.visitor?.status);
    case 'FAILURE':
      return {
        text: 'Failed: your feedback could not be sent.',
        reason: reasonFor(view.error),
        undelivered: false,
      };
  }
}

/** A reason a visitor understands, derived from the error type and message the worker recorded. */
export function reasonFor(error: TaskError | undefined): string {
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

const BOUNCED: StatusWords = {
  text: 'Bounced: check the address.',
  reason:
    'Your feedback reached us, but the copy we emailed came back: that address could not receive mail. Check it for a typo, and send your feedback again with the right address if you want a copy.',
  undelivered: true,
};

/** The words for the visitor's copy with this status (absent: an older record, said as sent). */
export function deliveryWords(status: EmailStatus | undefined): StatusWords {
  switch (status) {
    case 'DELIVERED':
      return { text: 'Delivered: the copy reached your email provider.', undelivered: false };
    case 'BOUNCED':
      return BOUNCED;
    case 'SUPPRESSED':
      return {
        ...BOUNCED,
        reason:
          'Your feedback reached us, but we did not email a copy: mail to that address came back before, so we no longer send to it. Check it for a typo.',
      };
    case 'COMPLAINED':
      return {
        text: 'Marked as spam: the copy was reported as unwanted mail.',
        reason:
          'Your feedback reached us all the same. The copy was delivered, then marked as spam in that mailbox or by its email provider.',
        undelivered: true,
      };
    case 'INVALID':
      return {
        ...BOUNCED,
        text: 'Not delivered: check the address.',
        reason:
          'Your feedback reached us, but we did not email a copy: our mail service judged this address unable to receive mail. Check it for a typo, and send your feedback again with the right address if you want a copy.',
      };
    case 'PAUSED':
      return {
        text: 'Received: no copy emailed for now.',
        reason:
          'Your feedback reached us. Our copies to visitors are paused for the moment (too many of them came back), so we did not email you one; the site owner has your feedback all the same.',
        undelivered: false,
      };
    case 'SKIPPED':
      return {
        text: 'Received: no copy emailed this time.',
        reason:
          'Your feedback reached us. This address already got several copies from us today, so we did not email it another one.',
        undelivered: false,
      };
    default:
      return { text: 'Sent: a copy is on its way to your inbox.', undelivered: false };
  }
}

/** How long a view keeps looking for the copy's delivery after the task is sent: SES's events take seconds. */
export const DELIVERY_WAIT_MS = 30_000;

/** Whether SES's word on the visitor's copy may still come: the task is sent and the copy not yet delivered. */
export function awaitsDelivery(status: string, visitor: EmailStatus | undefined): boolean {
  return status === 'SUCCESS' && visitor === 'SENT';
}
