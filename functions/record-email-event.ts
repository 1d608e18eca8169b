/**
 * Records what became of a task's email after SES accepted it. SES publishes the events of every email
 * sent through the stack's configuration set to EventBridge (Delivery, Bounce, Complaint, Reject); a rule
 * hands those that carry our `taskId` tag to this handler, which writes the outcome on the task's record:
 * `emails.<recipient>.status` becomes DELIVERED, BOUNCED, SUPPRESSED, COMPLAINED or REJECTED.
 *
 * The email is found by the tags the worker sends with it (`taskId`, `recipient`: never the address),
 * and the write holds only if the record's SES message id is the event's and the new status ranks above
 * the stored one, so duplicates and late, out-of-order events change nothing. An event for an email the
 * worker has not recorded yet (SES can be faster than the worker's write) throws: EventBridge's retry
 * policy delivers it again. A recorded bounce or complaint is also counted for the daily report.
 */

import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { dynamodb } from './commons/clients/dynamodb.ts';
import { requireEnv } from './commons/config.ts';
import { type Counter, DailyCounterStore } from './commons/daily-counters.ts';
import {
  emailEventOf,
  type RecordOutcome,
  recordEmailEvent,
  type SesEmailEvent,
} from './commons/email-events.ts';
import { describeError } from './commons/errors.ts';
import { createObservability, observed } from './commons/observability.ts';
import { env } from './commons/settings.ts';
import { utcDay } from './commons/task-record.ts';

const tableName = requireEnv(env.tasksTableName);
const observability = createObservability('record-email-event');
const { logger, metrics } = observability;
const dailyCounters = new DailyCounterStore({
  dynamodb,
  tableName,
  onError: (error, day, counter) =>
    logger.warn('Could not update a daily counter', { day, counter, error: describeError(error) }),
});

/** The daily report's counter of each outcome it reports: a bounce or suppression, a complaint. */
const COUNTED: Partial<Record<string, Counter>> = {
  BOUNCED: 'bounced',
  SUPPRESSED: 'bounced',
  COMPLAINED: 'complained',
};

/** The EventBridge target: one SES event per invocation. */
export const handler = observed(
  observability,
  async (event: SesEmailEvent): Promise<RecordOutcome | 'ignored'> => {
    const email = emailEventOf(event.detail);
    if (email === undefined) {
      logger.info('Not one of our email events', { eventType: event.detail?.eventType });
      return 'ignored';
    }
    logger.appendKeys({ taskId: email.taskId });
    const at = event.time || new Date().toISOString();
    const outcome = await recordEmailEvent(email, { dynamodb, tableName, at });
    logger.info('Email event', {
      recipient: email.recipient,
      status: email.status,
      detail: email.detail,
      messageId: email.messageId,
      outcome,
    });
    // EmailDelivered, EmailBounced, EmailSuppressed, EmailComplained, EmailRejected.
    if (outcome !== 'recorded') return outcome;
    metrics.addMetric(`Email${capitalized(email.status)}`, MetricUnit.Count, 1);
    // Counted once: a repeated event finds the status recorded ('stale') and counts nothing.
    const counter = COUNTED[email.status];
    if (counter !== undefined) await dailyCounters.add(utcDay(new Date()), counter);
    return outcome;
  },
);

function capitalized(status: string): string {
  return status.charAt(0) + status.slice(1).toLowerCase();
}
