/**
 * The claim and the transitions are conditional writes whose conditions are the whole point, so
 * they run here against a real DynamoDB implementation: dynalite, in memory, on a free port.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { LeaseLostError, TaskClaims } from '../../functions/task/claim.ts';
import {
  type Counter,
  DailyCounterStore,
  NO_COUNTS,
  STATS_TTL_DAYS,
} from '../../functions/task/daily-counters.ts';
import { TaskLifecycle } from '../../functions/task/lifecycle.ts';
import { utcDay } from '../../functions/task/record.ts';
import { startTaskTable, type TaskTable } from '../helpers/task-table.ts';

const LEASE_SECONDS = 60;
const MAX_ATTEMPTS = 3;
/** The queue message the claims come from. */
const MESSAGE_ID = 'message-1';
const NOW = new Date('2025-06-01T12:00:00.000Z');
const throttled = { type: 'Throttling', message: 'Maximum sending rate exceeded.' };

let table: TaskTable;
let claims: TaskClaims;
let lifecycle: TaskLifecycle;
let counted: [string, Counter][];

beforeAll(async () => {
  table = await startTaskTable();
});

afterAll(async () => {
  await table.stop();
});

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(NOW);
  counted = [];
  const options = {
    dynamodb: table.dynamodb,
    tableName: table.tableName,
    counters: {
      add: async (day: string, counter: Counter) => {
        counted.push([day, counter]);
      },
    },
  };
  claims = new TaskClaims({ ...options, leaseSeconds: LEASE_SECONDS, maxAttempts: MAX_ATTEMPTS });
  lifecycle = new TaskLifecycle(options);
});

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

/** A PENDING record as the submit handler writes it. */
async function pendingTask(createdAt = '2025-05-31T23:00:00.000Z'): Promise<string> {
  return table.put({ createdAt });
}

async function stored(taskId: string): Promise<Record<string, unknown>> {
  return (await table.get(taskId)) ?? {};
}

function advance(seconds: number): void {
  vi.setSystemTime(Date.now() + seconds * 1000);
}

async function claimed(taskId: string, messageId = MESSAGE_ID) {
  const result = await claims.claim(taskId, messageId);
  if (result.outcome !== 'claimed') throw new Error(`expected a claim, got ${result.outcome}`);
  return result.task;
}

