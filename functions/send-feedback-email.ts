/**
 * The email worker (the seed's Celery task): an SQS batch consumer. Per message it claims the task
 * with a lease, does the slow work, sends the visitor's email (and the owner's notification when
 * `NOTIFY_EMAIL` is set), each at most once per task whatever SQS redelivers, and records the
 * outcome. Records of a batch run concurrently; a failing record fails alone (partial batch response).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { SendEmailCommand } from '@aws-sdk/client-ses';
import { ChangeMessageVisibilityCommand } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import * as z from 'zod/mini';
import { dynamodb } from './commons/clients/dynamodb';
import { ses } from './commons/clients/ses';
import { sqs } from './commons/clients/sqs';
import { numberEnv, optionalEnv, requireEnv } from './commons/config';
import { ownerEmail, visitorEmail } from './commons/email';
import { classifyError, describeError, InvalidPayloadError, isKnownTransient } from './commons/errors';
import type { FeedbackMessage } from './commons/feedback-message';
import { createObservability, observed } from './commons/observability';
import { createSendRateLimiter, sendIntervalMs } from './commons/send-rate';
import {
  consumer,
  consumerTimeoutSeconds,
  DEFAULT_SES_MAX_SEND_RATE,
  DEFAULT_WORK_SECONDS,
  env,
  limits,
  queue,
  retry,
} from './commons/settings';
import { type ClaimedTask, LeaseLostError, TaskLifecycle } from './commons/task-lifecycle';
import { EmailStatus, type Recipient, TASK_ID_PATTERN, type TaskError } from './commons/task-record';

const tableName = requireEnv(env.tasksTableName);
const queueUrl = requireEnv(env.feedbackQueueUrl);
const senderEmail = requireEnv(env.senderEmail);
const notifyEmail = optionalEnv(env.notifyEmail);
const workSeconds = numberEnv(env.workSeconds, DEFAULT_WORK_SECONDS);
const maxReceiveCount = numberEnv(env.maxReceiveCount, queue.maxReceiveCount);
const leaseSeconds = numberEnv(env.leaseSeconds, consumerTimeoutSeconds(workSeconds));
const sendInterval = sendIntervalMs(
  numberEnv(env.sesMaxSendRate, DEFAULT_SES_MAX_SEND_RATE),
  numberEnv(env.workerConcurrency, consumer.maxConcurrency),
);

/**
 * A message whose task record does not exist is looked at again until it is this old: the submit
 * writes the record and sends the message concurrently, so the message may arrive first. Older, the
 * submit answered 503 for it (the record write failed): the visitor was told to try again, so
 * nothing is sent.
 */
export const MISSING_RECORD_GRACE_SECONDS = 30;

/** Seconds between two looks at a young message without a record: the record is usually a moment behind. */
export const MISSING_RECORD_RECHECK_SECONDS = 2;

/** Writes of an accepted email's message id, at most: the one window for a duplicate is that write. */
const RECORD_SENT_ATTEMPTS = 4;

const observability = createObservability('send-feedback-email');
const { logger, metrics } = observability;
const limiter = createSendRateLimiter(sendInterval);
const recipients: readonly Recipient[] = notifyEmail === undefined ? ['visitor'] : ['visitor', 'owner'];
const lifecycle = new TaskLifecycle({
  dynamodb,
  tableName,
  leaseSeconds,
  onCounterError: (error, day, counter) =>
    logger.warn('Could not update a daily counter', { day, counter, error: describeError(error) }),
});

const feedbackMessageSchema = z.object({
  taskId: z.string().check(z.regex(TASK_ID_PATTERN)),
  // No whitespace or control characters: the address goes into the owner email's subject.
  email: z.string().check(z.maxLength(limits.emailMaxLength), z.regex(/^[^\s@\p{Cc}]+@[^\s@\p{Cc}]+$/u)),
  message: z.string().check(z.minLength(1), z.maxLength(limits.messageMaxLength)),
  createdAt: z.string(),
});

/** An outcome that leaves the task as it is and the message to come back later (the item is reported failed). */
class DeferredError extends Error {
  override name = 'Deferred';
}

/**
 * Seconds until a message that failed transiently on its `receiveCount`-th receive is delivered again:
 * exponential backoff with full jitter, like Celery's `retry_backoff` + `retry_jitter`, but never under
 * a second, so that a retry never hammers a service that has just failed (and `RETRY` is seen).
 */
export function retryDelaySeconds(receiveCount: number, random: () => number = Math.random): number {
  const cap = Math.min(retry.maxDelaySeconds, retry.baseDelaySeconds * 2 ** Math.max(0, receiveCount - 1));
  return Math.max(1, Math.round(random() * cap));
}

