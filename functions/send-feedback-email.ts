/**
 * The email worker (the seed's Celery task): an SQS batch consumer. Per message it claims the task
 * with a lease, does the slow work, sends the visitor's email (and the owner's notification when
 * `NOTIFY_EMAIL` is set), each at most once per task whatever SQS redelivers, and records the
 * outcome. The visitor's email is skipped when its address had its autoresponses for the day
 * (`AUTORESPONSE_HASH_KEY`, `AUTORESPONSE_LIMIT`). Records of a batch run concurrently; a failing record fails alone (partial batch response).
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { ChangeMessageVisibilityCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
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
import { type TaskRecord, TaskStatus } from './task/record.ts';
import { readWorkerConfig } from './worker/config.ts';
import { TaskDelivery } from './worker/delivery.ts';
import {
  decideOnError,
  givenUpError,
  InvalidPayloadError,
  WORKER_LOST_ERROR_TYPE,
} from './worker/retry-policy.ts';

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
const claims = new TaskClaims({
  dynamodb,
  tableName,
  leaseSeconds: config.leaseSeconds,
  maxAttempts: config.maxAttempts,
  counters,
});
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
 * they come back after their visibility timeout. A task that used up its attempts is given up by the
 * worker itself (`FAILURE` first, then its message moved to the dead-letter queue); SQS's own move after
 * `MAX_RECEIVE_COUNT` receives is only a backstop.
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
    // On the last receives no work is done, nothing that could crash before the verdict is written.
    const result =
      receiveCount > config.lastWorkReceive
        ? await claims.inspect(feedback.taskId, record.messageId)
        : await claims.claim(feedback.taskId, record.messageId);
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
    if (result.outcome === 'give-up') return await giveUp(result.record, record, receiveCount, log);
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
 * Transient: `RETRY` and the message back after a backoff (hours for SES's daily quota); on the task's
 * last attempt `FAILURE` first, then the message is moved to the dead-letter queue.
 */
async function handleError(error: unknown, { taskId, claim, record, receiveCount, log }: FailedAttempt) {
  const decision = decideOnError(error, {
    receiveCount,
    lastWorkReceive: config.lastWorkReceive,
    maxAttempts: config.maxAttempts,
    ...(claim === undefined ? {} : { attempt: claim.countedAttempts }),
  });
  if (decision.action === 'retry') {
    const { deferral } = decision;
    await bestEffort(log, 'record RETRY', () =>
      lifecycle.retry({ taskId, claim, error: decision.error, deferral }),
    );
    metrics.addMetric('TaskRetried', MetricUnit.Count, 1);
    const details = { error: decision.error, receiveCount, retryInSeconds: decision.delaySeconds, deferral };
    // An unknown error is retried to be safe, but someone should look at it.
    if (decision.expected) log.warn('Task will be retried', details);
    else log.error('Task will be retried', details);
    return deferMessage(record, log, decision.delaySeconds);
  }
  if (decision.action === 'fail') {
    await bestEffort(log, 'record FAILURE', () => lifecycle.fail({ taskId, claim, error: decision.error }));
    metrics.addMetric('EmailFailed', MetricUnit.Count, 1);
    return log.error('Task failed', { error: decision.error, deadLetter: false, receiveCount });
  }
  let recorded = false;
  await bestEffort(log, 'record FAILURE', async () => {
    recorded = await lifecycle.fail({
      taskId,
      claim,
      error: decision.error,
      givenUpMessageId: record.messageId,
    });
  });
  // No verdict, no give-up: the message comes back, and its next receive gives up from the record.
  if (!recorded) return deferMessage(record, log);
  metrics.addMetric('EmailFailed', MetricUnit.Count, 1);
  log.error('Task failed', { error: decision.error, deadLetter: true, receiveCount });
  await moveToDeadLetterQueue(record, log);
}

/**
 * Gives a task up without working on it: its attempts are used up (the last one's worker stopped, or
 * its error was recorded), or its message is on its last receives. `FAILURE` with the reason is written
 * first, conditional on the record as it was read; then the message moves to the dead-letter queue. A
 * message whose give-up was cut short after the verdict comes back here and is only moved.
 */
async function giveUp(task: TaskRecord, record: SQSRecord, receiveCount: number, log: Logger): Promise<void> {
  if (!(task.status === TaskStatus.FAILURE && task.retriesExhausted === true)) {
    const error = givenUpError(task, receiveCount);
    if (!(await lifecycle.giveUp({ record: task, error, messageId: record.messageId }))) {
      log.info('Task changed while being given up; looking again later', { status: task.status });
      return deferMessage(record, log, 1);
    }
    metrics.addMetric('EmailFailed', MetricUnit.Count, 1);
    if (error.type === WORKER_LOST_ERROR_TYPE) metrics.addMetric('WorkerLost', MetricUnit.Count, 1);
    log.error('Task failed', { error, deadLetter: true, receiveCount, attempts: task.attempts });
  }
  await moveToDeadLetterQueue(record, log);
}

/**
 * Sends the message to the dead-letter queue; the record then succeeds, so that the event source
 * deletes it from the feedback queue. Cut short in between, the message is in both: its copy in the
 * feedback queue comes back and is moved again, and a redrive of two copies still sends one email.
 */
async function moveToDeadLetterQueue(record: SQSRecord, log: Logger): Promise<void> {
  await sqs.send(new SendMessageCommand({ QueueUrl: config.deadLetterQueueUrl, MessageBody: record.body }));
  log.info('Message moved to the dead-letter queue', { messageId: record.messageId });
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
