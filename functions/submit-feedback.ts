/**
 * `POST /api/feedback`: refuses other sites' posts, validates a visitor's feedback, records the task as
 * `PENDING`, then queues the email, and answers `202` at once (or `303` to the status page for a
 * browser's form post). The HTML views are in `http/views.ts`.
 */

import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { sqs } from './commons/clients/sqs.ts';
import { createObservability, observed } from './commons/observability.ts';
import { readSetting, requireSetting } from './config/env.ts';
import * as setting from './config/table.ts';
import {
  type FeedbackFieldErrors,
  type FormValues,
  isHoneypotFilled,
  submittedValues,
  validateFeedback,
} from './form/fields.ts';
import type { FeedbackMessage } from './form/queue-message.ts';
import {
  type BodyError,
  FORM_TYPE,
  header,
  isCrossSite,
  parseBody,
  parseMediaType,
  prefersHtml,
} from './http/requests.ts';
import {
  emptyResponse,
  type HttpResult,
  htmlResponse,
  jsonResponse,
  RETRY_AFTER_SECONDS,
} from './http/responses.ts';
import { formPage, messagePage } from './http/views.ts';
import { expiresAt, statusUrl, type TaskRecord, TaskStatus } from './task/record.ts';
import { createTask, markQueued, removeUnqueuedTask } from './task/store.ts';

const tableName = requireSetting(setting.tasksTableName);
const queueUrl = requireSetting(setting.feedbackQueueUrl);
const taskTtlDays = readSetting(setting.taskTtlDays);
const allowedOrigins = readSetting(setting.allowedOrigins);

const observability = createObservability('submit-feedback');
const { logger, metrics } = observability;

/** Why a submission was not accepted: the `reason` dimension of the `FeedbackRejected` metric. */
type RejectionReason = BodyError | 'invalid_feedback' | 'honeypot' | 'cross_site' | 'unavailable';

function reject(reason: RejectionReason, details: Record<string, unknown> = {}): void {
  metrics.addDimension('reason', reason);
  metrics.addMetric('FeedbackRejected', MetricUnit.Count, 1);
  logger.info('Feedback rejected', { reason, ...details });
}

/** How to answer: JSON for scripts and API clients, pages for a browser's form post without JavaScript. */
interface Answer {
  navigation: boolean;
}

/** The answer to an accepted submission (or to a bot, which must not tell the difference). */
function accepted(taskId: string, { navigation }: Answer): HttpResult {
  const location = statusUrl(taskId);
  if (navigation) return emptyResponse(303, { Location: location });
  return jsonResponse(
    202,
    { taskId, status: TaskStatus.PENDING, statusUrl: location },
    { Location: location },
  );
}

function invalidFeedback(
  fields: FeedbackFieldErrors,
  values: FormValues,
  { navigation }: Answer,
): HttpResult {
  if (!navigation) return jsonResponse(400, { error: 'invalid_feedback', fields });
  return htmlResponse(400, formPage({ values, errors: fields }));
}

function crossSite({ navigation }: Answer): HttpResult {
  const message = 'Feedback can only be sent from our own page.';
  if (!navigation) return jsonResponse(403, { error: 'cross_site', message });
  return htmlResponse(403, messagePage('Not sent', message));
}

function unavailable({ navigation }: Answer): HttpResult {
  const headers = { 'Retry-After': String(RETRY_AFTER_SECONDS) };
  const message = 'The feedback could not be queued right now. Please try again in a few seconds.';
  if (!navigation) return jsonResponse(503, { error: 'service_unavailable', message }, headers);
  return htmlResponse(503, messagePage('Please try again', message), headers);
}

/**
 * The queue message's JSON. Validation refuses lone surrogates and `JSON.stringify` escapes the control
 * characters that SQS refuses in a message body; the two noncharacters U+FFFE and U+FFFF are escaped here.
 */
function messageBody(message: FeedbackMessage): string {
  return JSON.stringify(message).replace(
    /[\uFFFE\uFFFF]/g,
    (char) => `\\u${char.charCodeAt(0).toString(16)}`,
  );
}

/** A new `PENDING` record, expiring after the configured lifetime. */
function pendingRecord(taskId: string, now: Date): TaskRecord {
  const createdAt = now.toISOString();
  return {
    taskId,
    status: TaskStatus.PENDING,
    createdAt,
    updatedAt: createdAt,
    attempts: 0,
    expiresAt: expiresAt(now, taskTtlDays),
  };
}

