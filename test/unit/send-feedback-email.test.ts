import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  ProvisionedThroughputExceededException,
  UpdateItemCommand,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import { MessageRejected, SESClient, SESServiceException, SendEmailCommand } from '@aws-sdk/client-ses';
import { ChangeMessageVisibilityCommand, SQSClient } from '@aws-sdk/client-sqs';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { TaskRecord } from '../../functions/commons/task-record';
import { feedbackMessage, feedbackRecord, lambdaContext, sqsEvent, sqsRecord } from '../helpers/sqs-event';

const TABLE = 'Tasks';
const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/FeedbackQueue';
const SENDER = 'support@example.com';
const OWNER = 'owner@example.com';
const NOW = new Date('2025-06-01T12:00:00.000Z');

const ddb = mockClient(DynamoDBClient);
const sesMock = mockClient(SESClient);
const sqsMock = mockClient(SQSClient);

type Handler = (event: SQSEvent) => Promise<SQSBatchResponse>;

/** Imports a fresh worker: it reads its environment once, at load. */
async function loadWorker(extraEnv: Record<string, string> = {}): Promise<Handler> {
  vi.resetModules();
  const variables: Record<string, string> = {
    TASKS_TABLE_NAME: TABLE,
    FEEDBACK_QUEUE_URL: QUEUE_URL,
    SENDER_EMAIL: SENDER,
    FEEDBACK_WORK_SECONDS: '0',
    MAX_RECEIVE_COUNT: '5',
    SES_MAX_SEND_RATE: '100000',
    TASK_LEASE_SECONDS: '60',
    NOTIFY_EMAIL: '',
    POWERTOOLS_LOG_LEVEL: 'INFO',
    ...extraEnv,
  };
  for (const [name, value] of Object.entries(variables)) vi.stubEnv(name, value);
  const { handler } = await import('../../functions/send-feedback-email');
  return (event) => handler(event, lambdaContext());
}

function storedRecord(taskId: string, overrides: Partial<TaskRecord> = {}): TaskRecord {
  return {
    taskId,
    status: 'STARTED',
    createdAt: '2025-05-31T23:59:00.000Z',
    attempts: 1,
    expiresAt: 1_800_000_000,
    emails: {},
    ...overrides,
  };
}

const conditionFailed = () =>
  new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
const sesThrottling = () =>
  new SESServiceException({
    name: 'Throttling',
    message: 'Maximum sending rate exceeded.',
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
  });
const sesRejected = (address: string) =>
  new MessageRejected({
    message: `Email address is not verified. The following identities failed the check in region US-EAST-1: ${address}`,
    $metadata: { httpStatusCode: 400 },
  });

/** The claim (the only UpdateItem that returns ALL_NEW) succeeds with this record. */
function claimReturns(record: TaskRecord): void {
  ddb.on(UpdateItemCommand, { ReturnValues: 'ALL_NEW' }).resolves({ Attributes: marshall(record) });
}

/** The claim's condition fails; the record then reads as `current` (none: missing). */
function claimFinds(current: TaskRecord | undefined): void {
  ddb.on(UpdateItemCommand, { ReturnValues: 'ALL_NEW' }).rejects(conditionFailed());
  ddb.on(GetItemCommand).resolves(current === undefined ? {} : { Item: marshall(current) });
}

function updates(): UpdateItemCommandInput[] {
  return ddb.commandCalls(UpdateItemCommand).map((call) => call.args[0].input);
}

function statusWrites(status: string): UpdateItemCommandInput[] {
  return updates().filter((input) =>
    input.UpdateExpression?.startsWith(`SET #status = :${status.toLowerCase()}`),
  );
}

function counterWrites(): string[] {
  return updates()
    .filter((input) => input.Key?.taskId?.S?.startsWith('stats#'))
    .map((input) => `${input.Key?.taskId?.S} ${input.ExpressionAttributeNames?.['#counter']}`);
}

let output: string[];