/**
 * The SQS event source's entry point. Returns the failed records' ids (`ReportBatchItemFailures`);
 * they come back after their visibility timeout, or move to the dead-letter queue after
 * `MAX_RECEIVE_COUNT` receives.
 */
export const handler = observed(
  observability,
  async (event: SQSEvent, context?: Context): Promise<SQSBatchResponse> =>
    // One processor per invocation: the local stack runs invocations concurrently in one process.
    processPartialResponse(event, processRecord, new BatchProcessor(EventType.SQS), {
      ...(context === undefined ? {} : { context }),
      // A batch whose every record failed is answered the same way, not by an invocation error.
      throwOnFullBatchFailure: false,
    }),
);

async function processRecord(record: SQSRecord): Promise<void> {
  const body = parseJson(record.body);
  const parsed = feedbackMessageSchema.safeParse(body);
  if (!parsed.success) return dropPoisonMessage(record, body);
  const feedback: FeedbackMessage = parsed.data;
  const log = logger.createChild();
  log.appendKeys({ taskId: feedback.taskId });
  const receiveCount = Number(record.attributes.ApproximateReceiveCount) || 1;
  let task: ClaimedTask | undefined;
  try {
    const claim = await lifecycle.claim(feedback.taskId);
    if (claim.outcome === 'finished') {
      log.info('Task already finished; nothing sent', { status: claim.status });
      return;
    }
    if (claim.outcome === 'held') {
      log.info('Task held by another worker; looking again later', { status: claim.status });
      throw new DeferredError(`Task ${feedback.taskId} is held by another worker`);
    }
    if (claim.outcome === 'missing') return await handleMissingRecord(record, feedback, log);
    task = claim.task;
    log.info('Task received', { attempt: task.attempts, receiveCount });
    await deliver(task, feedback, log);
  } catch (error) {
    if (error instanceof DeferredError) throw error;
    if (error instanceof LeaseLostError) {
      log.warn('Lease lost to another worker; nothing sent');
      throw error;
    }
    await handleError(error, feedback.taskId, task, record, receiveCount, log);
  }
}

/** The slow work, then each email not yet settled, then the task's outcome. */
async function deliver(task: ClaimedTask, feedback: FeedbackMessage, log: Logger): Promise<void> {
  const pending = recipients.filter((recipient) => task.emails[recipient] === undefined);
  if (pending.length > 0 && workSeconds > 0) await sleep(workSeconds * 1000);
  for (const recipient of pending) await sendEmail(task, recipient, feedback, log);

  const visitor = task.emails.visitor;
  if (visitor?.status === EmailStatus.REJECTED) {
    await failTask(
      task.taskId,
      task,
      visitor.error ?? { type: 'MessageRejected', message: 'Rejected by SES' },
      log,
    );
    return;
  }
  const { runtimeMs, recorded } = await lifecycle.succeed(task);
  metrics.addMetric('TaskDuration', MetricUnit.Milliseconds, runtimeMs);
  if (recorded) {
    log.info(`Task succeeded in ${(runtimeMs / 1000).toFixed(1)}s`, { runtimeMs, attempt: task.attempts });
  } else {
    log.warn('Emails sent, but another worker claimed the task meanwhile; it records the outcome');
  }
}

/**
 * One email: under a freshly renewed lease, within the send rate; SES's answer is recorded at once,
 * so that no later attempt sends it again.
 */
async function sendEmail(task: ClaimedTask, recipient: Recipient, feedback: FeedbackMessage, log: Logger) {
  const input =
    recipient === 'owner' && notifyEmail !== undefined
      ? ownerEmail(senderEmail, notifyEmail, feedback.email, feedback.message)
      : visitorEmail(senderEmail, feedback.email, feedback.message);
  await limiter.acquire();
  await lifecycle.renewLease(task);
  let messageId: string;
  try {
    messageId = (await ses.send(new SendEmailCommand(input))).MessageId ?? '';
  } catch (error) {
    if (classifyError(error) !== 'permanent') throw error;
    const reason = describeError(error);
    await lifecycle.recordEmail(task, recipient, {
      status: EmailStatus.REJECTED,
      error: reason,
      at: nowIso(),
    });
    metrics.addMetric('EmailFailed', MetricUnit.Count, 1);
    log.error('Email rejected by SES; not tried again', { recipient, error: reason });
    return;
  }
  log.info('Email accepted by SES', { recipient, sesMessageId: messageId });
  metrics.addMetric('EmailSent', MetricUnit.Count, 1);
  for (let attempt = 1; ; attempt++) {
    try {
      await lifecycle.recordEmail(task, recipient, { status: EmailStatus.SENT, messageId, at: nowIso() });
      return;
    } catch (error) {
      if (attempt >= RECORD_SENT_ATTEMPTS) throw error;
      log.warn('Could not record a sent email yet; trying again', { recipient, error: describeError(error) });
      await sleep(100 * 2 ** attempt);
    }
  }
}