describe('TaskLifecycle.claim', () => {
  it('claims a PENDING task: STARTED, attempts 1, startedAt and a lease', async () => {
    // Prepare
    const taskId = await pendingTask();

    // Act
    const result = await claims.claim(taskId, MESSAGE_ID);

    // Assess
    expect(result).toEqual({
      outcome: 'claimed',
      task: {
        taskId,
        attempts: 1,
        countedAttempts: 1,
        createdAt: '2025-05-31T23:00:00.000Z',
        startedAtMs: NOW.getTime(),
        emails: {},
        autoresponseCounted: false,
      },
    });
    expect(await stored(taskId)).toMatchObject({
      status: 'STARTED',
      attempts: 1,
      startedAt: NOW.toISOString(),
      updatedAt: NOW.toISOString(),
      leaseExpiresAt: NOW.getTime() + LEASE_SECONDS * 1000,
      emails: {},
      countedAttempts: 1,
      lostAttempts: 1,
    });
  });

  it('refuses a second holder while the lease is live, and says when to look again', async () => {
    // Prepare
    const taskId = await pendingTask();
    await claimed(taskId);
    advance(LEASE_SECONDS - 1);

    // Act
    const result = await claims.claim(taskId, MESSAGE_ID);

    // Assess
    // The lease has a second left: look again a second after it runs out.
    expect(result).toEqual({ outcome: 'held', status: 'STARTED', freeInSeconds: 2 });
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
    await expect(claims.renewLease(crashed)).rejects.toBeInstanceOf(LeaseLostError);
    await expect(lifecycle.succeed(crashed)).resolves.toMatchObject({ recorded: false });
    await expect(claims.renewLease(reclaimed)).resolves.toBeUndefined();
  });

  it('writes a renewal only once half the lease is gone: before that nobody else can hold the task', async () => {
    // Prepare
    const taskId = await pendingTask();
    const task = await claimed(taskId);
    const leaseAtClaim = (await stored(taskId))?.leaseExpiresAt;

    // Act
    advance(LEASE_SECONDS / 2 - 1);
    await claims.renewLease(task);
    const leaseEarly = (await stored(taskId))?.leaseExpiresAt;
    advance(2);
    await claims.renewLease(task);
    const leaseLate = (await stored(taskId))?.leaseExpiresAt;

    // Assess
    expect(leaseEarly).toBe(leaseAtClaim);
    expect(Number(leaseLate)).toBeGreaterThan(Number(leaseAtClaim));
  });

  it('finds a finished task finished, and a missing one missing', async () => {
    // Prepare
    const taskId = await pendingTask();
    await lifecycle.succeed(await claimed(taskId));

    // Act
    const finished = await claims.claim(taskId, MESSAGE_ID);
    const missing = await claims.claim(crypto.randomUUID(), MESSAGE_ID);

    // Assess
    expect(finished).toEqual({ outcome: 'finished', status: 'SUCCESS' });
    expect(missing).toEqual({ outcome: 'missing' });
  });

  it('returns the emails earlier attempts settled', async () => {
    // Prepare
    const taskId = await pendingTask();
    const first = await claimed(taskId);
    await lifecycle.recordEmail(first, 'visitor', { status: 'SENT', messageId: 'ses-1' });
    await lifecycle.retry({ taskId, claim: first, error: throttled });

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
    const recorded = await lifecycle.retry({ taskId, claim: task, error: throttled });
    const afterRetry = await stored(taskId);
    await claimed(taskId);

    // Assess
    expect(recorded).toBe(true);
    expect(afterRetry).toMatchObject({ status: 'RETRY', error: throttled });
    expect(afterRetry).not.toHaveProperty('leaseExpiresAt');
    expect(await stored(taskId)).not.toHaveProperty('error');
  });

  it('FAILURE out of retries can be claimed again by a redriven message, not by the one given up; a permanent FAILURE cannot', async () => {
    // Prepare
    const exhausted = await pendingTask();
    const rejected = await pendingTask();
    await lifecycle.fail({
      taskId: exhausted,
      claim: await claimed(exhausted),
      error: throttled,
      givenUpMessageId: MESSAGE_ID,
    });
    const givenUp = await stored(exhausted);
    await lifecycle.fail({
      taskId: rejected,
      claim: await claimed(rejected),
      error: { type: 'MessageRejected', message: 'no' },
    });

    // Act
    const cutShort = await claims.claim(exhausted, MESSAGE_ID);
    const redriven = await claims.claim(exhausted, 'message-2');
    const again = await claims.claim(rejected, MESSAGE_ID);

    // Assess
    expect(givenUp).toMatchObject({
      status: 'FAILURE',
      retriesExhausted: true,
      givenUpMessageId: MESSAGE_ID,
    });
    expect(givenUp).not.toHaveProperty('countedAttempts');
    expect(cutShort).toMatchObject({ outcome: 'give-up', record: { status: 'FAILURE' } });
    expect(redriven).toMatchObject({ outcome: 'claimed', task: { attempts: 2, countedAttempts: 1 } });
    expect(await stored(exhausted)).not.toHaveProperty('retriesExhausted');
    expect(await stored(exhausted)).not.toHaveProperty('givenUpMessageId');
    expect(again).toEqual({ outcome: 'finished', status: 'FAILURE' });
    expect(await stored(rejected)).toMatchObject({ status: 'FAILURE', error: { type: 'MessageRejected' } });
  });

  it('without a claim, changes only a task nobody holds', async () => {
    // Prepare
    const free = await pendingTask();
    const held = await pendingTask();
    await claimed(held);

    // Act
    const freeRecorded = await lifecycle.retry({ taskId: free, error: throttled });
    const heldRecorded = await lifecycle.fail({
      taskId: held,
      error: { type: 'InvalidPayload', message: 'bad' },
    });

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
    const retried = await lifecycle.retry({ taskId, claim: old, error: throttled });
    const failed = await lifecycle.fail({
      taskId,
      claim: old,
      error: throttled,
      givenUpMessageId: MESSAGE_ID,
    });

    // Assess
    expect([retried, failed]).toEqual([false, false]);
    expect(await stored(taskId)).toMatchObject({ status: 'STARTED', attempts: 2 });
  });
});

