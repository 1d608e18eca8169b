/**
 * Exactly one email per task under at-least-once delivery, on the local stack (issue 5): a message
 * delivered twice, a visibility timeout that runs out during the slow work (two holders), and a
 * worker that stopped mid-task (its claim left behind) whose task completes once its lease is over.
 * A visibility timeout of 1 s, shorter than the 3 s of slow work, makes each of these happen.
 */

import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type LocalStack,
  queueDepth,
  readMailbox,
  startTestStack,
  submitFeedback,
  uniqueAddress,
  waitFor,
  waitForStatus,
} from '../helpers/local-stack';

let stack: LocalStack;

beforeAll(async () => {
  stack = await startTestStack({ workSeconds: 3, visibilityTimeoutSeconds: 1, maxReceiveCount: 10 });
});

afterAll(async () => {
  await stack?.stop();
});

/** Waits until every copy of every message is consumed, then counts the emails to `address`. */
async function settledEmailsTo(address: string): Promise<number> {
  await waitFor(async () => (await queueDepth(stack, stack.queueUrl)).total === 0, {
    what: 'an empty queue',
  });
  return (await readMailbox(stack)).filter((email) => email.destination.to.includes(address)).length;
}

/** Takes the task's message off the queue as a worker would, leaving it to come back after 1 s. */
async function receiveMessageOf(taskId: string): Promise<string> {
  return waitFor(async () => {
    const { Messages = [] } = await stack.clients.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: stack.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    return Messages.find((m) => m.Body?.includes(taskId))?.Body;
  });
}

describe('redelivery', () => {
  it('sends one email when the same message is delivered twice', async () => {
    // Prepare
    const email = uniqueAddress('twice');
    await stack.pausePoller();
    const accepted = await submitFeedback(stack, { email, message: 'twice delivered' });
    const body = await receiveMessageOf(accepted.body.taskId);
    await stack.clients.sqs.send(new SendMessageCommand({ QueueUrl: stack.queueUrl, MessageBody: body }));

    // Act
    stack.resumePoller();
    await waitForStatus(stack, accepted.body.taskId, 'SUCCESS');

    // Assess
    expect(await settledEmailsTo(email)).toBe(1);
  });

  it('sends one email when the visibility timeout runs out during the slow work (two holders)', async () => {
    // Prepare
    const email = uniqueAddress('two-holders');

    // Act
    const accepted = await submitFeedback(stack, { email, message: 'held twice' });
    const { task } = await waitForStatus(stack, accepted.body.taskId, 'SUCCESS');

    // Assess
    expect(task.attempts).toBe(1);
    expect(await settledEmailsTo(email)).toBe(1);
  });

  it('completes the task of a worker stopped mid-task once its claim has run out, with one email', async () => {
    // Prepare: a worker received the message and claimed the task, then stopped (no email, no outcome).
    const email = uniqueAddress('crashed');
    await stack.pausePoller();
    const accepted = await submitFeedback(stack, { email, message: 'crashed worker' });
    const taskId = accepted.body.taskId;
    await receiveMessageOf(taskId);
    const now = Date.now();
    await stack.clients.dynamodb.send(
      new UpdateItemCommand({
        TableName: stack.tableName,
        Key: { taskId: { S: taskId } },
        UpdateExpression:
          'SET #status = :started, startedAt = :now, leaseExpiresAt = :lease, emails = :none ADD attempts :one',
        ConditionExpression: '#status = :pending',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':started': { S: 'STARTED' },
          ':pending': { S: 'PENDING' },
          ':now': { S: new Date(now).toISOString() },
          ':lease': { N: String(now + 2000) },
          ':none': { M: {} },
          ':one': { N: '1' },
        },
      }),
    );

    // Act
    stack.resumePoller();
    const { task, seen } = await waitForStatus(stack, taskId, 'SUCCESS');

    // Assess
    expect(seen[0]).toBe('STARTED');
    expect(task.attempts).toBe(2);
    expect(await settledEmailsTo(email)).toBe(1);
  });
});