beforeEach(() => {
  ddb.reset();
  sesMock.reset();
  sqsMock.reset();
  ddb.on(UpdateItemCommand).resolves({});
  sesMock.on(SendEmailCommand).resolves({ MessageId: 'ses-message-1' });
  sqsMock.on(ChangeMessageVisibilityCommand).resolves({});
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(NOW);
  output = [];
  // Logs and EMF metrics (warnings and errors go to stderr): captured, so that tests can read them.
  for (const stream of [process.stdout, process.stderr]) {
    vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      output.push(String(chunk));
      return true;
    });
  }
  vi.spyOn(Math, 'random').mockReturnValue(0.5);
});

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

describe('send-feedback-email: the visitor email', () => {
  it('claims the task, sends the seed email exactly, records the message id and SUCCESS', async () => {
    // Prepare
    const handler = await loadWorker();
    const message = feedbackMessage({ message: 'Héllo\nworld' });
    claimReturns(storedRecord(message.taskId));

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
    expect(ddb).toHaveReceivedCommandWith(UpdateItemCommand, {
      TableName: TABLE,
      Key: { taskId: { S: message.taskId } },
      ReturnValues: 'ALL_NEW',
      ExpressionAttributeValues: expect.objectContaining({
        ':started': { S: 'STARTED' },
        ':leaseUntil': { N: String(NOW.getTime() + 60_000) },
      }),
    });
    expect(ddb).toHaveReceivedCommandWith(UpdateItemCommand, {
      UpdateExpression: 'SET #emails.#visitor = :state, #updatedAt = :nowIso, #sesMessageId = :messageId',
      ExpressionAttributeValues: expect.objectContaining({ ':messageId': { S: 'ses-message-1' } }),
    });
    const [success] = statusWrites('SUCCESS');
    expect(success?.ConditionExpression).toBe('#status = :started AND #attempts = :attempts');
    expect(success?.ExpressionAttributeValues?.[':attempts']).toEqual({ N: '1' });
  });

  it('sends the email of a task reclaimed after an expired lease once', async () => {
    // Prepare
    const handler = await loadWorker();
    const message = feedbackMessage();
    claimReturns(storedRecord(message.taskId, { attempts: 2 }));

    // Act
    const response = await handler(sqsEvent(feedbackRecord(message, { receiveCount: 2 })));

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(sesMock).toHaveReceivedCommandTimes(SendEmailCommand, 1);
    expect(statusWrites('SUCCESS')[0]?.ExpressionAttributeValues?.[':attempts']).toEqual({ N: '2' });
  });

  it('renews the lease right before sending', async () => {
    // Prepare
    const handler = await loadWorker();
    const message = feedbackMessage();
    claimReturns(storedRecord(message.taskId));

    // Act
    await handler(sqsEvent(feedbackRecord(message)));

    // Assess
    const expressions = updates().map((input) => input.UpdateExpression);
    const renewal = expressions.indexOf('SET #leaseExpiresAt = :leaseUntil');
    expect(renewal).toBeGreaterThan(0);
    expect(
      expressions.findIndex((expression) => expression?.startsWith('SET #emails.#visitor')),
    ).toBeGreaterThan(renewal);
  });
});