describe("TaskLifecycle: the worker's attempt limit", () => {
  it('counts claims toward the limit, not a deferral, and each attempt that wrote no outcome as lost', async () => {
    // Prepare
    const taskId = await pendingTask();

    // Act
    await lifecycle.retry({ taskId, claim: await claimed(taskId), error: throttled, deferral: true });
    const afterDeferral = await stored(taskId);
    await lifecycle.retry({
      taskId,
      claim: await claimed(taskId),
      error: { type: 'InternalFailure', message: 'x' },
    });
    const afterRetry = await stored(taskId);
    await claimed(taskId);
    advance(LEASE_SECONDS + 1);
    const lost = await claimed(taskId);

    // Assess
    expect(afterDeferral).toMatchObject({ attempts: 1, countedAttempts: 0, lostAttempts: 0 });
    expect(afterRetry).toMatchObject({ attempts: 2, countedAttempts: 1, lostAttempts: 0 });
    expect(lost.countedAttempts).toBe(3);
    expect(await stored(taskId)).toMatchObject({ attempts: 4, countedAttempts: 3, lostAttempts: 2 });
  });

  it('refuses a claim once the attempts are used up, and gives the task up to whoever looks', async () => {
    // Prepare: every attempt's worker stopped (its lease ran out without an outcome).
    const taskId = await pendingTask();
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      await claimed(taskId);
      advance(LEASE_SECONDS + 1);
    }

    // Act
    const result = await claims.claim(taskId, MESSAGE_ID);

    // Assess
    expect(result).toMatchObject({
      outcome: 'give-up',
      record: { status: 'STARTED', attempts: 3, countedAttempts: 3, lostAttempts: 3 },
    });
    expect(await stored(taskId)).toMatchObject({ status: 'STARTED', attempts: 3 });
  });

  it('gives a task up only as it was read: FAILURE with the reason, its count reset for a redrive', async () => {
    // Prepare
    const taskId = await pendingTask();
    await claimed(taskId);
    advance(LEASE_SECONDS + 1);
    const seen = await claims.inspect(taskId, MESSAGE_ID);
    if (seen.outcome !== 'give-up') throw new Error(`expected a give-up, got ${seen.outcome}`);
    const error = { type: 'WorkerLost', message: 'The worker stopped once without finishing (worker lost)' };

    // Act
    const recorded = await lifecycle.giveUp({ record: seen.record, error, messageId: MESSAGE_ID });
    const again = await lifecycle.giveUp({ record: seen.record, error, messageId: MESSAGE_ID });

    // Assess
    expect([recorded, again]).toEqual([true, false]);
    const record = await stored(taskId);
    expect(record).toMatchObject({
      status: 'FAILURE',
      error,
      finishedAt: new Date(Date.now()).toISOString(),
      retriesExhausted: true,
      givenUpMessageId: MESSAGE_ID,
      attempts: 1,
    });
    for (const gone of ['leaseExpiresAt', 'countedAttempts', 'lostAttempts'])
      expect(record).not.toHaveProperty(gone);
    expect(counted.at(-1)).toEqual([utcDay(new Date(Date.now())), 'failed']);
  });

  it('does not give up a task claimed meanwhile, nor one whose lease is live', async () => {
    // Prepare
    const taskId = await pendingTask();
    const pending = await claims.inspect(taskId, MESSAGE_ID);
    if (pending.outcome !== 'give-up') throw new Error(`expected a give-up, got ${pending.outcome}`);
    await claimed(taskId);
    const error = { type: 'NotStarted', message: 'never' };

    // Act
    const recorded = await lifecycle.giveUp({ record: pending.record, error, messageId: MESSAGE_ID });
    const held = await claims.inspect(taskId, MESSAGE_ID);

    // Assess
    expect(recorded).toBe(false);
    expect(held).toMatchObject({ outcome: 'held', status: 'STARTED' });
    expect(await stored(taskId)).toMatchObject({ status: 'STARTED', attempts: 1 });
  });
});

