/**
 * The email worker against a real DynamoDB implementation (dynalite): the tests look at what the task
 * record says afterwards. SES and SQS are mocked; faults of the record's writes are injected at the
 * lifecycle's boundary.
 */
import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import {
  ConfigurationSetSendingPausedException,
  MessageRejected,
  SESClient,
  SESServiceException,
  SendEmailCommand,
} from '@aws-sdk/client-ses';
import { ChangeMessageVisibilityCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { limitKey } from '../../functions/email/autoresponse-limit.ts';
import type { FeedbackMessage } from '../../functions/form/queue-message.ts';
import { DailyCounterStore, NO_COUNTS } from '../../functions/task/daily-counters.ts';
import { type TaskRecord, utcDay } from '../../functions/task/record.ts';
import { type CapturedLogs, captureLogs, loadHandler } from '../helpers/handlers.ts';
import { feedbackMessage, feedbackRecord, lambdaContext, sqsEvent, sqsRecord } from '../helpers/sqs-event.ts';
import { startTaskTable, type TaskTable, taskTableEnv } from '../helpers/task-table.ts';

const SENDER = 'support@example.com';
const OWNER = 'owner@example.com';
const NOW = new Date('2025-06-01T12:00:00.000Z');

const sesMock = mockClient(SESClient);
const sqsMock = mockClient(SQSClient);

type Handler = (event: SQSEvent) => Promise<SQSBatchResponse>;
type Lifecycle = typeof import('../../functions/task/lifecycle.ts');
type Claims = typeof import('../../functions/task/claim.ts');

let table: TaskTable;
let logs: CapturedLogs;
/** The lifecycle module the loaded worker uses, to inject faults at its boundary. */
let lifecycleModule: Lifecycle;
/** The claim module the loaded worker uses. */
let claimModule: Claims;

beforeAll(async () => {
  table = await startTaskTable();
});

afterAll(async () => {
  await table.stop();
});

beforeEach(() => {
  sesMock.reset();
  sqsMock.reset();
  sesMock.on(SendEmailCommand).resolves({ MessageId: 'ses-message-1' });
  sqsMock.on(ChangeMessageVisibilityCommand).resolves({});
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(NOW);
  logs = captureLogs();
  vi.spyOn(Math, 'random').mockReturnValue(0.5);
});

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

async function loadWorker(env: Record<string, string | undefined> = {}): Promise<Handler> {
  const { handler } = await loadHandler<typeof import('../../functions/send-feedback-email.ts')>(
    'send-feedback-email',
    { ...taskTableEnv(table), ...env },
  );
  lifecycleModule = await import('../../functions/task/lifecycle.ts');
  claimModule = await import('../../functions/task/claim.ts');
  return (event) => handler(event, lambdaContext());
}

/** A queued feedback whose record the submit wrote (PENDING unless overridden). */
async function accepted(
  message: Partial<FeedbackMessage> = {},
  record: Partial<TaskRecord> = {},
): Promise<FeedbackMessage> {
  const feedback = feedbackMessage(message);
  await table.put({ taskId: feedback.taskId, createdAt: feedback.createdAt, ...record });
  return feedback;
}

async function recordOf(taskId: string): Promise<Record<string, unknown>> {
  return (await table.get(taskId)) ?? {};
}

function logLine(message: string): Record<string, unknown> | undefined {
  return logs.lines().find((line) => line.message === message);
}

const sesThrottling = () =>
  new SESServiceException({
    name: 'Throttling',
    message: 'Maximum sending rate exceeded.',
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
  });
const sesDailyQuota = () =>
  new SESServiceException({
    name: 'Throttling',
    message: 'Daily message quota exceeded.',
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
  });
const sesRejected = (address: string) =>
  new MessageRejected({
    message: `Email address is not verified. The following identities failed the check in region US-EAST-1: ${address}`,
    $metadata: { httpStatusCode: 400 },
  });
const throttled = { type: 'Throttling', message: 'Maximum sending rate exceeded.' };
const sesUnavailable = () =>
  new SESServiceException({
    name: 'ServiceUnavailable',
    message: 'Service unavailable',
    $fault: 'server',
    $metadata: { httpStatusCode: 503 },
  });
const unavailable = { type: 'ServiceUnavailable', message: 'Service unavailable' };
const DEAD_LETTER_QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/FeedbackDeadLetterQueue';
/** The worker's limit (MAX_ATTEMPTS) and its last working receive (MAX_RECEIVE_COUNT − 2) in the tests' environment. */
const MAX_ATTEMPTS = 5;
const LAST_WORK_RECEIVE = 8;

describe('send-feedback-email: the visitor email', () => {
  it('claims the task, sends the seed email exactly, and records the message id and SUCCESS', async () => {
    // Prepare
    const handler = await loadWorker();
    const message = await accepted({ message: 'Héllo\nworld' });

    // Act
    const response = await handler(sqsEvent(feedbackRecord(message)));

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(sesMock).toHaveReceivedCommandTimes(SendEmailCommand, 1);
    expect(sesMock).toHaveReceivedCommandWith(SendEmailCommand, {
      Source: SENDER,
      Destination: { ToAddresses: ['visitor@example.com'] },
      Message: {
        Subject: { Data: 'Your Feedback', Charset: 'UTF-8' },
        Body: { Text: { Data: '\tHéllo\nworld\n\nThank you!', Charset: 'UTF-8' } },
      },
    });
    const record = await recordOf(message.taskId);
    expect(record).toMatchObject({
      status: 'SUCCESS',
      attempts: 1,
      startedAt: NOW.toISOString(),
      finishedAt: NOW.toISOString(),
      runtimeMs: 0,
      sesMessageId: 'ses-message-1',
      emails: { visitor: { status: 'SENT', messageId: 'ses-message-1', at: NOW.toISOString() } },
    });
    expect(record).not.toHaveProperty('leaseExpiresAt');
  });

  it('logs the task received and succeeded, as the local terminal shows them', async () => {
    // Prepare
    const handler = await loadWorker();
    const message = await accepted();

    // Act
    await handler(sqsEvent(feedbackRecord(message, { receiveCount: 1 })));

    // Assess
    expect(logLine('Task received')).toMatchObject({
      service: 'send-feedback-email',
      taskId: message.taskId,
      attempt: 1,
      receiveCount: 1,
    });
    expect(logLine('Task succeeded')).toMatchObject({ taskId: message.taskId, runtimeMs: 0 });
  });

  it('sends the email of a task reclaimed after an expired lease once', async () => {
    // Prepare
    const handler = await loadWorker();
    const message = await accepted(
      {},
      { status: 'STARTED', attempts: 1, leaseExpiresAt: NOW.getTime() - 1000, emails: {} },
    );

    // Act
    const response = await handler(sqsEvent(feedbackRecord(message, { receiveCount: 2 })));

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(sesMock).toHaveReceivedCommandTimes(SendEmailCommand, 1);
    expect(await recordOf(message.taskId)).toMatchObject({ status: 'SUCCESS', attempts: 2 });
  });

  it('renews the lease right before sending', async () => {
    // Prepare
    const handler = await loadWorker();
    const message = await accepted();
    const renew = vi.spyOn(claimModule.TaskClaims.prototype, 'renewLease');
    let renewalsAtSend = -1;
    sesMock.on(SendEmailCommand).callsFake(() => {
      renewalsAtSend = renew.mock.calls.length;
      return { MessageId: 'ses-message-1' };
    });

    // Act
    await handler(sqsEvent(feedbackRecord(message)));

    // Assess
    expect(renewalsAtSend).toBe(1);
  });
});

describe('send-feedback-email: redelivery and concurrent holders', () => {
  it('sends nothing for a message of a task already SUCCESS', async () => {
    // Prepare
    const handler = await loadWorker();
    const message = await accepted({}, { status: 'SUCCESS', attempts: 1 });

    // Act
    const response = await handler(sqsEvent(feedbackRecord(message, { receiveCount: 2 })));

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(sesMock).not.toHaveReceivedCommand(SendEmailCommand);
    expect(logLine('Task already finished; nothing sent')).toMatchObject({
      taskId: message.taskId,
      status: 'SUCCESS',
    });
  });

  it('looks again once the lease of another worker holding the task has run out, without sending', async () => {
    // Prepare
    const handler = await loadWorker();
    const message = await accepted(
      {},
      { status: 'STARTED', attempts: 1, leaseExpiresAt: NOW.getTime() + 30_000, emails: {} },
    );
    const record = feedbackRecord(message);

    // Act
    const response = await handler(sqsEvent(record));

    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(sesMock).not.toHaveReceivedCommand(SendEmailCommand);
    expect(sqsMock).toHaveReceivedCommandWith(ChangeMessageVisibilityCommand, {
      ReceiptHandle: record.receiptHandle,
      VisibilityTimeout: 31,
    });
    expect(await recordOf(message.taskId)).toMatchObject({ status: 'STARTED', attempts: 1 });
  });

  it('does not send when the lease was lost before the SES call', async () => {
    // Prepare
    const handler = await loadWorker();
    const message = await accepted();
    const record = feedbackRecord(message);
    vi.spyOn(claimModule.TaskClaims.prototype, 'renewLease').mockRejectedValue(
      new claimModule.LeaseLostError('claimed by another worker'),
    );

    // Act
    const response = await handler(sqsEvent(record));

    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(sesMock).not.toHaveReceivedCommand(SendEmailCommand);
    expect(await recordOf(message.taskId)).toMatchObject({ status: 'STARTED' });
  });

  it('sends once when the same task arrives twice in one batch', async () => {
    // Prepare
    const handler = await loadWorker();
    const message = await accepted();

    // Act
    const response = await handler(sqsEvent(feedbackRecord(message), feedbackRecord(message)));

    // Assess
    expect(sesMock).toHaveReceivedCommandTimes(SendEmailCommand, 1);
    expect(response.batchItemFailures.length).toBeLessThanOrEqual(1);
    expect(await recordOf(message.taskId)).toMatchObject({ status: 'SUCCESS', attempts: 1 });
  });
});

describe('send-feedback-email: retries and failures', () => {
  it('puts the task in RETRY and delays the message on SES throttling', async () => {
    // Prepare
    const handler = await loadWorker();
    const message = await accepted({}, { status: 'RETRY', attempts: 2 });
    const record = feedbackRecord(message, { receiveCount: 3 });
    sesMock.on(SendEmailCommand).rejects(sesThrottling());

    // Act
    const response = await handler(sqsEvent(record));

    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(await recordOf(message.taskId)).toMatchObject({ status: 'RETRY', attempts: 3, error: throttled });
    // Third receive: backoff cap 5 * 2^2 = 20 s, full jitter at 0.5 → 10 s.
    expect(sqsMock).toHaveReceivedCommandWith(ChangeMessageVisibilityCommand, {
      QueueUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/FeedbackQueue',
      ReceiptHandle: record.receiptHandle,
      VisibilityTimeout: 10,
    });
    expect(logLine('Task will be retried')).toMatchObject({
      taskId: message.taskId,
      retryInSeconds: 10,
      error: throttled,
    });
  });

  it("marks FAILURE on the task's last attempt, then moves the message to the dead-letter queue itself", async () => {
    // Prepare
    const handler = await loadWorker();
    const message = await accepted({}, { status: 'RETRY', attempts: 4, countedAttempts: 4 });
    const record = feedbackRecord(message, { receiveCount: 5 });
    sesMock.on(SendEmailCommand).rejects(sesUnavailable());
    sqsMock.on(SendMessageCommand).resolves({ MessageId: 'dead-letter-1' });

    // Act
    const response = await handler(sqsEvent(record));

    // Assess: moved, so the item succeeds and the event source deletes it from the feedback queue.
    expect(response.batchItemFailures).toEqual([]);
    const stored = await recordOf(message.taskId);
    expect(stored).toMatchObject({
      status: 'FAILURE',
      attempts: 5,
      retriesExhausted: true,
      givenUpMessageId: record.messageId,
      error: unavailable,
    });
    expect(stored).not.toHaveProperty('countedAttempts');
    expect(sqsMock).toHaveReceivedCommandWith(SendMessageCommand, {
      QueueUrl: DEAD_LETTER_QUEUE_URL,
      MessageBody: record.body,
    });
    expect(sqsMock).not.toHaveReceivedCommand(ChangeMessageVisibilityCommand);
    expect(logLine('Task failed')).toMatchObject({
      taskId: message.taskId,
      deadLetter: true,
      error: unavailable,
    });
  });

  it("counts no attempt for SES's send rate: throttled at the limit, the task is deferred, not given up", async () => {
    // Prepare
    const handler = await loadWorker();
    const message = await accepted({}, { status: 'RETRY', attempts: 4, countedAttempts: 4 });
    const record = feedbackRecord(message, { receiveCount: 5 });
    sesMock.on(SendEmailCommand).rejects(sesThrottling());

    // Act
    const response = await handler(sqsEvent(record));

    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(await recordOf(message.taskId)).toMatchObject({
      status: 'RETRY',
      attempts: 5,
      countedAttempts: 4,
      lostAttempts: 0,
      error: throttled,
    });
    expect(sqsMock).not.toHaveReceivedCommand(SendMessageCommand);
  });

  it('defers the task for an hour, not a retry burst, when SES says the daily quota is used up', async () => {
    // Prepare
    const handler = await loadWorker();
    const message = await accepted();
    const record = feedbackRecord(message);
    sesMock.on(SendEmailCommand).rejects(sesDailyQuota());

    // Act
    const response = await handler(sqsEvent(record));

    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(await recordOf(message.taskId)).toMatchObject({
      status: 'RETRY',
      error: {
        type: 'DailyQuotaExceeded',
        message: 'The daily sending quota of SES is used up; the email is sent once it frees up.',
      },
    });
    expect(sqsMock).toHaveReceivedCommandWith(ChangeMessageVisibilityCommand, { VisibilityTimeout: 3600 });
  });

  it('fails at once, without a retry, when SES rejects the email (sandbox: unverified recipient)', async () => {
    // Prepare
    const handler = await loadWorker();
    const message = await accepted();
    sesMock.on(SendEmailCommand).rejects(sesRejected(message.email));
    const rejection = {
      type: 'MessageRejected',
      message:
        'Email address is not verified. The following identities failed the check in region US-EAST-1: <address>',
    };

    // Act
    const response = await handler(sqsEvent(feedbackRecord(message)));

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(sesMock).toHaveReceivedCommandTimes(SendEmailCommand, 1);
    const record = await recordOf(message.taskId);
    expect(record).toMatchObject({
      status: 'FAILURE',
      error: rejection,
      emails: { visitor: { status: 'REJECTED', error: rejection } },
    });
    expect(record).not.toHaveProperty('retriesExhausted');
    expect(sqsMock).not.toHaveReceivedCommand(ChangeMessageVisibilityCommand);
    expect(logLine('Task failed')).toMatchObject({ deadLetter: false });
  });

  it('retries on DynamoDB throttling of the claim without sending', async () => {
    // Prepare
    const handler = await loadWorker();
    const message = await accepted();
    const record = feedbackRecord(message);
    vi.spyOn(claimModule.TaskClaims.prototype, 'claim').mockRejectedValue(
      new ProvisionedThroughputExceededException({ message: 'Throughput exceeded', $metadata: {} }),
    );

    // Act
    const response = await handler(sqsEvent(record));

    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(sesMock).not.toHaveReceivedCommand(SendEmailCommand);
    expect(await recordOf(message.taskId)).toMatchObject({
      status: 'RETRY',
      attempts: 0,
      error: { type: 'ProvisionedThroughputExceededException' },
    });
    // First receive: cap 5 s, jitter 0.5 → 2.5, rounded to 3 s.
    expect(sqsMock).toHaveReceivedCommandWith(ChangeMessageVisibilityCommand, { VisibilityTimeout: 3 });
  });

  it('still reports the item failed when the RETRY write and the delay fail too', async () => {
    // Prepare
    const handler = await loadWorker();
    const message = await accepted();
    const record = feedbackRecord(message);
    sesMock.on(SendEmailCommand).rejects(sesThrottling());
    vi.spyOn(lifecycleModule.TaskLifecycle.prototype, 'retry').mockRejectedValue(new Error('socket hang up'));
    sqsMock.on(ChangeMessageVisibilityCommand).rejects(new Error('socket hang up'));

    // Act
    const response = await handler(sqsEvent(record));

    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
  });

  it('answers a batch whose every record failed with all of them, not with an invocation error', async () => {
    // Prepare
    const handler = await loadWorker();
    const records = [feedbackRecord(await accepted()), feedbackRecord(await accepted())];
    sesMock.on(SendEmailCommand).rejects(sesThrottling());

    // Act
    const response = await handler(sqsEvent(...records));

    // Assess
    expect(response.batchItemFailures).toHaveLength(2);
    expect(response.batchItemFailures).toEqual(
      expect.arrayContaining(records.map((record) => ({ itemIdentifier: record.messageId }))),
    );
  });
});

describe('send-feedback-email: a task given up (its attempts or its receives used up)', () => {
  /** A task whose every attempt was claimed and never finished: its last worker's lease ran out. */
  const lostEveryTime = {
    status: 'STARTED' as const,
    attempts: MAX_ATTEMPTS,
    countedAttempts: MAX_ATTEMPTS,
    lostAttempts: MAX_ATTEMPTS,
    startedAt: NOW.toISOString(),
    leaseExpiresAt: NOW.getTime() - 1000,
  };
  const workerLost = {
    type: 'WorkerLost',
    message: `The worker stopped ${MAX_ATTEMPTS} times without finishing (worker lost)`,
  };

  it('writes FAILURE (worker lost) before moving the message to the dead-letter queue, and sends nothing', async () => {
    // Prepare
    const handler = await loadWorker();
    const message = await accepted({}, lostEveryTime);
    const record = feedbackRecord(message, { receiveCount: MAX_ATTEMPTS + 1 });
    let verdictWhenMoved: unknown;
    sqsMock.on(SendMessageCommand).callsFake(async () => {
      verdictWhenMoved = (await recordOf(message.taskId)).status;
      return { MessageId: 'dead-letter-1' };
    });

    // Act
    const response = await handler(sqsEvent(record));

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(verdictWhenMoved).toBe('FAILURE');
    const stored = await recordOf(message.taskId);
    expect(stored).toMatchObject({
      status: 'FAILURE',
      attempts: MAX_ATTEMPTS,
      error: workerLost,
      retriesExhausted: true,
      givenUpMessageId: record.messageId,
      finishedAt: NOW.toISOString(),
    });
    expect(stored).not.toHaveProperty('leaseExpiresAt');
    expect(sesMock).not.toHaveReceivedCommand(SendEmailCommand);
    expect(sqsMock).toHaveReceivedCommandWith(SendMessageCommand, {
      QueueUrl: DEAD_LETTER_QUEUE_URL,
      MessageBody: record.body,
    });
    expect(logs.metrics().map((metric) => metric.name)).toEqual(
      expect.arrayContaining(['EmailFailed', 'WorkerLost']),
    );
  });

  it('moves the message again, without a second verdict, when its move was cut short', async () => {
    // Prepare: the verdict was written, then the move to the dead-letter queue failed.
    const handler = await loadWorker();
    const message = await accepted({}, lostEveryTime);
    const record = feedbackRecord(message, { receiveCount: MAX_ATTEMPTS + 1 });
    sqsMock.on(SendMessageCommand).rejectsOnce(new Error('socket hang up')).resolves({ MessageId: 'dl-2' });
    const first = await handler(sqsEvent(record));
    const failedAt = (await recordOf(message.taskId)).finishedAt;
    logs.clear();
    vi.setSystemTime(NOW.getTime() + 60_000);

    // Act: the same message comes back after its visibility timeout.
    const again = await handler(
      sqsEvent({ ...record, attributes: { ...record.attributes, ApproximateReceiveCount: '7' } }),
    );

    // Assess
    expect(first.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(again.batchItemFailures).toEqual([]);
    expect(sqsMock).toHaveReceivedCommandTimes(SendMessageCommand, 2);
    expect(await recordOf(message.taskId)).toMatchObject({
      status: 'FAILURE',
      error: workerLost,
      finishedAt: failedAt,
    });
    expect(logLine('Task failed')).toBeUndefined();
    expect(sesMock).not.toHaveReceivedCommand(SendEmailCommand);
  });

  it('leaves the message where it is when the verdict could not be written', async () => {
    // Prepare
    const handler = await loadWorker();
    const message = await accepted({}, lostEveryTime);
    const record = feedbackRecord(message, { receiveCount: MAX_ATTEMPTS + 1 });
    vi.spyOn(lifecycleModule.TaskLifecycle.prototype, 'giveUp').mockRejectedValue(new Error('table down'));

    // Act
    const response = await handler(sqsEvent(record));

    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(sqsMock).not.toHaveReceivedCommand(SendMessageCommand);
    expect(await recordOf(message.taskId)).toMatchObject({ status: 'STARTED' });
  });

  it('does no work on the last receives: a RETRY is given up with its last error', async () => {
    // Prepare
    const handler = await loadWorker();
    const message = await accepted(
      {},
      { status: 'RETRY', attempts: 2, countedAttempts: 0, error: throttled },
    );
    const record = feedbackRecord(message, { receiveCount: LAST_WORK_RECEIVE + 1 });

    // Act
    const response = await handler(sqsEvent(record));

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(sesMock).not.toHaveReceivedCommand(SendEmailCommand);
    expect(await recordOf(message.taskId)).toMatchObject({
      status: 'FAILURE',
      attempts: 2,
      error: throttled,
      retriesExhausted: true,
    });
    expect(sqsMock).toHaveReceivedCommandWith(SendMessageCommand, { QueueUrl: DEAD_LETTER_QUEUE_URL });
  });

  it('on the last receives, waits for a live holder instead of giving its task up', async () => {
    // Prepare
    const handler = await loadWorker();
    const message = await accepted({}, { ...lostEveryTime, leaseExpiresAt: NOW.getTime() + 30_000 });
    const record = feedbackRecord(message, { receiveCount: LAST_WORK_RECEIVE + 1 });

    // Act
    const response = await handler(sqsEvent(record));

    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(await recordOf(message.taskId)).toMatchObject({ status: 'STARTED' });
    expect(sqsMock).toHaveReceivedCommandWith(ChangeMessageVisibilityCommand, { VisibilityTimeout: 31 });
    expect(sqsMock).not.toHaveReceivedCommand(SendMessageCommand);
  });

  it('spends no attempt while another worker holds the task, however often the message comes back', async () => {
    // Prepare
    const handler = await loadWorker();
    const message = await accepted(
      {},
      { ...lostEveryTime, attempts: 1, countedAttempts: 1, leaseExpiresAt: NOW.getTime() + 5000 },
    );

    // Act
    for (let receive = 1; receive <= LAST_WORK_RECEIVE; receive++)
      await handler(sqsEvent(feedbackRecord(message, { receiveCount: receive })));

    // Assess
    expect(await recordOf(message.taskId)).toMatchObject({
      status: 'STARTED',
      attempts: 1,
      countedAttempts: 1,
    });
  });

  it('sends a redriven task once: its copy from the dead-letter queue claims it with a fresh count', async () => {
    // Prepare
    const handler = await loadWorker();
    const message = await accepted(
      {},
      {
        status: 'FAILURE',
        attempts: 5,
        retriesExhausted: true,
        givenUpMessageId: 'given-up',
        error: workerLost,
      },
    );

    // Act
    const response = await handler(sqsEvent(feedbackRecord(message, { messageId: 'redriven' })));

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(sesMock).toHaveReceivedCommandTimes(SendEmailCommand, 1);
    const stored = await recordOf(message.taskId);
    expect(stored).toMatchObject({ status: 'SUCCESS', attempts: 6 });
    for (const gone of ['error', 'retriesExhausted', 'givenUpMessageId', 'countedAttempts'])
      expect(stored).not.toHaveProperty(gone);
  });
});

describe('send-feedback-email: a batch', () => {
  it('fails only the record that failed', async () => {
    // Prepare
    const handler = await loadWorker();
    const good = await accepted({ email: 'good@example.com' });
    const bad = await accepted({ email: 'bad@example.com' });
    const badRecord = feedbackRecord(bad);
    sesMock
      .on(SendEmailCommand, { Destination: { ToAddresses: ['bad@example.com'] } })
      .rejects(sesThrottling());

    // Act
    const response = await handler(sqsEvent(feedbackRecord(good), badRecord));

    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: badRecord.messageId }]);
    expect(await recordOf(good.taskId)).toMatchObject({ status: 'SUCCESS' });
    expect(await recordOf(bad.taskId)).toMatchObject({ status: 'RETRY' });
  });

  it('drops a poison message without retrying it and without sinking the batch', async () => {
    // Prepare
    const handler = await loadWorker();
    const good = await accepted();

    // Act
    const response = await handler(
      sqsEvent(sqsRecord('not json {'), feedbackRecord(good), sqsRecord('[1, 2]')),
    );

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(sesMock).toHaveReceivedCommandTimes(SendEmailCommand, 1);
    expect(logs.metrics().map((metric) => metric.name)).toContain('PoisonMessage');
  });

  it.each([
    ['a header injection in the address', { email: 'visitor@example.com\r\nBcc: victim@example.com' }],
    ['an address the submit refuses', { email: 'visitor@localhost' }],
    ['a lone surrogate in the message', { message: 'x \ud800' }],
    ['a lone surrogate in the address', { email: 'visit\udc00or@example.com' }],
    ['a name over 100 characters', { name: 'n'.repeat(101) }],
    ['a blank name (the submit leaves it out)', { name: '' }],
  ])(
    'marks the task of a message with %s FAILURE (invalid payload) and sends nothing',
    async (_label, fields) => {
      // Prepare
      const handler = await loadWorker();
      const message = await accepted(fields);

      // Act
      const response = await handler(sqsEvent(feedbackRecord(message)));

      // Assess
      expect(response.batchItemFailures).toEqual([]);
      expect(sesMock).not.toHaveReceivedCommand(SendEmailCommand);
      expect(await recordOf(message.taskId)).toMatchObject({
        status: 'FAILURE',
        error: { type: 'InvalidPayload', message: 'The queue message is not a valid feedback message' },
      });
    },
  );

  it("sends another task's email with only its own fields after a message with a lone surrogate", async () => {
    // Prepare
    const handler = await loadWorker();
    const bad = await accepted({ email: 'attacker@example.com', message: 'x \ud800' });
    const good = await accepted({ email: 'visitor@example.com', message: 'Legitimate' });

    // Act
    await handler(sqsEvent(feedbackRecord(bad), feedbackRecord(good)));

    // Assess
    expect(sesMock).toHaveReceivedCommandTimes(SendEmailCommand, 1);
    expect(sesMock.commandCalls(SendEmailCommand)[0]?.args[0].input).toMatchObject({
      Destination: { ToAddresses: ['visitor@example.com'] },
      Message: { Body: { Text: { Data: '\tLegitimate\n\nThank you!' } } },
    });
  });

  it.each([
    ['a young message', 0],
    ['an old message', 600_000],
  ])('drops %s whose task record does not exist, never retried, never dead-lettered', async (_label, age) => {
    // Prepare
    const handler = await loadWorker();
    const message = feedbackMessage();

    // Act
    const response = await handler(
      sqsEvent(feedbackRecord(message, { sentAt: NOW.getTime() - age, receiveCount: 5 })),
    );

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(sesMock).not.toHaveReceivedCommand(SendEmailCommand);
    expect(sqsMock).not.toHaveReceivedCommand(ChangeMessageVisibilityCommand);
    expect(await table.get(message.taskId)).toBeUndefined();
    expect(logs.metrics().map((metric) => metric.name)).toContain('OrphanMessageDropped');
    expect(logLine('No task record; message dropped and nothing sent')).toMatchObject({
      taskId: message.taskId,
    });
  });
});

