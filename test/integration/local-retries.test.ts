/**
 * Transient failures on the local stack: SES unreachable for a while → RETRY, then
 * SUCCESS once it is back, nothing lost; SES unreachable for good → RETRY, then FAILURE with the
 * message moved to the dead-letter queue by the worker after its attempts; `npm run redrive` brings it
 * back. Small visibility timeout and attempt limit so that this takes seconds.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type LocalStack,
  queueDepth,
  readMailbox,
  runCli,
  startTestStack,
  submitFeedback,
  uniqueAddress,
  waitFor,
  waitForEmails,
  waitForStatus,
} from '../helpers/local-stack.ts';

let stack: LocalStack;
/** The stack's data folder: the tools find its ports in the state file it writes there. */
let dataDir: string;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'local-retries-'));
  stack = await startTestStack({ maxAttempts: 2, visibilityTimeoutSeconds: 3, dataDir });
});

afterAll(async () => {
  await stack?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Runs a CLI tool against this stack: it reads the stack's ports from the state file in `dataDir`. */
const runTool = (script: string, args: string[] = [], variables: Record<string, string> = {}) =>
  runCli(script, args, { LOCAL_DATA_DIR: dataDir, ...variables });

describe('SES unreachable for a while', () => {
  it('shows RETRY, then SUCCESS once SES is back, with one email and nothing left on the queues', async () => {
    // Prepare
    const email = uniqueAddress('outage');
    await stack.stopSes();

    // Act
    const accepted = await submitFeedback(stack, { email, message: 'during the outage' });
    const retry = await waitForStatus(stack, accepted.body.taskId, 'RETRY');
    await stack.startSes();
    const done = await waitForStatus(stack, accepted.body.taskId, ['SUCCESS', 'FAILURE']);

    // Assess
    expect(retry.task.error?.message).toEqual(expect.any(String));
    expect(done.task.status).toBe('SUCCESS');
    expect(done.task.attempts).toBe(2);
    expect(done.task.error).toBeUndefined();
    expect(await waitForEmails(stack, email)).toHaveLength(1);
    await waitFor(async () => (await queueDepth(stack, stack.queueUrl)).total === 0, {
      what: 'an empty queue',
    });
    expect((await queueDepth(stack, stack.deadLetterQueueUrl)).total).toBe(0);
  });
});

describe('SES unreachable for good', () => {
  let taskId: string;
  const email = uniqueAddress('gone');

  it('shows RETRY, then FAILURE with the reason, and its message goes to the dead-letter queue', async () => {
    // Prepare
    await stack.stopSes();

    // Act
    const accepted = await submitFeedback(stack, { email, message: 'never delivered' });
    taskId = accepted.body.taskId;
    const failed = await waitForStatus(stack, taskId, 'FAILURE');
    await waitFor(async () => (await queueDepth(stack, stack.deadLetterQueueUrl)).total === 1, {
      what: 'the message in the dead-letter queue',
    });

    // Assess
    expect(failed.seen).toContain('RETRY');
    expect(failed.task).toMatchObject({
      status: 'FAILURE',
      attempts: 2,
      error: { type: expect.any(String) },
    });
    expect(failed.task.error?.message).not.toContain(email);
    expect((await queueDepth(stack, stack.queueUrl)).total).toBe(0);
    await stack.startSes();
    expect((await readMailbox(stack)).filter((e) => e.destination.to.includes(email))).toHaveLength(0);
  });

  it('prints the record with `npm run task`', async () => {
    const result = await runTool('task.ts', [taskId]);
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ taskId, status: 'FAILURE', retriesExhausted: true });
    expect(result.stdout).not.toContain(email);
  });

  it('lists it with `npm run tasks`, but not a honeypot decoy nor the counters beside the tasks', async () => {
    // Prepare
    const decoy = await submitFeedback(stack, {
      email: uniqueAddress('bot'),
      message: 'spam',
      website: 'http://spam.example',
    });

    // Act
    const result = await runTool('tasks.ts');

    // Assess
    expect(decoy.status).toBe(202);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`${taskId}\\s+FAILURE\\s+2`));
    expect(result.stdout).toMatch(/^TASK\s+STATUS\s+ATTEMPTS\s+CREATED \(UTC\)\s+RUNTIME\s+EMAILS\s+ERROR$/m);
    expect(result.stdout).not.toContain(decoy.body.taskId);
    expect(result.stdout).not.toMatch(/stats#|limit#/);
  });

  it('sends it once `npm run redrive` moved the message back, SES being up again', async () => {
    // Act
    const result = await runTool('redrive.ts');
    const done = await waitForStatus(stack, taskId, ['SUCCESS']);

    // Assess
    expect(result.status).toBe(0);
    expect(result.stdout).toContain(`moved task ${taskId}`);
    expect(result.stdout).toContain('1 message(s) moved back');
    expect(done.task.attempts).toBe(3);
    expect(await waitForEmails(stack, email)).toHaveLength(1);
    expect((await queueDepth(stack, stack.deadLetterQueueUrl)).total).toBe(0);
    const listed = await runTool('tasks.ts');
    expect(listed.stdout).toMatch(new RegExp(`${taskId}\\s+SUCCESS\\s+3\\s+.*visitor (SENT|DELIVERED)`));
  });

  it('says clearly when the local stack is not running', async () => {
    const noStack = mkdtempSync(join(tmpdir(), 'no-stack-'));
    const result = await runTool('task.ts', [taskId], {
      LOCAL_DATA_DIR: noStack,
      DYNAMODB_PORT: '9',
      SQS_PORT: '9',
    });
    rmSync(noStack, { recursive: true, force: true });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('The local stack is not running');
    expect(result.stderr).toContain('npm start');
  });
});
