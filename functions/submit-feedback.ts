/**
 * `POST /api/feedback`: validates a visitor's feedback, records the task as `PENDING` and queues the
 * email, then answers `202` at once (or `303` to the status page for a browser's form post).
 */

import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { sqs } from './commons/clients/sqs';
import { numberEnv, requireEnv } from './commons/config';
import type { FeedbackMessage } from './commons/feedback-message';
import { type FeedbackFieldErrors, isHoneypotFilled, validateFeedback } from './commons/feedback-schema';
import {
  type BodyError,
  emptyResponse,
  escapeHtml,
  FORM_TYPE,
  type HttpResult,
  htmlPage,
  htmlResponse,
  jsonResponse,
  parseBody,
  prefersHtml,
  RETRY_AFTER_SECONDS,
} from './commons/http';
import { createObservability, observed } from './commons/observability';
import { DEFAULT_TASK_TTL_DAYS, env } from './commons/settings';
import { expiresAt, statusUrl, type TaskRecord, TaskStatus } from './commons/task-record';
import { createTask, removeUnqueuedTask } from './commons/task-store';

const tableName = requireEnv(env.tasksTableName);
const queueUrl = requireEnv(env.feedbackQueueUrl);
const taskTtlDays = numberEnv(env.taskTtlDays, DEFAULT_TASK_TTL_DAYS);

const observability = createObservability('submit-feedback');
const { logger, metrics } = observability;

/** Why a submission was not accepted: the `reason` dimension of the `FeedbackRejected` metric. */
type RejectionReason = BodyError | 'invalid_feedback' | 'honeypot' | 'unavailable';

function reject(reason: RejectionReason, details: Record<string, unknown> = {}): void {
  metrics.addDimension('reason', reason);
  metrics.addMetric('FeedbackRejected', MetricUnit.Count, 1);
  logger.info('Feedback rejected', { reason, ...details });
}

/** The answer to an accepted submission (or to a bot, which must not tell the difference). */
function accepted(taskId: string, navigation: boolean): HttpResult {
  const location = statusUrl(taskId);
  if (navigation) return emptyResponse(303, { Location: location });
  return jsonResponse(
    202,
    { taskId, status: TaskStatus.PENDING, statusUrl: location },
    { Location: location },
  );
}

function invalidFeedback(fields: FeedbackFieldErrors, navigation: boolean): HttpResult {
  if (!navigation) return jsonResponse(400, { error: 'invalid_feedback', fields });
  const labels = { email: 'Email Address', message: 'Message' } as const;
  const items = (['email', 'message'] as const).flatMap((name) =>
    (fields[name] ?? []).map((text) => `<li>${labels[name]}: ${escapeHtml(text)}</li>`),
  );
  const content = `<ul class="errors">\n${items.join('\n')}\n</ul>\n<p><a href="/">Back to the form</a></p>`;
  return htmlResponse(400, htmlPage('Please check your feedback', content));
}

function unavailable(navigation: boolean): HttpResult {
  const headers = { 'Retry-After': String(RETRY_AFTER_SECONDS) };
  const message = 'The feedback could not be queued right now. Please try again in a few seconds.';
  if (!navigation) return jsonResponse(503, { error: 'service_unavailable', message }, headers);
  const content = `<p>${escapeHtml(message)}</p>\n<p><a href="/">Back to the form</a></p>`;
  return htmlResponse(503, htmlPage('Please try again', content), headers);
}

/**
 * The queue message's JSON. `JSON.stringify` already escapes the control characters and lone surrogates
 * that SQS refuses in a message body; the two noncharacters U+FFFE and U+FFFF are escaped here.
 */
function messageBody(message: FeedbackMessage): string {
  return JSON.stringify(message).replace(
    /[\uFFFE\uFFFF]/g,
    (char) => `\\u${char.charCodeAt(0).toString(16)}`,
  );
}

/**
 * Records the task and queues its message at the same time (the submit's latency is the slower of the
 * two calls, not their sum), then repairs a half-done outcome: a record whose message was not sent is
 * deleted; a message whose record was not written is dropped by the worker, which finds no record.
 * Resolves to whether both succeeded.
 */
async function recordAndQueue(record: TaskRecord, message: FeedbackMessage): Promise<boolean> {
  const [put, send] = await Promise.allSettled([
    createTask(tableName, record),
    sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: messageBody(message) })),
  ]);
  if (put.status === 'fulfilled' && send.status === 'fulfilled') return true;
  if (put.status === 'rejected') logger.error('Task record not written', { error: put.reason });
  if (send.status === 'rejected') {
    logger.error('Feedback message not queued', { error: send.reason });
    if (put.status === 'fulfilled') {
      try {
        const removed = await removeUnqueuedTask(tableName, record.taskId);
        logger.info(removed ? 'Unqueued task removed' : 'Unqueued task already moved on; kept');
      } catch (error) {
        logger.error('Unqueued task not removed; it stays PENDING until it expires', { error });
      }
    }
  }
  return false;
}

async function submitFeedback(event: APIGatewayProxyEventV2): Promise<HttpResult> {
  const body = parseBody(event);
  const navigation = body.ok && body.type === FORM_TYPE && prefersHtml(event);
  if (!body.ok) {
    reject(body.error, { statusCode: body.statusCode });
    return jsonResponse(body.statusCode, { error: body.error, message: body.message });
  }
  if (isHoneypotFilled(body.fields)) {
    reject('honeypot');
    return accepted(crypto.randomUUID(), navigation);
  }
  const validation = validateFeedback(body.fields);
  if (!validation.success) {
    reject('invalid_feedback', { fields: Object.keys(validation.fields) });
    return invalidFeedback(validation.fields, navigation);
  }

  const taskId = crypto.randomUUID();
  logger.appendKeys({ taskId });
  const now = new Date();
  const createdAt = now.toISOString();
  const record: TaskRecord = {
    taskId,
    status: TaskStatus.PENDING,
    createdAt,
    updatedAt: createdAt,
    attempts: 0,
    expiresAt: expiresAt(now, taskTtlDays),
  };
  const message: FeedbackMessage = { taskId, ...validation.data, createdAt };
  if (!(await recordAndQueue(record, message))) {
    reject('unavailable');
    return unavailable(navigation);
  }
  metrics.addMetric('FeedbackAccepted', MetricUnit.Count, 1);
  logger.info('Feedback accepted');
  return accepted(taskId, navigation);
}

/**
 * The Lambda handler of `POST /api/feedback` (HTTP API, payload 2.0). Answers per the contract:
 * 202 (or 303 for a browser's form post), 400 `invalid_feedback` / `malformed_body`, 413, 415, 503 with
 * `Retry-After`. Never logs the visitor's address or message.
 */
export const handler = observed(observability, submitFeedback);
