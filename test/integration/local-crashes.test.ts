/**
 * Crashes that no handler's own error path sees, on the local stack run as `npm start` (bin/local.ts)
 * in a child process: `LOCAL_CRASH_ON` kills the whole process (SIGKILL, as `kill -9`) the moment the
 * SES or SQS emulator receives the named call — deterministic, on every receive, not a matter of timing.
 *
 * - The worker killed mid-attempt (at its SES call) on every receive, then once more while moving the
 *   message to the dead-letter queue: the task ends `FAILURE` with "worker lost", written before the
 *   move, its message in the dead-letter queue once; `npm run redrive` then completes it with exactly
 *   one email.
 * - The submit killed between the record and the message: no message, and the tools do not count the
 *   record as queued.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterEach, describe, expect, it } from 'vitest';
import { LOCAL_CLIENT_CONFIG, localResourceNames } from '../../lib/local/resources.ts';
import { validFeedback } from '../helpers/feedback.ts';
import {
  getTask,
  queueDepth,
  readMailbox,
  runCli,
  submitFeedback,
  uniqueAddress,
  waitFor,
  waitForStatus,
} from '../helpers/local-stack.ts';
import { type Ended, killStarted, startNpmStart } from '../helpers/npm-start.ts';

const MAX_ATTEMPTS = 2;

interface RunningStack {
  url: string;
  sesUrl: string;
  /** An SQS client of this run's emulator, with its queues' URLs. */
  clients: { sqs: SQSClient };
  queueUrl: string;
  deadLetterQueueUrl: string;
  exited: Promise<Ended>;
  stop(): Promise<void>;
}

const clients: SQSClient[] = [];
let dataDir: string;

afterEach(() => {
  killStarted();
  for (const client of clients.splice(0)) client.destroy();
  rmSync(dataDir, { recursive: true, force: true });
});

/**
 * `npm start` on free ports and `dataDir`, with a 2 s visibility timeout and lease (so that a message
 * in flight when the process was killed comes back soon) and the worker's limit of 2 attempts.
 */
async function startStack(variables: Record<string, string> = {}): Promise<RunningStack> {
  const started = await startNpmStart(dataDir, {
    FEEDBACK_WORK_SECONDS: '0',
    SES_MAX_SEND_RATE: '10',
    TASK_LEASE_SECONDS: '2',
    LOCAL_VISIBILITY_TIMEOUT_SECONDS: '2',
    MAX_ATTEMPTS: String(MAX_ATTEMPTS),
    NOTIFY_EMAIL: '',
    LOCAL_CRASH_ON: '',
    ...variables,
  });
  const sqs = new SQSClient({
    ...LOCAL_CLIENT_CONFIG,
    endpoint: `http://127.0.0.1:${started.state.ports.sqs}`,
  });
  clients.push(sqs);
  const queueUrl = async (QueueName: string) =>
    (await sqs.send(new GetQueueUrlCommand({ QueueName }))).QueueUrl ?? '';
  return {
    url: started.url,
    sesUrl: started.sesUrl,
    clients: { sqs },
    queueUrl: await queueUrl(localResourceNames.queue),
    deadLetterQueueUrl: await queueUrl(localResourceNames.deadLetterQueue),
    exited: started.exited,
    stop: async () => {
      started.child.kill('SIGINT');
      await started.exited;
    },
  };
}

/** Runs a CLI tool against the stack running on `dataDir`. */
const runTool = (script: string, args: string[] = []) => runCli(script, args, { LOCAL_DATA_DIR: dataDir });

