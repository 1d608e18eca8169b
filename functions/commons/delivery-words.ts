/**
 * The visitor's copy in words, once its task is `SUCCESS`: on its way, delivered, bounced, marked as spam,
 * or not emailed because the address had its copies for the day. One source for the page's view and the
 * no-JavaScript status view, so that both say the same.
 */
import type { EmailStatus } from './task-record';

/** What a view says about the visitor's copy. */
export interface DeliveryWords {
  /** The status line: its first word names the state ("Delivered", "Bounced"…). */
  text: string;
  /** Why, and what the visitor can do, when it did not simply arrive. */
  reason?: string;
  /** The copy did not reach the visitor, or was marked as spam: shown as a warning. */
  undelivered: boolean;
}

const BOUNCED: DeliveryWords = {
  text: 'Bounced: check the address.',
  reason:
    'Your feedback reached us, but the copy we emailed came back: that address could not receive mail. Check it for a typo, and send your feedback again with the right address if you want a copy.',
  undelivered: true,
};

/** The words for the visitor's copy with this status (absent: an older record, said as sent). */
export function deliveryWords(status: EmailStatus | undefined): DeliveryWords {
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
