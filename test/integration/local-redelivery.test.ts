/**
 * Exactly one email per task under at-least-once delivery, on the local stack: a message
 * delivered twice, a visibility timeout that runs out during the slow work (two holders), and a
 * worker that stopped mid-task (its claim left behind) whose task completes once its lease is over.
 * A visibility timeout of 1 s, shorter than the 3 s of slow work, makes each of these happen.
 */

import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validFeedback } from '../helpers/feedback.ts';
import {
  type LocalStack,
  queueDepth,
  readMailbox,
  startTestStack,
  submitFeedback,
  uniqueAddress,
  waitFor,
  waitForStatus,
} from '../helpers/local-stack.ts';

let stack: LocalStack;
/** The stack's data folder: the queued messages' files show how often each was received. */
let dataDir: string;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'local-redelivery-'));
  // A lease just over the work, so that a copy held off while another worker has the task comes back soon.
  stack = await startTestStack({
    workSeconds: 3,
    visibilityTimeoutSeconds: 1,
    leaseSeconds: 6,
    maxReceiveCount: 10,
    dataDir,
  });
});

afterAll(async () => {
  await stack?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

/** The most receives the kept file of the task's message showed, watched until `until` settles. */
async function mostReceives(taskId: string, until: Promise<unknown>): Promise<number> {
  const queueDir = join(dataDir, 'sqs', 'feedback-queue');
  let most = 0;
  let settled = false;
  until.finally(() => {
    settled = true;
  });
  while (!settled) {
    for (const name of readdirSync(queueDir)) {
      try {
        const kept = JSON.parse(readFileSync(join(queueDir, name), 'utf8')) as {
          body: string;
          receives: number;
        };
        if (kept.body.includes(taskId)) most = Math.max(most, kept.receives);
      } catch {
        // Removed or replaced between the listing and the read.
      }
    }
    await new Promise((wait) => setTimeout(wait, 20));
  }
  return most;
}

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
    const accepted = await submitFeedback(stack, validFeedback({ email, message: 'twice delivered' }));
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
    const accepted = await submitFeedback(stack, validFeedback({ email, message: 'held twice' }));
    const done = waitForStatus(stack, accepted.body.taskId, 'SUCCESS');
    const receives = await mostReceives(accepted.body.taskId, done);
    const { task } = await done;

    // Assess: its message was received again while the first holder worked (two holders), one claim.
    expect(receives).toBeGreaterThanOrEqual(2);
    expect(task.attempts).toBe(1);
    expect(await settledEmailsTo(email)).toBe(1);
  });

  it('completes the task of a worker stopped mid-task once its claim has run out, with one email', async () => {
    // Prepare: a worker received the message and claimed the task, then stopped (no email, no outcome).
    const email = uniqueAddress('crashed');
    await stack.pausePoller();
    const accepted = await submitFeedback(stack, validFeedback({ email, message: 'crashed worker' }));
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