describe('TaskLifecycle counts', () => {
  it('counts accepted by creation day once, and sent, retried, failed by the day they happen', async () => {
    // Prepare
    const day = '2025-03-01';
    vi.setSystemTime(new Date(`${day}T10:00:00Z`));
    const sent = await pendingTask('2025-02-28T23:59:00.000Z');
    const failed = await pendingTask(`${day}T09:30:00.000Z`);

    // Act
    const first = await claimed(sent);
    await lifecycle.retry({ taskId: sent, claim: first, error: throttled });
    await lifecycle.succeed(await claimed(sent));
    await lifecycle.fail({
      taskId: failed,
      claim: await claimed(failed),
      error: throttled,
      givenUpMessageId: MESSAGE_ID,
    });

    // Assess
    expect(counted).toEqual([
      ['2025-02-28', 'accepted'],
      [day, 'retried'],
      [day, 'sent'],
      [day, 'accepted'],
      [day, 'failed'],
    ]);
  });

  it('counts nothing for a write that lost its condition', async () => {
    // Prepare
    const taskId = await pendingTask();
    const old = await claimed(taskId);
    advance(LEASE_SECONDS + 1);
    await claimed(taskId);
    counted = [];

    // Act
    await lifecycle.succeed(old);
    await lifecycle.retry({ taskId, claim: old, error: throttled });

    // Assess
    expect(counted).toEqual([]);
  });
});

describe('TaskLifecycle.recordEmail', () => {
  it('writes the outcome again after a transient failure, and keeps it on the claim', async () => {
    // Prepare
    const taskId = await pendingTask();
    const task = await claimed(taskId);
    const send = table.dynamodb.send.bind(table.dynamodb);
    vi.spyOn(table.dynamodb, 'send').mockImplementationOnce(() => {
      throw Object.assign(new Error('Throughput exceeded'), {
        name: 'ProvisionedThroughputExceededException',
      });
    });
    vi.mocked(table.dynamodb.send).mockImplementation(send);

    // Act
    await lifecycle.recordEmail(task, 'visitor', { status: 'SENT', messageId: 'ses-9' });

    // Assess
    expect(task.emails.visitor).toEqual({ status: 'SENT', messageId: 'ses-9', at: NOW.toISOString() });
    expect(await stored(taskId)).toMatchObject({
      sesMessageId: 'ses-9',
      emails: { visitor: { status: 'SENT', messageId: 'ses-9', at: NOW.toISOString() } },
    });
  });
});

describe('DailyCounterStore', () => {
  it('spreads a day over its shards and sums them on read, with a TTL on each item', async () => {
    // Prepare
    const day = '2025-04-01';
    let shard = 0;
    const counters = new DailyCounterStore({
      dynamodb: table.dynamodb,
      tableName: table.tableName,
      random: () => (shard++ % 10) / 10,
    });

    // Act
    for (let i = 0; i < 12; i++) await counters.add(day, 'sent');
    await counters.add(day, 'accepted');
    await counters.add(day, 'failed');
    const read = await counters.read(day);

    // Assess
    expect(read).toEqual({ ...NO_COUNTS, accepted: 1, sent: 12, retried: 0, failed: 1 });
    const first = await stored(`stats#${day}#0`);
    const last = await stored(`stats#${day}#9`);
    expect(first).toMatchObject({ sent: 2 });
    expect(last).toMatchObject({ sent: 1 });
    expect(first.expiresAt).toBe(Date.parse(`${day}T00:00:00Z`) / 1000 + STATS_TTL_DAYS * 24 * 3600);
  });

  it('adds a day counted before the counters were sharded', async () => {
    // Prepare
    const day = '2025-04-02';
    await table.put({ taskId: `stats#${day}`, sent: 5 } as never);
    const counters = new DailyCounterStore({ dynamodb: table.dynamodb, tableName: table.tableName });

    // Act
    await counters.add(day, 'sent');
    const read = await counters.read(day);

    // Assess
    expect(read).toEqual({ ...NO_COUNTS, accepted: 0, sent: 6, retried: 0, failed: 0 });
  });

  it('reads zeros for a day without any', async () => {
    // Prepare
    const counters = new DailyCounterStore({ dynamodb: table.dynamodb, tableName: table.tableName });

    // Act
    const read = await counters.read('1999-01-01');

    // Assess
    expect(read).toEqual({ ...NO_COUNTS, accepted: 0, sent: 0, retried: 0, failed: 0 });
  });

  it('tells of a count that failed instead of rejecting', async () => {
    // Prepare
    const errors: unknown[] = [];
    const counters = new DailyCounterStore({
      dynamodb: table.dynamodb,
      tableName: 'NoSuchTable',
      onError: (error) => errors.push(error),
    });

    // Act
    await counters.add('2025-04-03', 'sent');

    // Assess
    expect(errors).toHaveLength(1);
  });
});