describe('send-feedback-email: redelivery and concurrent holders', () => {
  it('sends nothing for a message of a task already SUCCESS', async () => {
    // Prepare
    const handler = await loadWorker();
    const message = feedbackMessage();
    claimFinds(storedRecord(message.taskId, { status: 'SUCCESS' }));

    // Act
    const response = await handler(sqsEvent(feedbackRecord(message, { receiveCount: 2 })));

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(sesMock).not.toHaveReceivedCommand(SendEmailCommand);
    expect(ddb).toHaveReceivedCommandWith(GetItemCommand, {
      Key: { taskId: { S: message.taskId } },
      ConsistentRead: true,
    });
  });

  it('fails the item without sending while another worker holds a live lease', async () => {
    // Prepare
    const handler = await loadWorker();
    const message = feedbackMessage();
    const record = feedbackRecord(message);
    claimFinds(storedRecord(message.taskId, { status: 'STARTED', leaseExpiresAt: NOW.getTime() + 30_000 }));

    // Act
    const response = await handler(sqsEvent(record));

    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(sesMock).not.toHaveReceivedCommand(SendEmailCommand);
    expect(statusWrites('RETRY')).toEqual([]);
  });

  it('does not send when the lease was lost before the SES call', async () => {
    // Prepare
    const handler = await loadWorker();
    const message = feedbackMessage();
    const record = feedbackRecord(message);
    claimReturns(storedRecord(message.taskId));
    ddb
      .on(UpdateItemCommand, { UpdateExpression: 'SET #leaseExpiresAt = :leaseUntil' })
      .rejects(conditionFailed());

    // Act
    const response = await handler(sqsEvent(record));

    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(sesMock).not.toHaveReceivedCommand(SendEmailCommand);
    expect(statusWrites('RETRY')).toEqual([]);
  });

  it('sends once when the same task arrives twice in one batch', async () => {
    // Prepare
    const handler = await loadWorker();
    const message = feedbackMessage();
    const first = feedbackRecord(message);
    const second = feedbackRecord(message);
    ddb
      .on(UpdateItemCommand, { ReturnValues: 'ALL_NEW' })
      .resolvesOnce({ Attributes: marshall(storedRecord(message.taskId)) })
      .rejects(conditionFailed());
    ddb.on(GetItemCommand).resolves({
      Item: marshall(storedRecord(message.taskId, { leaseExpiresAt: NOW.getTime() + 60_000 })),
    });

    // Act
    const response = await handler(sqsEvent(first, second));

    // Assess
    expect(sesMock).toHaveReceivedCommandTimes(SendEmailCommand, 1);
    expect(response.batchItemFailures).toHaveLength(1);
  });
});