/**
 * A failure of the claim, the work or an email. Permanent: `FAILURE` at once, message deleted.
 * Transient: `RETRY` and the message back after a backoff; on the last allowed receive `FAILURE`
 * first, then the message goes to the dead-letter queue.
 */
async function handleError(
  error: unknown,
  taskId: string,
  task: ClaimedTask | undefined,
  record: SQSRecord,
  receiveCount: number,
  log: Logger,
): Promise<void> {
  const reason = describeError(error);
  if (classifyError(error) === 'permanent') {
    await failTask(taskId, task, reason, log);
    return;
  }
  if (receiveCount >= maxReceiveCount) {
    await bestEffort(log, 'record FAILURE', () => lifecycle.fail(taskId, task, reason, true));
    metrics.addMetric('EmailFailed', MetricUnit.Count, 1);
    log.error('Task failed: out of retries; its message goes to the dead-letter queue', {
      error: reason,
      receiveCount,
    });
    throw new DeferredError(`Task ${taskId} is out of retries`);
  }
  await bestEffort(log, 'record RETRY', () => lifecycle.retry(taskId, task, reason));
  metrics.addMetric('TaskRetried', MetricUnit.Count, 1);
  const delaySeconds = retryDelaySeconds(receiveCount);
  await bestEffort(log, 'delay the retry', () => changeVisibility(record, delaySeconds));
  const details = { error: reason, receiveCount, retryInSeconds: delaySeconds };
  if (isKnownTransient(error)) log.warn('Task will be retried', details);
  else log.error('Unexpected error; task will be retried', details);
  throw new DeferredError(`Task ${taskId} will be retried`);
}

async function failTask(taskId: string, task: ClaimedTask | undefined, reason: TaskError, log: Logger) {
  const recorded = await lifecycle.fail(taskId, task, reason, false);
  metrics.addMetric('EmailFailed', MetricUnit.Count, 1);
  log.error('Task failed; not retried', { error: reason, recorded });
}

async function handleMissingRecord(record: SQSRecord, feedback: FeedbackMessage, log: Logger): Promise<void> {
  const sentAt = Number(record.attributes.SentTimestamp) || Date.parse(feedback.createdAt);
  const ageSeconds = (Date.now() - sentAt) / 1000;
  if (ageSeconds < MISSING_RECORD_GRACE_SECONDS) {
    const waitSeconds = Math.min(
      MISSING_RECORD_RECHECK_SECONDS,
      Math.ceil(MISSING_RECORD_GRACE_SECONDS - ageSeconds),
    );
    await bestEffort(log, 'delay the next look', () => changeVisibility(record, waitSeconds));
    log.info('No task record yet; looking again shortly', { retryInSeconds: waitSeconds });
    throw new DeferredError(`Task ${feedback.taskId} has no record yet`);
  }
  metrics.addMetric('OrphanMessageDropped', MetricUnit.Count, 1);
  log.warn('No task record: its submit answered 503, so the message is dropped and nothing is sent');
}

/** Not JSON, or not a feedback message: never retried, and never the rest of the batch's problem. */
async function dropPoisonMessage(record: SQSRecord, body: unknown): Promise<void> {
  const taskId = taskIdOf(body);
  const log = logger.createChild();
  log.appendKeys({ taskId, messageId: record.messageId });
  metrics.addMetric('PoisonMessage', MetricUnit.Count, 1);
  log.error('Message dropped: not a valid feedback message');
  if (taskId === undefined) return;
  const reason = describeError(new InvalidPayloadError('The queue message is not a valid feedback message'));
  await bestEffort(log, 'record FAILURE', () => lifecycle.fail(taskId, undefined, reason, false));
}

async function changeVisibility(record: SQSRecord, seconds: number): Promise<void> {
  await sqs.send(
    new ChangeMessageVisibilityCommand({
      QueueUrl: queueUrl,
      ReceiptHandle: record.receiptHandle,
      VisibilityTimeout: seconds,
    }),
  );
}

/** A write on the failure path: its own failure is logged, and the outcome of the record stands. */
async function bestEffort(log: Logger, what: string, action: () => Promise<unknown>): Promise<void> {
  try {
    await action();
  } catch (error) {
    log.warn(`Could not ${what}`, { error: describeError(error) });
  }
}

function parseJson(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

function taskIdOf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const taskId = (value as { taskId?: unknown }).taskId;
  return typeof taskId === 'string' && TASK_ID_PATTERN.test(taskId) ? taskId : undefined;
}

function nowIso(): string {
  return new Date().toISOString();
}
