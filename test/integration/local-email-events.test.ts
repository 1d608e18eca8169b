/**
 * SES's events go through the email-event queue on the local stack, as on AWS: an event that comes
 * before the worker has written its email's message id (the race of SES with the worker) fails, and
 * comes back after the queue's visibility timeout until it is recorded, or until its receives run out
 * and it waits in the dead-letter queue. The race is made for real: a task record written the way the
 * worker leaves it before SES answers, and an SES send through the configuration set with the worker's
 * tags, whose events the local SES front publishes.
 */
import { randomUUID } from 'node:crypto';
import { PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { SESClient, SendEmailCommand } from '@aws-sdk/client-ses';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { marshall } from '@aws-sdk/util-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expiresAt, type TaskRecord } from '../../functions/task/record.ts';
import { LOCAL_CLIENT_CONFIG, localResourceNames } from '../../lib/local/resources.ts';
import { getTask, type LocalStack, queueDepth, startTestStack, waitFor } from '../helpers/local-stack.ts';

/** Receives of an event before its dead-letter queue; one second apart. */
const RECEIVES = 4;
const lines: string[] = [];
let stack: LocalStack;
let ses: SESClient;

beforeAll(async () => {
  stack = await startTestStack({
    quiet: false,
    log: (line) => lines.push(line),
    reportSchedule: false,
    emailEventsQueue: { visibilityTimeoutSeconds: 1, maxReceiveCount: RECEIVES },
  });
  ses = new SESClient({ ...LOCAL_CLIENT_CONFIG, endpoint: stack.sesUrl });
});

afterAll(async () => {
  ses?.destroy();
  await stack?.stop();
});

/** A task the worker has claimed and is sending: its record has no email yet. */
async function startedTask(): Promise<string> {
  const now = new Date();
  const record: TaskRecord = {
    taskId: randomUUID(),
    status: 'STARTED',
    createdAt: now.toISOString(),
    startedAt: now.toISOString(),
    attempts: 1,
    expiresAt: expiresAt(now, 1),
  };
  await stack.clients.dynamodb.send(
    new PutItemCommand({ TableName: stack.tableName, Item: marshall(record) }),
  );
  return record.taskId;
}

/** The task's visitor email, sent as the worker sends it (configuration set, task tags); SES's message id. */
async function sendVisitorEmail(taskId: string): Promise<string> {
  const { MessageId } = await ses.send(
    new SendEmailCommand({
      Source: stack.settings.senderEmail,
      Destination: { ToAddresses: ['success@simulator.amazonses.com'] },
      Message: { Subject: { Data: 'Your Feedback' }, Body: { Text: { Data: 'Thank you' } } },
      ConfigurationSetName: localResourceNames.configurationSet,
      Tags: [
        { Name: 'taskId', Value: taskId },
        { Name: 'recipient', Value: 'visitor' },
      ],
    }),
  );
  return MessageId ?? '';
}

/** How often the handler failed to record an event of the task (its terminal lines say so). */
function failuresOf(taskId: string): number {
  return lines.filter((line) => line.includes(taskId) && line.includes('Email event before its email'))
    .length;
}

async function visitorEmailStatus(taskId: string): Promise<string | undefined> {
  return (await getTask(stack, taskId)).body.emails?.visitor?.status;
}

describe('an SES event that comes before the worker has recorded its email', () => {
  it('fails, comes back after the visibility timeout, and is recorded once the worker has written the message id', async () => {
    // Prepare: the event fails twice, as the record has no message id.
    const taskId = await startedTask();
    const messageId = await sendVisitorEmail(taskId);
    await waitFor(() => failuresOf(taskId) >= 2, { what: 'two failed attempts at the event' });

    // Act: the worker's write, late.
    await stack.clients.dynamodb.send(
      new UpdateItemCommand({
        TableName: stack.tableName,
        Key: { taskId: { S: taskId } },
        UpdateExpression: 'SET emails = :emails',
        ExpressionAttributeValues: marshall({
          ':emails': { visitor: { status: 'SENT', messageId, at: new Date().toISOString() } },
        }),
      }),
    );

    // Assess
    const status = await waitFor(
      async () => ((await visitorEmailStatus(taskId)) === 'DELIVERED' ? 'DELIVERED' : undefined),
      { timeoutMs: 10_000, what: 'the visitor email DELIVERED' },
    );
    expect(status).toBe('DELIVERED');
    expect(failuresOf(taskId)).toBeGreaterThanOrEqual(2);
    expect(failuresOf(taskId)).toBeLessThan(RECEIVES);
  });

  it('waits in the dead-letter queue after maxReceiveCount receives when the email is never recorded, without an address', async () => {
    // Prepare
    const taskId = await startedTask();

    // Act
    await sendVisitorEmail(taskId);

    // Assess: the only dead letter (the event of the test above was recorded), after every receive failed.
    const { deadLetterQueueUrl } = stack.emailEvents;
    await waitFor(async () => (await queueDepth(stack, deadLetterQueueUrl)).total > 0, {
      what: 'the event in the dead-letter queue',
    });
    expect((await queueDepth(stack, deadLetterQueueUrl)).total).toBe(1);
    expect(failuresOf(taskId)).toBe(RECEIVES);
    const { Messages = [] } = await stack.clients.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: deadLetterQueueUrl, WaitTimeSeconds: 1 }),
    );
    // The body is what the local stack put on the email-event queue: the kept fields of SES's event only.
    const body = Messages[0]?.Body ?? '{}';
    expect(JSON.parse(body)).toEqual({
      time: expect.any(String),
      detail: {
        eventType: 'Delivery',
        mail: { messageId: expect.any(String), tags: { taskId: [taskId], recipient: ['visitor'] } },
      },
    });
    // Never an address of the email (its sender's, its recipient's) nor its subject.
    for (const text of [
      stack.settings.senderEmail,
      'success@simulator.amazonses.com',
      '@',
      'Your Feedback',
    ]) {
      expect(body).not.toContain(text);
    }
    expect(await visitorEmailStatus(taskId)).toBeUndefined();
  });
});
