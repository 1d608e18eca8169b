/**
 * The email worker (the seed's Celery task): an SQS batch consumer. Per message it claims the task
 * with a lease, does the slow work, sends the visitor's email (and the owner's notification when
 * `NOTIFY_EMAIL` is set), each at most once per task whatever SQS redelivers, and records the
 * outcome. The visitor's email is skipped when its address had its autoresponses for the day
 * (`AUTORESPONSE_HASH_KEY`, `AUTORESPONSE_LIMIT`). Records of a batch run concurrently; a failing record fails alone (partial batch response).
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { ChangeMessageVisibilityCommand } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { dynamodb } from './commons/clients/dynamodb.ts';
import { ses } from './commons/clients/ses.ts';
import { sqs } from './commons/clients/sqs.ts';
import { describeError } from './commons/errors.ts';
import { createObservability } from './commons/observability.ts';
import { sqsBatchHandler } from './commons/sqs-batch.ts';
import { createAutoresponseLimit } from './email/autoresponse-limit.ts';
import { createSendRateLimiter } from './email/send-rate.ts';
import { createEmailSender } from './email/sender.ts';
import { parseFeedbackMessage } from './form/queue-message.ts';
import { type ClaimedTask, LeaseLostError, TaskClaims } from './task/claim.ts';
import { DailyCounterStore } from './task/daily-counters.ts';
import { TaskLifecycle } from './task/lifecycle.ts';
import { readWorkerConfig } from './worker/config.ts';
import { TaskDelivery } from './worker/delivery.ts';
import { decideOnError, InvalidPayloadError } from './worker/retry-policy.ts';

const config = readWorkerConfig();
const { tableName } = config;
const observability = createObservability('send-feedback-email');
const { logger, metrics } = observability;
const counters = new DailyCounterStore({
  dynamodb,
  tableName,
  onError: (error, day, counter) =>
    logger.warn('Could not update a daily counter', { day, counter, error: describeError(error) }),
});
const claims = new TaskClaims({ dynamodb, tableName, leaseSeconds: config.leaseSeconds, counters });
const lifecycle = new TaskLifecycle({ dynamodb, tableName, counters });
const delivery = new TaskDelivery({
  ...config,
  claims,
  lifecycle,
  metrics,
  sender: createEmailSender(ses),
  limiter: createSendRateLimiter(config.sendIntervalMs, config.sendBurst),
  autoresponseLimit:
    config.autoresponseLimit === undefined
      ? undefined
      : createAutoresponseLimit({ dynamodb, tableName, ...config.autoresponseLimit }),
});

/** The record is reported failed on purpose: its message comes back later (see {@link deferMessage}). */
class DeferredError extends Error {
  override name = 'Deferred';
}

/**
 * The SQS event source's entry point. Returns the failed records' ids (`ReportBatchItemFailures`);
 * they come back after their visibility timeout, or move to the dead-letter queue after
 * `MAX_RECEIVE_COUNT` receives.
 */
export const handler = sqsBatchHandler(observability, processRecord);

async function processRecord(record: SQSRecord): Promise<void> {
  const parsed = parseFeedbackMessage(record.body);
  if (!parsed.success) return dropPoisonMessage(record, parsed.taskId);
  const feedback = parsed.message;
  const log = logger.createChild({ persistentKeys: { taskId: feedback.taskId } });
  const receiveCount = Number(record.attributes.ApproximateReceiveCount) || 1;
  let claim: ClaimedTask | undefined;
  try {
    const result = await claims.claim(feedback.taskId);
    if (result.outcome === 'finished')
      return log.info('Task already finished; nothing sent', { status: result.status });
    if (result.outcome === 'missing') {
      // The record is written before the message is sent: its submit answered 503, or it expired.
      metrics.addMetric('OrphanMessageDropped', MetricUnit.Count, 1);
      return log.warn('No task record; message dropped and nothing sent');
    }
    if (result.outcome === 'held') {
      const retryInSeconds = result.freeInSeconds;
      log.info('Task held by another worker; looking again later', { status: result.status, retryInSeconds });
      return await deferMessage(record, log, retryInSeconds);
    }
    claim = result.task;
    log.info('Task received', { attempt: claim.attempts, receiveCount });
    await delivery.deliver(claim, feedback, log);
  } catch (error) {
    if (error instanceof DeferredError) throw error;
    if (error instanceof LeaseLostError) {
      log.warn('Lease lost to another worker; nothing sent');
      throw error;
    }
    await handleError(error, { taskId: feedback.taskId, claim, record, receiveCount, log });
  }
}