describe('send-feedback-email: retries and failures', () => {
  it('puts the task in RETRY and delays the message on SES throttling', async () => {
    // Prepare
    const handler = await loadWorker();
    const message = feedbackMessage();
    const record = feedbackRecord(message, { receiveCount: 3 });
    claimReturns(storedRecord(message.taskId, { attempts: 3 }));
    sesMock.on(SendEmailCommand).rejects(sesThrottling());

    // Act
    const response = await handler(sqsEvent(record));

    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    const [retry] = statusWrites('RETRY');
    expect(retry?.ConditionExpression).toBe('#status = :started AND #attempts = :attempts');
    expect(retry?.ExpressionAttributeValues?.[':error']).toEqual({
      M: { type: { S: 'Throttling' }, message: { S: 'Maximum sending rate exceeded.' } },
    });
    // Third receive: backoff cap 5 * 2^2 = 20 s, full jitter at 0.5 → 10 s.
    expect(sqsMock).toHaveReceivedCommandWith(ChangeMessageVisibilityCommand, {
      QueueUrl: QUEUE_URL,
      ReceiptHandle: record.receiptHandle,
      VisibilityTimeout: 10,
    });
    expect(statusWrites('FAILURE')).toEqual([]);
  });

  it('marks FAILURE on the last allowed receive, then fails the item for the dead-letter queue', async () => {
    // Prepare
    const handler = await loadWorker();
    const message = feedbackMessage();
    const record = feedbackRecord(message, { receiveCount: 5 });
    claimReturns(storedRecord(message.taskId, { attempts: 5 }));
    sesMock.on(SendEmailCommand).rejects(sesThrottling());

    // Act
    const response = await handler(sqsEvent(record));

    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    const [failure] = statusWrites('FAILURE');
    expect(failure?.UpdateExpression).toContain('#retriesExhausted = :true');
    expect(failure?.ExpressionAttributeValues?.[':error']).toEqual({
      M: { type: { S: 'Throttling' }, message: { S: 'Maximum sending rate exceeded.' } },
    });
    expect(statusWrites('RETRY')).toEqual([]);
    expect(sqsMock).not.toHaveReceivedCommand(ChangeMessageVisibilityCommand);
  });

  it('fails at once, without a retry, when SES rejects the email (sandbox: unverified recipient)', async () => {
    // Prepare
    const handler = await loadWorker();
    const message = feedbackMessage();
    claimReturns(storedRecord(message.taskId));
    sesMock.on(SendEmailCommand).rejects(sesRejected(message.email));

    // Act
    const response = await handler(sqsEvent(feedbackRecord(message)));

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(sesMock).toHaveReceivedCommandTimes(SendEmailCommand, 1);
    const [failure] = statusWrites('FAILURE');
    expect(failure?.UpdateExpression).not.toContain('#retriesExhausted');
    expect(failure?.ExpressionAttributeValues?.[':error']).toEqual({
      M: {
        type: { S: 'MessageRejected' },
        message: {
          S: 'Email address is not verified. The following identities failed the check in region US-EAST-1: <address>',
        },
      },
    });
    expect(ddb).toHaveReceivedCommandWith(UpdateItemCommand, {
      UpdateExpression: 'SET #emails.#visitor = :state, #updatedAt = :nowIso',
    });
    expect(statusWrites('SUCCESS')).toEqual([]);
    expect(sqsMock).not.toHaveReceivedCommand(ChangeMessageVisibilityCommand);
  });

  it('retries on DynamoDB throttling of the claim without sending', async () => {
    // Prepare
    const handler = await loadWorker();
    const message = feedbackMessage();
    const record = feedbackRecord(message);
    ddb
      .on(UpdateItemCommand, { ReturnValues: 'ALL_NEW' })
      .rejects(new ProvisionedThroughputExceededException({ message: 'Throughput exceeded', $metadata: {} }));

    // Act
    const response = await handler(sqsEvent(record));

    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(sesMock).not.toHaveReceivedCommand(SendEmailCommand);
    expect(statusWrites('RETRY')[0]?.ConditionExpression).toBe('#status IN (:pending, :retry)');
    expect(sqsMock).toHaveReceivedCommandWith(ChangeMessageVisibilityCommand, { VisibilityTimeout: 3 });
  });

  it('still reports the item failed when the RETRY write and the delay fail too', async () => {
    // Prepare
    const handler = await loadWorker();
    const message = feedbackMessage();
    const record = feedbackRecord(message);
    claimReturns(storedRecord(message.taskId));
    sesMock.on(SendEmailCommand).rejects(sesThrottling());
    ddb
      .on(UpdateItemCommand, {
        UpdateExpression:
          'SET #status = :retry, #error = :error, #updatedAt = :nowIso REMOVE #leaseExpiresAt',
      })
      .rejects(new Error('socket hang up'));
    sqsMock.on(ChangeMessageVisibilityCommand).rejects(new Error('socket hang up'));

    // Act
    const response = await handler(sqsEvent(record));

    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
  });

  it('records a sent email again when the first write fails, so SES is called once', async () => {
    // Prepare
    const handler = await loadWorker();
    const message = feedbackMessage();
    claimReturns(storedRecord(message.taskId));
    ddb
      .on(UpdateItemCommand, {
        UpdateExpression: 'SET #emails.#visitor = :state, #updatedAt = :nowIso, #sesMessageId = :messageId',
      })
      .rejectsOnce(
        new ProvisionedThroughputExceededException({ message: 'Throughput exceeded', $metadata: {} }),
      )
      .resolves({});

    // Act
    const response = await handler(sqsEvent(feedbackRecord(message)));

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(sesMock).toHaveReceivedCommandTimes(SendEmailCommand, 1);
    expect(statusWrites('SUCCESS')).toHaveLength(1);
  });

  it('answers a batch whose every record failed with all of them, not with an invocation error', async () => {
    // Prepare
    const handler = await loadWorker();
    const records = [feedbackRecord(feedbackMessage()), feedbackRecord(feedbackMessage())];
    claimReturns(storedRecord('any'));
    sesMock.on(SendEmailCommand).rejects(sesThrottling());

    // Act
    const response = await handler(sqsEvent(...records));

    // Assess
    expect(response.batchItemFailures).toEqual(
      records.map((record) => ({ itemIdentifier: record.messageId })),
    );
  });
});

