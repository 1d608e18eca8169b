/**
 * The claim and the transitions are conditional writes whose conditions are the whole point, so
 * they run here against a real DynamoDB implementation: dynalite, in memory, on a free port.
 */
import type { AddressInfo } from 'node:net';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import dynalite from 'dynalite';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { LeaseLostError, readDailyCounters, TaskLifecycle } from '../../functions/commons/task-lifecycle';
import { STATS_TTL_DAYS, type TaskRecord } from '../../functions/commons/task-record';

const TABLE = 'Tasks';
const LEASE_SECONDS = 60;
const NOW = new Date('2025-06-01T12:00:00.000Z');
const throttled = { type: 'Throttling', message: 'Maximum sending rate exceeded.' };

const server = dynalite({ createTableMs: 0 });
let dynamodb: DynamoDBClient;
let lifecycle: TaskLifecycle;
let counterErrors: unknown[];

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  dynamodb = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  await dynamodb.send(
    new CreateTableCommand({
      TableName: TABLE,
      KeySchema: [{ AttributeName: 'taskId', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'taskId', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  for (;;) {
    const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: TABLE }));
    if (Table?.TableStatus === 'ACTIVE') break;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
});

afterAll(async () => {
  dynamodb.destroy();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(NOW);
  counterErrors = [];
  lifecycle = new TaskLifecycle({
    dynamodb,
    tableName: TABLE,
    leaseSeconds: LEASE_SECONDS,
    onCounterError: (error) => counterErrors.push(error),
  });
});

afterEach(() => {
  vi.useRealTimers();
});

/** A PENDING record as the submit handler writes it. */
async function pendingTask(createdAt = '2025-05-31T23:00:00.000Z'): Promise<string> {
  const taskId = crypto.randomUUID();
  const record: TaskRecord = { taskId, status: 'PENDING', createdAt, attempts: 0, expiresAt: 1_800_000_000 };
  await dynamodb.send(new PutItemCommand({ TableName: TABLE, Item: marshall(record) }));
  return taskId;
}

async function stored(taskId: string): Promise<Record<string, unknown>> {
  const { Item } = await dynamodb.send(
    new GetItemCommand({ TableName: TABLE, Key: { taskId: { S: taskId } } }),
  );
  return unmarshall(Item ?? {});
}

function advance(seconds: number): void {
  vi.setSystemTime(Date.now() + seconds * 1000);
}

async function claimed(taskId: string) {
  const result = await lifecycle.claim(taskId);
  if (result.outcome !== 'claimed') throw new Error(`expected a claim, got ${result.outcome}`);
  return result.task;
}

describe('TaskLifecycle.claim', () => {
  it('claims a PENDING task: STARTED, attempts 1, startedAt and a lease', async () => {
    // Prepare
    const taskId = await pendingTask();

    // Act
    const result = await lifecycle.claim(taskId);

    // Assess
    expect(result).toEqual({
      outcome: 'claimed',
      task: {
        taskId,
        attempts: 1,
        createdAt: '2025-05-31T23:00:00.000Z',
        startedAtMs: NOW.getTime(),
        emails: {},
      },
    });
    expect(await stored(taskId)).toMatchObject({
      status: 'STARTED',
      attempts: 1,
      startedAt: NOW.toISOString(),
      updatedAt: NOW.toISOString(),
      leaseExpiresAt: NOW.getTime() + LEASE_SECONDS * 1000,
      emails: {},
    });
  });

  it('refuses a second holder while the lease is live', async () => {
    // Prepare
    const taskId = await pendingTask();
    await claimed(taskId);
    advance(LEASE_SECONDS - 1);

    // Act
    const result = await lifecycle.claim(taskId);

    // Assess
    expect(result).toEqual({ outcome: 'held', status: 'STARTED' });
    expect(await stored(taskId)).toMatchObject({ attempts: 1 });
  });

  it('lets another worker reclaim a task whose holder crashed, and the old holder can no longer send', async () => {
    // Prepare
    const taskId = await pendingTask();
    const crashed = await claimed(taskId);
    advance(LEASE_SECONDS + 1);

    // Act
    const reclaimed = await claimed(taskId);

    // Assess
    expect(reclaimed.attempts).toBe(2);
    await expect(lifecycle.renewLease(crashed)).rejects.toBeInstanceOf(LeaseLostError);
    await expect(lifecycle.succeed(crashed)).resolves.toMatchObject({ recorded: false });
    await expect(lifecycle.renewLease(reclaimed)).resolves.toBeUndefined();
  });

  it('finds a finished task finished, and a missing one missing', async () => {
    // Prepare
    const taskId = await pendingTask();
    await lifecycle.succeed(await claimed(taskId));

    // Act
    const finished = await lifecycle.claim(taskId);
    const missing = await lifecycle.claim(crypto.randomUUID());

    // Assess
    expect(finished).toEqual({ outcome: 'finished', status: 'SUCCESS' });
    expect(missing).toEqual({ outcome: 'missing' });
  });

  it('returns the emails earlier attempts settled', async () => {
    // Prepare
    const taskId = await pendingTask();
    const first = await claimed(taskId);
    await lifecycle.recordEmail(first, 'visitor', {
      status: 'SENT',
      messageId: 'ses-1',
      at: NOW.toISOString(),
    });
    await lifecycle.retry(taskId, first, throttled);

    // Act
    const second = await claimed(taskId);

    // Assess
    expect(second.emails).toEqual({ visitor: { status: 'SENT', messageId: 'ses-1', at: NOW.toISOString() } });
    expect(await stored(taskId)).toMatchObject({ sesMessageId: 'ses-1', attempts: 2 });
  });
});

describe('TaskLifecycle transitions', () => {
  it('SUCCESS: finishedAt and runtimeMs, the lease released', async () => {
    // Prepare
    const taskId = await pendingTask();
    const task = await claimed(taskId);
    advance(20);

    // Act
    const result = await lifecycle.succeed(task);

    // Assess
    expect(result).toEqual({ runtimeMs: 20_000, recorded: true });
    const record = await stored(taskId);
    expect(record).toMatchObject({
      status: 'SUCCESS',
      finishedAt: new Date(Date.now()).toISOString(),
      runtimeMs: 20_000,
    });
    expect(record).not.toHaveProperty('leaseExpiresAt');
  });

  it('RETRY: the error is shown, the lease released, and the next claim clears the error', async () => {
    // Prepare
    const taskId = await pendingTask();
    const task = await claimed(taskId);

    // Act
    const recorded = await lifecycle.retry(taskId, task, throttled);
    const afterRetry = await stored(taskId);
    await claimed(taskId);

    // Assess
    expect(recorded).toBe(true);
    expect(afterRetry).toMatchObject({ status: 'RETRY', error: throttled });
    expect(afterRetry).not.toHaveProperty('leaseExpiresAt');
    expect(await stored(taskId)).not.toHaveProperty('error');
  });

  it('FAILURE out of retries can be claimed again after a redrive; a permanent FAILURE cannot', async () => {
    // Prepare
    const exhausted = await pendingTask();
    const rejected = await pendingTask();
    await lifecycle.fail(exhausted, await claimed(exhausted), throttled, true);
    await lifecycle.fail(
      rejected,
      await claimed(rejected),
      { type: 'MessageRejected', message: 'no' },
      false,
    );

    // Act
    const redriven = await lifecycle.claim(exhausted);
    const again = await lifecycle.claim(rejected);

    // Assess
    expect(redriven).toMatchObject({ outcome: 'claimed', task: { attempts: 2 } });
    expect(await stored(exhausted)).not.toHaveProperty('retriesExhausted');
    expect(again).toEqual({ outcome: 'finished', status: 'FAILURE' });
    expect(await stored(rejected)).toMatchObject({ status: 'FAILURE', error: { type: 'MessageRejected' } });
  });

  it('without a claim, changes only a task nobody holds', async () => {
    // Prepare
    const free = await pendingTask();
    const held = await pendingTask();
    await claimed(held);

    // Act
    const freeRecorded = await lifecycle.retry(free, undefined, throttled);
    const heldRecorded = await lifecycle.fail(
      held,
      undefined,
      { type: 'InvalidPayload', message: 'bad' },
      false,
    );

    // Assess
    expect(freeRecorded).toBe(true);
    expect(heldRecorded).toBe(false);
    expect(await stored(held)).toMatchObject({ status: 'STARTED' });
  });

  it('a worker that lost its lease cannot write RETRY or FAILURE over the new holder', async () => {
    // Prepare
    const taskId = await pendingTask();
    const old = await claimed(taskId);
    advance(LEASE_SECONDS + 1);
    await claimed(taskId);

    // Act
    const retried = await lifecycle.retry(taskId, old, throttled);
    const failed = await lifecycle.fail(taskId, old, throttled, true);

    // Assess
    expect([retried, failed]).toEqual([false, false]);
    expect(await stored(taskId)).toMatchObject({ status: 'STARTED', attempts: 2 });
  });
});

describe('daily counters', () => {
  it('counts accepted by creation day once, and sent, retried, failed by the day they happen', async () => {
    // Prepare
    const day = '2025-03-01';
    vi.setSystemTime(new Date(`${day}T10:00:00Z`));
    const sent = await pendingTask(`${day}T09:00:00.000Z`);
    const failed = await pendingTask(`${day}T09:30:00.000Z`);

    // Act
    const first = await claimed(sent);
    await lifecycle.retry(sent, first, throttled);
    await lifecycle.succeed(await claimed(sent));
    await lifecycle.fail(failed, await claimed(failed), throttled, true);
    const counters = await readDailyCounters(dynamodb, TABLE, day);

    // Assess
    expect(counters).toEqual({ accepted: 2, sent: 1, retried: 1, failed: 1 });
    expect(counterErrors).toEqual([]);
    const item = await stored(`stats#${day}`);
    expect(item.expiresAt).toBe(Date.parse(`${day}T00:00:00Z`) / 1000 + STATS_TTL_DAYS * 24 * 3600);
  });

  it('reads zeros for a day without any', async () => {
    // Prepare / Act
    const counters = await readDailyCounters(dynamodb, TABLE, '1999-01-01');

    // Assess
    expect(counters).toEqual({ accepted: 0, sent: 0, retried: 0, failed: 0 });
  });
});
