/**
 * The daily report (what Celery beat would run): invoked by an EventBridge Scheduler schedule, it
 * mails the owner (`NOTIFY_EMAIL`) one UTC day's figures — tasks accepted, sent, retried, failed;
 * autoresponses skipped, emails bounced, complaints — and the dead-letter queue's depth. The figures come
 * from the per-day counter items the worker and `record-email-event` keep in the task table (one
 * BatchGetItem over the day's shards, never a Scan). Nothing about any visitor is in it.
 */
import { SendEmailCommand } from '@aws-sdk/client-ses';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { dynamodb } from './commons/clients/dynamodb.ts';
import { ses } from './commons/clients/ses.ts';
import { sqs } from './commons/clients/sqs.ts';
import { createObservability, observed } from './commons/observability.ts';
import { readSetting, requireSetting } from './config/env.ts';
import * as setting from './config/table.ts';
import { type DailyReport, reportEmail } from './email/messages.ts';
import { DailyCounterStore } from './task/daily-counters.ts';
import { utcDay } from './task/record.ts';

const tableName = requireSetting(setting.tasksTableName);
const senderEmail = requireSetting(setting.senderEmail);
const deadLetterQueueUrl = requireSetting(setting.deadLetterQueueUrl);
const notifyEmail = readSetting(setting.notifyEmail);
const configurationSet = readSetting(setting.sesConfigurationSet);

const dailyCounters = new DailyCounterStore({ dynamodb, tableName });

const observability = createObservability('daily-report');
const { logger } = observability;

/** What the schedule (or `npm run report`) may pass: the UTC day to report, `YYYY-MM-DD`. */
export interface DailyReportEvent {
  date?: string;
}

/** The report that was made, and the SES message id of its email (absent when `NOTIFY_EMAIL` is unset). */
export interface DailyReportResult extends DailyReport {
  sesMessageId?: string;
}

/** The UTC day before `now`, `YYYY-MM-DD`. */
export function previousUtcDay(now: Date = new Date()): string {
  return utcDay(new Date(now.getTime() - 24 * 3600 * 1000));
}

/**
 * The day an event asks for, or yesterday (UTC).
 *
 * @throws when `date` is not a real `YYYY-MM-DD` day
 */
export function reportDay(event: unknown, now: Date = new Date()): string {
  const date = typeof event === 'object' && event !== null ? (event as DailyReportEvent).date : undefined;
  if (date === undefined) return previousUtcDay(now);
  const time = new Date(`${date}T00:00:00Z`);
  // A real day reads back as itself: this refuses other shapes and days like 2025-02-30 (March 2nd).
  if (typeof date !== 'string' || Number.isNaN(time.getTime()) || utcDay(time) !== date) {
    throw new Error(`"date" must be a day as YYYY-MM-DD, got ${JSON.stringify(date)}`);
  }
  return date;
}

/** Reads one UTC day's figures and the dead-letter queue's depth. */
export async function buildDailyReport(date: string): Promise<DailyReport> {
  const [counters, queue] = await Promise.all([
    dailyCounters.read(date),
    sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: deadLetterQueueUrl,
        AttributeNames: ['ApproximateNumberOfMessages'],
      }),
    ),
  ]);
  const deadLetterQueueDepth = Number(queue.Attributes?.ApproximateNumberOfMessages ?? 0);
  return { date, ...counters, deadLetterQueueDepth };
}

/**
 * Makes the report of `date` (default: yesterday, UTC) and mails it to `NOTIFY_EMAIL`; without that
 * setting it only logs the figures.
 */
export async function sendDailyReport(date: string = previousUtcDay()): Promise<DailyReportResult> {
  const report = await buildDailyReport(date);
  logger.info('Daily report', { ...report });
  if (notifyEmail === undefined) {
    logger.warn(`${setting.notifyEmail.env} is not set; the report is not mailed`);
    return report;
  }
  const email = reportEmail(senderEmail, notifyEmail, report);
  // Through the configuration set, so that a bounce or complaint of the owner's address counts too.
  if (configurationSet !== undefined) email.ConfigurationSetName = configurationSet;
  const { MessageId } = await ses.send(new SendEmailCommand(email));
  return MessageId === undefined ? report : { ...report, sesMessageId: MessageId };
}

/** The EventBridge Scheduler target: `{}` reports yesterday, `{ "date": "YYYY-MM-DD" }` that day. */
export const handler = observed(
  observability,
  async (event?: DailyReportEvent): Promise<DailyReportResult> => sendDailyReport(reportDay(event)),
);