/**
 * Records the task, then queues its message, so that 202 means both hold and a message never exists
 * without its record; then marks the record queued, so that a record whose submit ended in between
 * (killed, timed out) is told apart from a queued one: it stays without `queuedAt`. With the table down
 * nothing is queued; with the queue down the record is taken back (unless a worker got the message
 * after all, a send that failed only on its way back). Resolves to whether the record and the message
 * both hold.
 */
async function recordThenQueue(record: TaskRecord, message: FeedbackMessage): Promise<boolean> {
  try {
    await createTask(tableName, record);
  } catch (error) {
    logger.error('Task record not written; nothing queued', { error });
    return false;
  }
  try {
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: messageBody(message) }));
  } catch (error) {
    logger.error('Feedback message not queued', { error });
    await takeBack(record.taskId);
    return false;
  }
  try {
    await markQueued(tableName, record.taskId, new Date().toISOString());
  } catch (error) {
    // The task is queued all the same: the tools call it unqueued only until a worker claims it.
    logger.warn('Queued task not marked queued', { error });
  }
  return true;
}

/** Takes back the record of a task whose message could not be queued, so that nothing half-done claims PENDING. */
async function takeBack(taskId: string): Promise<void> {
  try {
    const removed = await removeUnqueuedTask(tableName, taskId);
    logger.info(removed ? 'Unqueued task removed' : 'Unqueued task already moved on; kept');
  } catch (error) {
    logger.error('Unqueued task not removed; it stays PENDING until it expires', { error });
  }
}

/**
 * A bot's submission (honeypot filled, otherwise valid) gets a task like anyone's, so that nothing
 * tells it apart: the same 202 and a status URL that answers. Its record is written as `PENDING` with
 * the internal `honeypot` marker (which the status view never shows, and the tools can filter on) and
 * nothing is queued, so no mail goes out; the record expires like any other. A bot sees a task that
 * stays queued; it does not learn that it was caught.
 */
async function recordHoneypot(taskId: string): Promise<boolean> {
  try {
    const record: TaskRecord & { honeypot: true } = { ...pendingRecord(taskId, new Date()), honeypot: true };
    await createTask(tableName, record);
    return true;
  } catch (error) {
    logger.error('Honeypot task record not written', { error });
    return false;
  }
}

async function submitFeedback(event: APIGatewayProxyEventV2): Promise<HttpResult> {
  const formPost = parseMediaType(header(event, 'content-type') ?? '').type === FORM_TYPE;
  const answer: Answer = { navigation: formPost && prefersHtml(event) };
  if (isCrossSite(event, allowedOrigins)) {
    reject('cross_site', { origin: header(event, 'origin'), site: header(event, 'sec-fetch-site') });
    return crossSite(answer);
  }
  const body = parseBody(event);
  if (!body.ok) {
    reject(body.error, { statusCode: body.statusCode });
    return jsonResponse(body.statusCode, { error: body.error, message: body.message });
  }
  const validation = validateFeedback(body.fields);
  if (!validation.success) {
    reject('invalid_feedback', { fields: Object.keys(validation.fields) });
    return invalidFeedback(validation.fields, submittedValues(body.fields), answer);
  }

  const taskId = crypto.randomUUID();
  logger.appendKeys({ taskId });
  if (isHoneypotFilled(body.fields)) {
    if (!(await recordHoneypot(taskId))) {
      reject('unavailable');
      return unavailable(answer);
    }
    reject('honeypot');
    return accepted(taskId, answer);
  }
  const record = pendingRecord(taskId, new Date());
  const message: FeedbackMessage = { taskId, ...validation.data, createdAt: record.createdAt };
  if (!(await recordThenQueue(record, message))) {
    reject('unavailable');
    return unavailable(answer);
  }
  metrics.addMetric('FeedbackAccepted', MetricUnit.Count, 1);
  logger.info('Feedback accepted');
  return accepted(taskId, answer);
}

/**
 * The Lambda handler of `POST /api/feedback` (HTTP API, payload 2.0). Answers per the contract:
 * 202 (or 303 for a browser's form post), 400 `invalid_feedback` / `malformed_body`, 403 `cross_site`,
 * 413, 415, 503 with `Retry-After`. Never logs the visitor's address or message.
 */
export const handler = observed(observability, submitFeedback);