describe('send-feedback-email: a batch', () => {
  it('fails only the record that failed', async () => {
    // Prepare
    const handler = await loadWorker();
    const good = feedbackMessage({ email: 'good@example.com' });
    const bad = feedbackMessage({ email: 'bad@example.com' });
    const goodRecord = feedbackRecord(good);
    const badRecord = feedbackRecord(bad);
    claimReturns(storedRecord('any'));
    sesMock
      .on(SendEmailCommand, { Destination: { ToAddresses: ['bad@example.com'] } })
      .rejects(sesThrottling());

    // Act
    const response = await handler(sqsEvent(goodRecord, badRecord));

    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: badRecord.messageId }]);
    expect(sesMock).toHaveReceivedCommandWith(SendEmailCommand, {
      Destination: { ToAddresses: ['good@example.com'] },
    });
  });

  it('drops a poison message without retrying it and without sinking the batch', async () => {
    // Prepare
    const handler = await loadWorker();
    const good = feedbackMessage();
    claimReturns(storedRecord(good.taskId));

    // Act
    const response = await handler(
      sqsEvent(sqsRecord('not json {'), feedbackRecord(good), sqsRecord('[1, 2]')),
    );

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(sesMock).toHaveReceivedCommandTimes(SendEmailCommand, 1);
    expect(output.join('')).toContain('PoisonMessage');
  });

  it('marks the task of an invalid message FAILURE (invalid payload) and sends nothing', async () => {
    // Prepare
    const handler = await loadWorker();
    const message = feedbackMessage({ email: 'visitor@example.com\r\nBcc: victim@example.com' });

    // Act
    const response = await handler(sqsEvent(feedbackRecord(message)));

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(sesMock).not.toHaveReceivedCommand(SendEmailCommand);
    const [failure] = statusWrites('FAILURE');
    expect(failure?.Key).toEqual({ taskId: { S: message.taskId } });
    expect(failure?.ConditionExpression).toBe('#status IN (:pending, :retry)');
    expect(failure?.ExpressionAttributeValues?.[':error']).toEqual({
      M: {
        type: { S: 'InvalidPayload' },
        message: { S: 'The queue message is not a valid feedback message' },
      },
    });
  });

  it('looks again shortly at a young message whose record is not there yet', async () => {
    // Prepare
    const handler = await loadWorker();
    const message = feedbackMessage();
    const record = feedbackRecord(message, { sentAt: NOW.getTime() - 10_000 });
    claimFinds(undefined);

    // Act
    const response = await handler(sqsEvent(record));

    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(sqsMock).toHaveReceivedCommandWith(ChangeMessageVisibilityCommand, { VisibilityTimeout: 2 });
    expect(sesMock).not.toHaveReceivedCommand(SendEmailCommand);
  });

  it('looks again at the end of the grace, not after it, when the grace is almost over', async () => {
    // Prepare
    const handler = await loadWorker();
    const message = feedbackMessage();
    const record = feedbackRecord(message, { sentAt: NOW.getTime() - 29_500 });
    claimFinds(undefined);

    // Act
    const response = await handler(sqsEvent(record));

    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: record.messageId }]);
    expect(sqsMock).toHaveReceivedCommandWith(ChangeMessageVisibilityCommand, { VisibilityTimeout: 1 });
  });

  it('drops an old message whose record does not exist (its submit answered 503)', async () => {
    // Prepare
    const handler = await loadWorker();
    const message = feedbackMessage();
    claimFinds(undefined);

    // Act
    const response = await handler(sqsEvent(feedbackRecord(message, { sentAt: NOW.getTime() - 31_000 })));

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(sesMock).not.toHaveReceivedCommand(SendEmailCommand);
    expect(statusWrites('FAILURE')).toEqual([]);
    expect(output.join('')).toContain('OrphanMessageDropped');
  });
});