describe('send-feedback-email: the owner notification (NOTIFY_EMAIL)', () => {
  it('sends the owner one email with the visitor as Reply-To', async () => {
    // Prepare
    const handler = await loadWorker({ NOTIFY_EMAIL: OWNER });
    const message = await accepted({ message: 'Love it' });

    // Act
    const response = await handler(sqsEvent(feedbackRecord(message)));

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(sesMock).toHaveReceivedCommandTimes(SendEmailCommand, 2);
    expect(sesMock).toHaveReceivedCommandWith(SendEmailCommand, {
      Source: SENDER,
      Destination: { ToAddresses: [OWNER] },
      ReplyToAddresses: ['visitor@example.com'],
      Message: {
        Subject: { Data: 'New feedback from visitor@example.com', Charset: 'UTF-8' },
        Body: { Text: { Data: 'Love it', Charset: 'UTF-8' } },
      },
    });
    expect(await recordOf(message.taskId)).toMatchObject({
      status: 'SUCCESS',
      emails: { visitor: { status: 'SENT' }, owner: { status: 'SENT' } },
    });
  });

  it('greets the visitor by the name they gave, and shows it to the owner', async () => {
    // Prepare
    const handler = await loadWorker({ NOTIFY_EMAIL: OWNER });
    const message = await accepted({ name: 'Ada', message: 'Love it' });

    // Act
    await handler(sqsEvent(feedbackRecord(message)));

    // Assess
    expect(sesMock).toHaveReceivedCommandWith(SendEmailCommand, {
      Destination: { ToAddresses: ['visitor@example.com'] },
      Message: expect.objectContaining({
        Body: { Text: { Data: 'Hi Ada,\n\n\tLove it\n\nThank you!', Charset: 'UTF-8' } },
      }),
    });
    expect(sesMock).toHaveReceivedCommandWith(SendEmailCommand, {
      Destination: { ToAddresses: [OWNER] },
      Message: expect.objectContaining({
        Body: { Text: { Data: 'Name: Ada\n\nLove it', Charset: 'UTF-8' } },
      }),
    });
  });

  it('sends only the visitor email without NOTIFY_EMAIL', async () => {
    // Prepare
    const handler = await loadWorker();
    const message = await accepted();

    // Act
    await handler(sqsEvent(feedbackRecord(message)));

    // Assess
    expect(sesMock).toHaveReceivedCommandTimes(SendEmailCommand, 1);
    expect(await recordOf(message.taskId)).not.toHaveProperty('emails.owner');
  });

  it('retries a failed owner email without sending the visitor email again', async () => {
    // Prepare
    const handler = await loadWorker({ NOTIFY_EMAIL: OWNER });
    const message = await accepted();
    sesMock
      .on(SendEmailCommand, { Destination: { ToAddresses: [OWNER] } })
      .rejectsOnce(sesThrottling())
      .resolves({ MessageId: 'ses-owner' });
    const first = feedbackRecord(message);

    // Act
    const firstResponse = await handler(sqsEvent(first));
    const afterFirst = await recordOf(message.taskId);
    const secondResponse = await handler(sqsEvent(feedbackRecord(message, { receiveCount: 2 })));

    // Assess
    expect(firstResponse.batchItemFailures).toEqual([{ itemIdentifier: first.messageId }]);
    expect(afterFirst).toMatchObject({ status: 'RETRY', emails: { visitor: { status: 'SENT' } } });
    expect(secondResponse.batchItemFailures).toEqual([]);
    const visitorSends = sesMock
      .commandCalls(SendEmailCommand)
      .filter((call) => call.args[0].input.Destination?.ToAddresses?.[0] === 'visitor@example.com');
    expect(visitorSends).toHaveLength(1);
    expect(await recordOf(message.taskId)).toMatchObject({
      status: 'SUCCESS',
      attempts: 2,
      emails: { visitor: { status: 'SENT' }, owner: { status: 'SENT', messageId: 'ses-owner' } },
    });
  });

  it('still succeeds the visitor task when SES rejects the owner email, recording the rejection', async () => {
    // Prepare
    const handler = await loadWorker({ NOTIFY_EMAIL: OWNER });
    const message = await accepted();
    sesMock.on(SendEmailCommand, { Destination: { ToAddresses: [OWNER] } }).rejects(sesRejected(OWNER));

    // Act
    const response = await handler(sqsEvent(feedbackRecord(message)));

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(await recordOf(message.taskId)).toMatchObject({
      status: 'SUCCESS',
      emails: { visitor: { status: 'SENT' }, owner: { status: 'REJECTED' } },
    });
  });
});