type FailedAttempt = {
  taskId: string;
  claim?: ClaimedTask;
  record: SQSRecord;
  receiveCount: number;
  log: Logger;
};

/**
 * A failure of the claim, the work or an email. Permanent: `FAILURE` at once, message deleted.
 * Transient: `RETRY` and the message back after a backoff (hours for SES's daily quota); on the last
 * allowed receive `FAILURE` first, then the message goes to the dead-letter queue.
 */
async function handleError(error: unknown, { taskId, claim, record, receiveCount, log }: FailedAttempt) {
  const decision = decideOnError(error, { receiveCount, maxReceiveCount: config.maxReceiveCount });
  if (decision.action === 'retry') {
    await bestEffort(log, 'record RETRY', () => lifecycle.retry({ taskId, claim, error: decision.error }));
    metrics.addMetric('TaskRetried', MetricUnit.Count, 1);
    const details = { error: decision.error, receiveCount, retryInSeconds: decision.delaySeconds };
    // An unknown error is retried to be safe, but someone should look at it.
    if (decision.expected) log.warn('Task will be retried', details);
    else log.error('Task will be retried', details);
    return deferMessage(record, log, decision.delaySeconds);
  }
  const deadLetter = decision.action === 'give-up';
  await bestEffort(log, 'record FAILURE', () =>
    lifecycle.fail({ taskId, claim, error: decision.error, retriesExhausted: deadLetter }),
  );
  metrics.addMetric('EmailFailed', MetricUnit.Count, 1);
  log.error('Task failed', { error: decision.error, deadLetter, receiveCount });
  // Reported failed on its last receive: SQS moves the message to the dead-letter queue.
  if (deadLetter) await deferMessage(record, log);
}

/** Not JSON, or not a valid feedback message: never retried, and never the rest of the batch's problem. */
async function dropPoisonMessage(record: SQSRecord, taskId: string | undefined): Promise<void> {
  const log = logger.createChild({ persistentKeys: { taskId, messageId: record.messageId } });
  metrics.addMetric('PoisonMessage', MetricUnit.Count, 1);
  log.error('Message dropped: not a valid feedback message');
  if (taskId === undefined) return;
  const error = describeError(new InvalidPayloadError('The queue message is not a valid feedback message'));
  await bestEffort(log, 'record FAILURE', () => lifecycle.fail({ taskId, error }));
}

/** Reports the record failed, so that its message comes back: after `seconds` when given, else after the queue's visibility timeout. */
async function deferMessage(record: SQSRecord, log: Logger, seconds?: number): Promise<never> {
  if (seconds !== undefined) {
    const input = {
      QueueUrl: config.queueUrl,
      ReceiptHandle: record.receiptHandle,
      VisibilityTimeout: seconds,
    };
    await bestEffort(log, 'delay the message', () => sqs.send(new ChangeMessageVisibilityCommand(input)));
  }
  throw new DeferredError(`Message ${record.messageId} comes back later`);
}

/** A write on the failure path: its own failure is logged, and the outcome of the record stands. */
async function bestEffort(log: Logger, step: string, action: () => Promise<unknown>): Promise<void> {
  try {
    await action();
  } catch (error) {
    log.warn('A write on the failure path failed', { step, error: describeError(error) });
  }
}