describe('send-feedback-email: the owner notification (NOTIFY_EMAIL)', () => {
  it('sends the owner one email with the visitor as Reply-To', async () => {
    // Prepare
    const handler = await loadWorker({ NOTIFY_EMAIL: OWNER });
    const message = feedbackMessage({ message: 'Love it' });
    claimReturns(storedRecord(message.taskId));

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
    expect(ddb).toHaveReceivedCommandWith(UpdateItemCommand, {
      UpdateExpression: 'SET #emails.#owner = :state, #updatedAt = :nowIso',
    });
    expect(statusWrites('SUCCESS')).toHaveLength(1);
  });

  it('sends only the visitor email without NOTIFY_EMAIL', async () => {
    // Prepare
    const handler = await loadWorker();
    const message = feedbackMessage();
    claimReturns(storedRecord(message.taskId));

    // Act
    await handler(sqsEvent(feedbackRecord(message)));

    // Assess
    expect(sesMock).toHaveReceivedCommandTimes(SendEmailCommand, 1);
    expect(sesMock).not.toHaveReceivedCommandWith(SendEmailCommand, {
      Destination: { ToAddresses: [OWNER] },
    });
  });

  it('retries a failed owner email without sending the visitor email again', async () => {
    // Prepare
    const handler = await loadWorker({ NOTIFY_EMAIL: OWNER });
    const message = feedbackMessage();
    claimReturns(storedRecord(message.taskId));
    sesMock
      .on(SendEmailCommand, { Destination: { ToAddresses: [OWNER] } })
      .rejectsOnce(sesThrottling())
      .resolves({ MessageId: 'ses-owner' });
    const first = feedbackRecord(message);

    // Act
    const firstResponse = await handler(sqsEvent(first));
    // The redelivery's claim sees what the first attempt recorded.
    claimReturns(
      storedRecord(message.taskId, {
        attempts: 2,
        emails: { visitor: { status: 'SENT', messageId: 'ses-message-1', at: NOW.toISOString() } },
      }),
    );
    const secondResponse = await handler(sqsEvent(feedbackRecord(message, { receiveCount: 2 })));

    // Assess
    expect(firstResponse.batchItemFailures).toEqual([{ itemIdentifier: first.messageId }]);
    expect(secondResponse.batchItemFailures).toEqual([]);
    expect(sesMock).toHaveReceivedCommandTimes(SendEmailCommand, 3);
    const visitorSends = sesMock
      .commandCalls(SendEmailCommand)
      .filter((call) => call.args[0].input.Destination?.ToAddresses?.[0] === 'visitor@example.com');
    expect(visitorSends).toHaveLength(1);
    expect(statusWrites('RETRY')).toHaveLength(1);
    expect(statusWrites('SUCCESS')).toHaveLength(1);
  });

  it('still succeeds the visitor task when SES rejects the owner email, recording the rejection', async () => {
    // Prepare
    const handler = await loadWorker({ NOTIFY_EMAIL: OWNER });
    const message = feedbackMessage();
    claimReturns(storedRecord(message.taskId));
    sesMock.on(SendEmailCommand, { Destination: { ToAddresses: [OWNER] } }).rejects(sesRejected(OWNER));

    // Act
    const response = await handler(sqsEvent(feedbackRecord(message)));

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    const ownerWrite = updates().find((input) => input.UpdateExpression?.startsWith('SET #emails.#owner'));
    expect(ownerWrite?.ExpressionAttributeValues?.[':state']?.M?.status).toEqual({ S: 'REJECTED' });
    expect(statusWrites('SUCCESS')).toHaveLength(1);
  });
});