describe("send-feedback-email: SES's configuration set and the autoresponse limit", () => {
  const KEY = 'test-hash-key';
  const limited = { NOTIFY_EMAIL: OWNER, AUTORESPONSE_HASH_KEY: KEY, AUTORESPONSE_LIMIT: '3' };
  const visitorSends = (address: string) =>
    sesMock
      .commandCalls(SendEmailCommand)
      .filter((call) => call.args[0].input.Destination?.ToAddresses?.[0] === address);
  const limitCounter = (address: string) => table.get(limitKey(KEY, address));

  it('sends every email through the configuration set, tagged with its task and recipient, never the address', async () => {
    // Prepare
    const handler = await loadWorker({ NOTIFY_EMAIL: OWNER, SES_CONFIGURATION_SET: 'feedback-emails' });
    const message = await accepted();

    // Act
    await handler(sqsEvent(feedbackRecord(message)));

    // Assess
    const emails: [string, string][] = [
      ['visitor@example.com', 'visitor'],
      [OWNER, 'owner'],
    ];
    for (const [address, recipient] of emails) {
      expect(sesMock).toHaveReceivedCommandWith(SendEmailCommand, {
        Destination: { ToAddresses: [address] },
        ConfigurationSetName: 'feedback-emails',
        Tags: [
          { Name: 'taskId', Value: message.taskId },
          { Name: 'recipient', Value: recipient },
        ],
      });
    }
  });

  it('leaves the configuration set out without SES_CONFIGURATION_SET', async () => {
    // Prepare
    const handler = await loadWorker({ SES_CONFIGURATION_SET: undefined });
    const message = await accepted();

    // Act
    await handler(sqsEvent(feedbackRecord(message)));

    // Assess
    const input = sesMock.commandCalls(SendEmailCommand)[0]?.args[0].input;
    expect(input).not.toHaveProperty('ConfigurationSetName');
    expect(input?.Tags).toEqual([
      { Name: 'taskId', Value: message.taskId },
      { Name: 'recipient', Value: 'visitor' },
    ]);
  });

  it('skips the visitor email of the 4th task for one address in a day, still notifying the owner', async () => {
    // Prepare
    const countersToday = () =>
      new DailyCounterStore({ dynamodb: table.dynamodb, tableName: table.tableName }).read(utcDay(NOW));
    const skippedBefore = (await countersToday()).skipped;
    const handler = await loadWorker(limited);
    const address = 'Target@Example.com';
    const tasks = [];
    for (let n = 0; n < 4; n++)
      tasks.push(await accepted({ email: n === 3 ? 'target@example.com' : address }));

    // Act
    for (const task of tasks) await handler(sqsEvent(feedbackRecord(task)));

    // Assess
    expect(visitorSends(address).length + visitorSends('target@example.com').length).toBe(3);
    expect(visitorSends(OWNER)).toHaveLength(4);
    const fourth = await recordOf(tasks[3]?.taskId ?? '');
    expect(fourth).toMatchObject({
      status: 'SUCCESS',
      emails: {
        visitor: { status: 'SKIPPED', detail: 'autoresponse limit', at: NOW.toISOString() },
        owner: { status: 'SENT' },
      },
    });
    expect(fourth).not.toHaveProperty('sesMessageId');
    expect(JSON.stringify(fourth).toLowerCase()).not.toContain('target@');
    expect(await limitCounter(address)).toMatchObject({ autoresponses: 3 });
    expect((await countersToday()).skipped - skippedBefore).toBe(1);
    expect(logLine('Visitor email skipped: its address had its autoresponses for the day')).toMatchObject({
      taskId: tasks[3]?.taskId,
    });
    expect(logs.text().toLowerCase()).not.toContain('target@');
  });

  it('takes no send slot for a skipped visitor email, so that it does not slow the other emails', async () => {
    // Prepare: the worker's limiter, counting the slots it hands out.
    const slots = vi.fn();
    vi.doMock('../../functions/email/send-rate.ts', async (importOriginal) => {
      const original = await importOriginal<typeof import('../../functions/email/send-rate.ts')>();
      return {
        ...original,
        createSendRateLimiter: (...args: Parameters<typeof original.createSendRateLimiter>) => {
          const limiter = original.createSendRateLimiter(...args);
          return {
            reserve: () => {
              slots();
              return limiter.reserve();
            },
          };
        },
      };
    });
    const handler = await loadWorker(limited).finally(() =>
      vi.doUnmock('../../functions/email/send-rate.ts'),
    );
    const tasks = [];
    for (let n = 0; n < 5; n++) tasks.push(await accepted({ email: 'slots@example.com' }));

    // Act
    await handler(sqsEvent(...tasks.map((task) => feedbackRecord(task))));

    // Assess: 3 autoresponses and 5 notifications, one slot each.
    expect(visitorSends('slots@example.com')).toHaveLength(3);
    expect(slots).toHaveBeenCalledTimes(8);
  });

  it('does not take the limit again when a task whose visitor email was SKIPPED is retried', async () => {
    // Prepare: the address had its 3 autoresponses; the owner's notification of the 4th is throttled once.
    const handler = await loadWorker(limited);
    const address = 'skipped@example.com';
    const fourth = await accepted({ email: address });
    sesMock
      .on(SendEmailCommand, {
        Tags: [
          { Name: 'taskId', Value: fourth.taskId },
          { Name: 'recipient', Value: 'owner' },
        ],
      })
      .rejectsOnce(sesThrottling())
      .resolves({ MessageId: 'ses-owner' });
    for (let n = 0; n < 3; n++) await handler(sqsEvent(feedbackRecord(await accepted({ email: address }))));
    await handler(sqsEvent(feedbackRecord(fourth)));
    const afterFirst = await recordOf(fourth.taskId);
    // A day later the address's window has ended: a new count would allow the email.
    vi.setSystemTime(new Date(NOW.getTime() + 25 * 3600 * 1000));

    // Act
    await handler(sqsEvent(feedbackRecord(fourth, { receiveCount: 2 })));

    // Assess
    expect(afterFirst).toMatchObject({ status: 'RETRY', emails: { visitor: { status: 'SKIPPED' } } });
    expect(visitorSends(address)).toHaveLength(3);
    expect(await recordOf(fourth.taskId)).toMatchObject({
      status: 'SUCCESS',
      attempts: 2,
      emails: { visitor: { status: 'SKIPPED' }, owner: { status: 'SENT', messageId: 'ses-owner' } },
    });
    expect(await limitCounter(address)).toMatchObject({ autoresponses: 3 });
  });

  it('counts a visitor email once when its send is retried', async () => {
    // Prepare
    const handler = await loadWorker(limited);
    const address = 'retried-once@example.com';
    const message = await accepted({ email: address });
    sesMock
      .on(SendEmailCommand, { Destination: { ToAddresses: [address] } })
      .rejectsOnce(sesThrottling())
      .resolves({ MessageId: 'ses-visitor' });

    // Act
    await handler(sqsEvent(feedbackRecord(message)));
    await handler(sqsEvent(feedbackRecord(message, { receiveCount: 2 })));

    // Assess
    expect(visitorSends(address)).toHaveLength(2);
    expect(await recordOf(message.taskId)).toMatchObject({
      status: 'SUCCESS',
      autoresponseCounted: true,
      emails: { visitor: { status: 'SENT', messageId: 'ses-visitor' } },
    });
    expect(await limitCounter(address)).toMatchObject({ autoresponses: 1 });
  });

  it('applies no limit without AUTORESPONSE_HASH_KEY', async () => {
    // Prepare
    const handler = await loadWorker({ AUTORESPONSE_HASH_KEY: undefined });
    const address = 'unlimited@example.com';

    // Act
    for (let n = 0; n < 5; n++) await handler(sqsEvent(feedbackRecord(await accepted({ email: address }))));

    // Assess
    expect(visitorSends(address)).toHaveLength(5);
  });
});

