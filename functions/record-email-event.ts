/**
 * Records what became of a task's email after SES accepted it. SES publishes the events of every email
 * sent through the stack's configuration sets to EventBridge (Delivery, Bounce, Complaint, Reject); rules
 * put those that carry our `taskId` tag on an SQS queue, whose event source hands them to this handler
 * in batches: each record's body is the part of the event the rules keep (`QueuedEmailEvent`: its time,
 * type, SES message id, our tags and the bounce, complaint or reject details, never an address). The handler writes the outcome on the task's
 * record: `emails.<recipient>.status` becomes DELIVERED, BOUNCED, SUPPRESSED, INVALID (SES's address
 * validation suppressed it), COMPLAINED or REJECTED.
 *
 * The email is found by the tags the worker sends with it (`taskId`, `recipient`: never the address),
 * and the write holds only if the record's SES message id is the event's and the new status ranks above
 * the stored one, so duplicates and late, out-of-order events change nothing. An event for an email the
 * worker has not recorded yet (SES can be faster than the worker's write), or one whose write fails, is
 * reported failed alone (partial batch response): SQS delivers it again after the queue's visibility
 * timeout, until its receives run out and it moves to the dead-letter queue. A body that is not an
 * event of ours is logged and dropped, never retried. A recorded bounce or complaint is also counted for
 * the daily report.
 */

import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { SQSRecord } from 'aws-lambda';
import { dynamodb } from './commons/clients/dynamodb.ts';
import { describeError } from './commons/errors.ts';
import { createObservability } from './commons/observability.ts';
import { sqsBatchHandler } from './commons/sqs-batch.ts';
import { requireSetting } from './config/env.ts';
import * as setting from './config/table.ts';
import {
  EmailNotRecordedError,
  emailEventOf,
  type QueuedEmailEvent,
  recordEmailEvent,
} from './email/events.ts';
import { type Counter, DailyCounterStore } from './task/daily-counters.ts';
import { utcDay } from './task/record.ts';

const tableName = requireSetting(setting.tasksTableName);
const observability = createObservability('record-email-event');
const { logger, metrics } = observability;
const dailyCounters = new DailyCounterStore({
  dynamodb,
  tableName,
  onError: (error, day, counter) =>
    logger.warn('Could not update a daily counter', { day, counter, error: describeError(error) }),
});

/** The daily report's counter of each outcome it reports: a bounce or suppression, an invalid address, a complaint. */
const COUNTED: Partial<Record<string, Counter>> = {
  BOUNCED: 'bounced',
  SUPPRESSED: 'bounced',
  INVALID: 'invalid',
  COMPLAINED: 'complained',
};

/**
 * The SQS event source's entry point: one SES event (as the rules put it on the queue) per record.
 * Returns the ids of the records to deliver again (`ReportBatchItemFailures`).
 */
export const handler = sqsBatchHandler(observability, processRecord);

async function processRecord(record: SQSRecord): Promise<void> {
  const event = sesEventOf(record.body);
  if (event === undefined) {
    metrics.addMetric('PoisonMessage', MetricUnit.Count, 1);
    return logger.error('Message dropped: not an EventBridge event', { messageId: record.messageId });
  }
  const email = emailEventOf(event.detail);
  if (email === undefined)
    return logger.info('Not one of our email events', { eventType: event.detail.eventType });
  // Records run concurrently: each logs through a child logger of its own task.
  const log = logger.createChild({ persistentKeys: { taskId: email.taskId } });
  const facts = { recipient: email.recipient, status: email.status, messageId: email.messageId };
  const receiveCount = Number(record.attributes.ApproximateReceiveCount) || 1;
  const at = event.time || new Date().toISOString();
  let outcome: Awaited<ReturnType<typeof recordEmailEvent>>;
  try {
    outcome = await recordEmailEvent(email, { dynamodb, tableName, at });
  } catch (error) {
    // The event comes back after the queue's visibility timeout: the worker's write is usually there by then.
    const details = { ...facts, receiveCount, error: describeError(error) };
    if (error instanceof EmailNotRecordedError) log.warn('Email event before its email; retried', details);
    else log.error('Email event not recorded; retried', details);
    throw error;
  }
  log.info('Email event', { ...facts, detail: email.detail, outcome });
  // EmailDelivered, EmailBounced, EmailSuppressed, EmailInvalid, EmailComplained, EmailRejected.
  if (outcome !== 'recorded') return;
  metrics.addMetric(`Email${capitalized(email.status)}`, MetricUnit.Count, 1);
  // Counted once: a repeated event finds the status recorded ('stale') and counts nothing.
  const counter = COUNTED[email.status];
  if (counter !== undefined) await dailyCounters.add(utcDay(new Date()), counter);
}

/** The queued event in a message's body, or undefined when the body is not one (nothing to retry). */
function sesEventOf(body: string): QueuedEmailEvent | undefined {
  try {
    const event = JSON.parse(body) as Partial<QueuedEmailEvent> | null;
    const detail = event?.detail;
    return typeof detail === 'object' && detail !== null ? (event as QueuedEmailEvent) : undefined;
  } catch {
    return undefined;
  }
}

function capitalized(status: string): string {
  return status.charAt(0) + status.slice(1).toLowerCase();
}