describe('send-feedback-email: counters and logs', () => {
  it('counts the task accepted on its creation day and sent on the day it succeeded', async () => {
    // Prepare
    const handler = await loadWorker();
    const message = feedbackMessage();
    claimReturns(storedRecord(message.taskId));

    // Act
    await handler(sqsEvent(feedbackRecord(message)));

    // Assess
    expect(counterWrites()).toEqual(['stats#2025-05-31 accepted', 'stats#2025-06-01 sent']);
    expect(ddb).toHaveReceivedCommandWith(UpdateItemCommand, {
      Key: { taskId: { S: 'stats#2025-06-01' } },
      UpdateExpression: 'ADD #counter :one SET #expiresAt = if_not_exists(#expiresAt, :expiresAt)',
    });
  });

  it('counts a retry and a failure, and not a second acceptance', async () => {
    // Prepare
    const handler = await loadWorker();
    const retried = feedbackMessage();
    const failed = feedbackMessage({ email: 'rejected@example.com' });
    claimReturns(storedRecord('any', { attempts: 2 }));
    sesMock
      .on(SendEmailCommand, { Destination: { ToAddresses: ['visitor@example.com'] } })
      .rejects(sesThrottling());
    sesMock
      .on(SendEmailCommand, { Destination: { ToAddresses: ['rejected@example.com'] } })
      .rejects(sesRejected('x'));

    // Act
    await handler(sqsEvent(feedbackRecord(retried, { receiveCount: 2 }), feedbackRecord(failed)));

    // Assess
    expect(counterWrites().sort()).toEqual(['stats#2025-06-01 failed', 'stats#2025-06-01 retried']);
  });

  it('does not fail the task when a counter cannot be updated', async () => {
    // Prepare
    const handler = await loadWorker();
    const message = feedbackMessage();
    claimReturns(storedRecord(message.taskId));
    ddb.on(UpdateItemCommand, { Key: { taskId: { S: 'stats#2025-06-01' } } }).rejects(new Error('boom'));

    // Act
    const response = await handler(sqsEvent(feedbackRecord(message)));

    // Assess
    expect(response.batchItemFailures).toEqual([]);
    expect(statusWrites('SUCCESS')).toHaveLength(1);
  });

  it('logs the task id and metrics, never the address or the message', async () => {
    // Prepare
    const handler = await loadWorker({ NOTIFY_EMAIL: OWNER });
    const message = feedbackMessage({ email: 'private.person@example.org', message: 'my secret words' });
    const rejected = feedbackMessage({ email: 'other.person@example.org', message: 'more secret words' });
    claimReturns(storedRecord(message.taskId));
    sesMock
      .on(SendEmailCommand, { Destination: { ToAddresses: ['other.person@example.org'] } })
      .rejects(sesRejected('other.person@example.org'));

    // Act
    await handler(sqsEvent(feedbackRecord(message), feedbackRecord(rejected), sqsRecord('{"email":"x@y.z"')));

    // Assess
    const logs = output.join('');
    expect(logs).toContain(message.taskId);
    expect(logs).toContain('EmailSent');
    expect(logs).toContain('TaskDuration');
    expect(logs).toContain('EmailFailed');
    for (const secret of ['private.person', 'other.person', 'secret words', 'x@y.z', OWNER]) {
      expect(logs).not.toContain(secret);
    }
  });
});

describe('retryDelaySeconds', () => {
  it('grows exponentially with full jitter, capped, and never under a second', async () => {
    // Prepare
    await loadWorker();
    const { retryDelaySeconds } = await import('../../functions/send-feedback-email');

    // Act
    const delays = [1, 2, 3, 4, 10].map((receiveCount) => retryDelaySeconds(receiveCount, () => 1));

    // Assess
    expect(delays).toEqual([5, 10, 20, 40, 300]);
    expect(retryDelaySeconds(4, () => 0)).toBe(1);
  });
});