describe("send-feedback-email: the autoresponses' own configuration set and its breaker", () => {
  const sets = {
    NOTIFY_EMAIL: OWNER,
    SES_CONFIGURATION_SET: 'feedback-emails',
    SES_AUTORESPONSE_CONFIGURATION_SET: 'feedback-autoresponses',
  };
  const sendingPaused = () =>
    new ConfigurationSetSendingPausedException({
      message: 'Email sending is disabled for configuration set feedback-autoresponses.',
      ConfigurationSetName: 'feedback-autoresponses',
      $metadata: { httpStatusCode: 400 },
    });

  it("sends the visitor's email through the autoresponses' set and the owner's through the owner's", async () => {
    // Prepare
    const handler = await loadWorker(sets);
    const message = await accepted();

    // Act
    await handler(sqsEvent(feedbackRecord(message)));

    // Assess
    expect(sesMock).toHaveReceivedCommandWith(SendEmailCommand, {
      Destination: { ToAddresses: ['visitor@example.com'] },
      ConfigurationSetName: 'feedback-autoresponses',
    });
    expect(sesMock).toHaveReceivedCommandWith(SendEmailCommand, {
      Destination: { ToAddresses: [OWNER] },
      ConfigurationSetName: 'feedback-emails',
    });
  });

  it('records the visitor email PAUSED while the set is paused: the task a SUCCESS at once, the owner notified, nothing retried', async () => {
    // Prepare
    const handler = await loadWorker(sets);
    const message = await accepted();
    sesMock.on(SendEmailCommand, { ConfigurationSetName: 'feedback-autoresponses' }).rejects(sendingPaused());
    const counters = new DailyCounterStore({ dynamodb: table.dynamodb, tableName: table.tableName });
    const pausedBefore = (await counters.read(utcDay(NOW))).paused;

    // Act
    const response = await handler(sqsEvent(feedbackRecord(message)));

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(sqsMock).not.toHaveReceivedCommand(ChangeMessageVisibilityCommand);
    const record = await recordOf(message.taskId);
    expect(record).toMatchObject({
      status: 'SUCCESS',
      attempts: 1,
      emails: {
        visitor: { status: 'PAUSED', detail: 'autoresponse configuration set paused' },
        owner: { status: 'SENT', messageId: 'ses-message-1' },
      },
    });
    expect(record).not.toHaveProperty('error');
    expect((await counters.read(utcDay(NOW))).paused - pausedBefore).toBe(1);
    expect(logs.metrics().map((metric) => metric.name)).toContain('AutoresponsePaused');
  });

  it("treats a paused owner's set as any other failure of the owner's email (the breaker never pauses it)", async () => {
    // Prepare
    const handler = await loadWorker(sets);
    const message = await accepted();
    sesMock.on(SendEmailCommand, { ConfigurationSetName: 'feedback-emails' }).rejects(sendingPaused());

    // Act
    const response = await handler(sqsEvent(feedbackRecord(message)));

    // Assess
    expect(response.batchItemFailures).toHaveLength(1);
    expect(await recordOf(message.taskId)).toMatchObject({
      status: 'RETRY',
      emails: { visitor: { status: 'SENT' } },
    });
  });
});