describe('a worker killed mid-attempt on every receive', { timeout: 240_000 }, () => {
  it('ends FAILURE (worker lost) with its message in the dead-letter queue, even when the move is cut short; redrive sends it once', async () => {
    // Prepare
    dataDir = mkdtempSync(join(tmpdir(), 'local-crashes-'));
    const email = uniqueAddress('crashing');
    const atTheSend = { LOCAL_CRASH_ON: `SendEmail:${email}` };
    const first = await startStack(atTheSend);
    const accepted = await submitFeedback(first, validFeedback({ email, message: 'the worker dies here' }));
    expect(accepted.status).toBe(202);
    const { taskId } = accepted.body;

    // Act: each attempt kills the stack at its SES call; each start brings the message back. Then the
    // give-up's move to the dead-letter queue (a SendMessage of the same body) kills it once more.
    const ends = [await first.exited];
    for (let attempt = 2; attempt <= MAX_ATTEMPTS; attempt++)
      ends.push(await (await startStack(atTheSend)).exited);
    ends.push(await (await startStack({ LOCAL_CRASH_ON: `SendMessage:${email}` })).exited);
    const restartedAt = new Date().toISOString();
    const givenUp = await startStack(atTheSend);
    const { task } = await waitForStatus(givenUp, taskId, ['SUCCESS', 'FAILURE'], 60_000);
    await waitFor(async () => (await queueDepth(givenUp, givenUp.deadLetterQueueUrl)).total === 1, {
      what: 'the message in the dead-letter queue',
    });
    await waitFor(async () => (await queueDepth(givenUp, givenUp.queueUrl)).total === 0, {
      what: 'an empty feedback queue',
    });
    const listed = await runTool('tasks.ts');
    const mailboxWhileCrashing = await readMailbox(givenUp);
    await givenUp.stop();

    // Assess: killed at each attempt and at the move; the verdict was written before the move was.
    expect(ends).toEqual(Array.from({ length: MAX_ATTEMPTS + 1 }, () => ({ code: null, signal: 'SIGKILL' })));
    expect(task).toMatchObject({
      status: 'FAILURE',
      attempts: MAX_ATTEMPTS,
      error: {
        type: 'WorkerLost',
        message: `The worker stopped ${MAX_ATTEMPTS} times without finishing (worker lost)`,
      },
    });
    expect((task.finishedAt ?? '') < restartedAt).toBe(true);
    expect(listed.stdout).toMatch(
      new RegExp(`${taskId}\\s+FAILURE\\s+${MAX_ATTEMPTS}\\s.*WorkerLost: The worker stopped`),
    );
    expect(mailboxWhileCrashing).toEqual([]);

    // Act: the cause is gone (no crash); the operator redrives.
    const fixed = await startStack();
    const redrive = await runTool('redrive.ts');
    const done = await waitForStatus(fixed, taskId, 'SUCCESS', 60_000);
    await waitFor(async () => (await queueDepth(fixed, fixed.queueUrl)).total === 0, {
      what: 'an empty feedback queue after the redrive',
    });

    // Assess
    expect(redrive.stdout).toContain(`moved task ${taskId}`);
    expect(done.task).toMatchObject({ status: 'SUCCESS', attempts: MAX_ATTEMPTS + 1 });
    expect(done.task.error).toBeUndefined();
    const emails = (await readMailbox(fixed)).filter((e) => e.destination.to.includes(email));
    expect(emails).toHaveLength(1);
    expect((await queueDepth(fixed, fixed.deadLetterQueueUrl)).total).toBe(0);
    await fixed.stop();
  });
});

describe('a submit killed between the record and the message', { timeout: 180_000 }, () => {
  it('leaves no message, and the tools do not count its record as queued', async () => {
    // Prepare
    dataDir = mkdtempSync(join(tmpdir(), 'local-crashes-'));
    const email = uniqueAddress('unqueued');
    const crashing = await startStack({ LOCAL_CRASH_ON: `SendMessage:${email}` });

    // Act
    const answer = await submitFeedback(
      crashing,
      validFeedback({ email, message: 'the submit dies here' }),
    ).catch((error: unknown) => error);
    const end = await crashing.exited;
    const stack = await startStack();
    const other = await submitFeedback(
      stack,
      validFeedback({ email: uniqueAddress('queued'), message: 'queued' }),
    );
    const sent = await waitForStatus(stack, other.body.taskId, 'SUCCESS');
    const listed = await runTool('tasks.ts');
    const row = listed.stdout.split('\n').find((line) => /\sUNQUEUED\s/.test(line)) ?? '';
    const unqueuedId = row.split(/\s+/)[0] ?? '';
    const record = JSON.parse((await runTool('task.ts', [unqueuedId])).stdout) as Record<string, unknown>;
    const report = await runTool('report.ts', ['--date', String(record.createdAt).slice(0, 10)]);
    const queues = [
      await queueDepth(stack, stack.queueUrl),
      await queueDepth(stack, stack.deadLetterQueueUrl),
    ];
    const status = await getTask(stack, unqueuedId);
    await stack.stop();

    // Assess: the visitor got no 202 (the connection died), and nothing was queued.
    expect(answer).toBeInstanceOf(Error);
    expect(end).toEqual({ code: null, signal: 'SIGKILL' });
    expect(queues.map((depth) => depth.total)).toEqual([0, 0]);
    expect(record).toMatchObject({ status: 'PENDING', attempts: 0 });
    expect(record).not.toHaveProperty('queuedAt');
    expect(listed.stdout).toMatch(new RegExp(`${sent.task.taskId}\\s+SUCCESS\\s`));
    expect(listed.stdout).toMatch(/\(.*1 UNQUEUED.*\)/);
    expect(listed.stdout).not.toMatch(/\d+ PENDING/);
    expect(listed.stdout).toContain('UNQUEUED: recorded, but its submit ended before the message was queued');
    // The report counts a task accepted when a worker first claims it: never this one.
    const sameDay = sent.task.createdAt.slice(0, 10) === String(record.createdAt).slice(0, 10);
    expect(JSON.parse(report.stdout.slice(0, report.stdout.lastIndexOf('}') + 1))).toMatchObject({
      accepted: sameDay ? 1 : 0,
    });
    // The status API still answers for it (nobody was given its id): PENDING, as Celery says of any unknown task.
    expect(status.body).toMatchObject({ status: 'PENDING', attempts: 0 });
  });
});