describe('send-feedback-email: counters and logs', () => {
  it('counts the task accepted on its creation day, sent on the day it succeeded, and a retry', async () => {
    // Prepare
    vi.setSystemTime(new Date('2025-07-02T00:00:10.000Z'));
    const handler = await loadWorker();
    const message = await accepted({ createdAt: '2025-07-01T23:59:59.000Z' });
    const retried = await accepted({ email: 'retried@example.com', createdAt: '2025-07-02T00:00:05.000Z' });
    sesMock
      .on(SendEmailCommand, { Destination: { ToAddresses: ['retried@example.com'] } })
      .rejects(sesThrottling());
    const counters = new DailyCounterStore({ dynamodb: table.dynamodb, tableName: table.tableName });

    // Act
    await handler(sqsEvent(feedbackRecord(message), feedbackRecord(retried)));

    // Assess
    expect(await counters.read('2025-07-01')).toEqual({
      ...NO_COUNTS,
      accepted: 1,
      sent: 0,
      retried: 0,
      failed: 0,
    });
    expect(await counters.read('2025-07-02')).toEqual({
      ...NO_COUNTS,
      accepted: 1,
      sent: 1,
      retried: 1,
      failed: 0,
    });
  });

  it('logs the task id and metrics, never the address or the message', async () => {
    // Prepare
    const handler = await loadWorker({ NOTIFY_EMAIL: OWNER });
    const message = await accepted({ email: 'private.person@example.org', message: 'my secret words' });
    const rejected = await accepted({ email: 'other.person@example.org', message: 'more secret words' });
    sesMock
      .on(SendEmailCommand, { Destination: { ToAddresses: ['other.person@example.org'] } })
      .rejects(sesRejected('other.person@example.org'));

    // Act
    await handler(sqsEvent(feedbackRecord(message), feedbackRecord(rejected), sqsRecord('{"email":"x@y.z"')));

    // Assess
    const text = logs.text();
    expect(text).toContain(message.taskId);
    expect(logs.metrics().map((metric) => metric.name)).toEqual(
      expect.arrayContaining(['EmailSent', 'TaskDuration', 'EmailFailed']),
    );
    for (const secret of ['private.person', 'other.person', 'secret words', 'x@y.z', OWNER]) {
      expect(text).not.toContain(secret);
    }
  });
});
