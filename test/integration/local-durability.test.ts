/**
 * The local stack loses no accepted feedback, however it ends: `npm start` (bin/local.ts) runs as a
 * child process, tasks are queued and in flight, and the process is killed (SIGKILL), stopped with two
 * Ctrl-C (the second exits without waiting) or with SIGHUP (the terminal closed). Started again on the
 * same data folder, every accepted task ends SUCCESS with exactly one email, counted over both runs
 * (the SES emulator's mailbox lives in memory, so each run's mailbox is read before it ends).
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LOCAL_STACK_STATE_FILE } from '../../lib/local/state.ts';
import { validFeedback } from '../helpers/feedback.ts';
import {
  getTask,
  readMailbox,
  type StoredEmail,
  submitFeedback,
  uniqueAddress,
  waitFor,
  waitForStatus,
} from '../helpers/local-stack.ts';
import { killStarted, type StartedProcess, startNpmStart } from '../helpers/npm-start.ts';

const TASKS = 15;

let dataDir: string;

afterEach(() => {
  killStarted();
  rmSync(dataDir, { recursive: true, force: true });
});

/**
 * `npm start` on free ports and `dataDir`: two worker invocations of five tasks at once (SES at 5/s),
 * 1 s of work each unless `variables` say otherwise, so that of 15 tasks ten are in flight and five
 * queued; a 5 s visibility timeout and lease, so that a task in flight at the end comes back 5 s after
 * it was received.
 */
function startStack(variables: Record<string, string> = {}): Promise<StartedProcess> {
  return startNpmStart(
    dataDir,
    {
      FEEDBACK_WORK_SECONDS: '1',
      SES_MAX_SEND_RATE: '5',
      TASK_LEASE_SECONDS: '5',
      LOCAL_VISIBILITY_TIMEOUT_SECONDS: '5',
      NOTIFY_EMAIL: '',
      ...variables,
    },
    30_000,
  );
}

/** Submits the tasks and waits until the first ones are in flight; resolves with their ids and addresses. */
/**
 * Work long enough that no email goes out in the moment between reading the mailbox and ending the
 * stack, and a slower SES (2/s: two invocations at once) so that five of the tasks stay queued.
 */
const SLOW = { FEEDBACK_WORK_SECONDS: '4', SES_MAX_SEND_RATE: '2' };

async function submitTasks(stack: Pick<StartedProcess, 'url'>): Promise<Map<string, string>> {
  const tasks = new Map<string, string>();
  for (let n = 0; n < TASKS; n += 1) {
    const email = uniqueAddress(`durable-${n}`);
    const accepted = await submitFeedback(stack, validFeedback({ email, message: `task ${n}` }));
    expect(accepted.status).toBe(202);
    tasks.set(accepted.body.taskId, email);
  }
  await waitForStatus(stack, [...tasks.keys()][0] ?? '', 'STARTED');
  return tasks;
}

/** The tasks' states now, to show that some are in flight and some still queued. */
async function statesOf(
  stack: Pick<StartedProcess, 'url'>,
  tasks: Map<string, string>,
): Promise<Set<string>> {
  const answers = await Promise.all([...tasks.keys()].map((taskId) => getTask(stack, taskId)));
  return new Set(answers.map((answer) => answer.body.status));
}

/**
 * After the restart: every task SUCCESS with one email over both runs. A task finished in the first run
 * gets no email in the second; its own email is in `firstRun` unless it went out in the last moment
 * of a stop that waits for the tasks in flight, after the last read of that run's mailbox.
 */
async function expectEveryTaskDoneOnce(
  tasks: Map<string, string>,
  firstRun: StoredEmail[],
  { firstRunReadToTheEnd = true } = {},
) {
  const restartedAt = new Date().toISOString();
  const stack = await startStack();
  const finishedAt = new Map<string, string>();
  for (const taskId of tasks.keys()) {
    const { task } = await waitForStatus(stack, taskId, 'SUCCESS', 60_000);
    finishedAt.set(taskId, task.finishedAt ?? '');
  }
  const secondRun = await readMailbox(stack);
  for (const [taskId, email] of tasks) {
    const to = (run: StoredEmail[]) => run.filter((e) => e.destination.to.includes(email)).length;
    if ((finishedAt.get(taskId) ?? '') < restartedAt) {
      expect(to(secondRun), `${email}, done in the first run`).toBe(0);
      if (firstRunReadToTheEnd) expect(to(firstRun), email).toBe(1);
      else expect(to(firstRun), email).toBeLessThanOrEqual(1);
    } else {
      expect(to(firstRun) + to(secondRun), email).toBe(1);
    }
  }
  stack.child.kill('SIGINT');
  expect((await stack.exited).code).toBe(0);
  expect(existsSync(join(dataDir, LOCAL_STACK_STATE_FILE))).toBe(false);
}

describe('the local stack keeps every accepted task', { timeout: 180_000 }, () => {
  it('through SIGKILL, taking over the state file the killed stack left', async () => {
    // Prepare
    dataDir = mkdtempSync(join(tmpdir(), 'local-durability-'));
    const stack = await startStack(SLOW);
    const tasks = await submitTasks(stack);

    // Act
    const states = await statesOf(stack, tasks);
    const firstRun = await readMailbox(stack);
    stack.child.kill('SIGKILL');
    await stack.exited;

    // Assess
    expect([...states].sort()).toEqual(['PENDING', 'STARTED']);
    expect(firstRun).toEqual([]);
    expect(existsSync(join(dataDir, LOCAL_STACK_STATE_FILE))).toBe(true);
    await expectEveryTaskDoneOnce(tasks, firstRun);
  });

  it('through a second Ctrl-C, which exits without waiting', async () => {
    // Prepare
    dataDir = mkdtempSync(join(tmpdir(), 'local-durability-'));
    // The first stop is still waiting for the tasks in flight a second later.
    const stack = await startStack(SLOW);
    const tasks = await submitTasks(stack);

    // Act
    const states = await statesOf(stack, tasks);
    stack.child.kill('SIGINT');
    await waitFor(() => stack.output().includes('SIGINT: no new requests'), { what: 'the first stop' });
    // A second Ctrl-C within a second is the same one, forwarded by npm: the test waits that out.
    await new Promise((wait) => setTimeout(wait, 1100));
    const firstRun = await readMailbox(stack);
    stack.child.kill('SIGINT');

    // Assess
    expect((await stack.exited).code).toBe(130);
    expect([...states].sort()).toEqual(['PENDING', 'STARTED']);
    expect(firstRun).toEqual([]);
    expect(existsSync(join(dataDir, LOCAL_STACK_STATE_FILE))).toBe(false);
    await expectEveryTaskDoneOnce(tasks, firstRun);
  });

  it('through SIGHUP (the terminal closed), stopping as Ctrl-C does', async () => {
    // Prepare
    dataDir = mkdtempSync(join(tmpdir(), 'local-durability-'));
    const stack = await startStack();
    const tasks = await submitTasks(stack);

    // Act
    stack.child.kill('SIGHUP');
    await waitFor(() => stack.output().includes('SIGHUP: no new requests'), { what: 'the stop' });
    // The stop waits for the invocations in flight, then closes the emulators: the last mailbox read
    // before SES stops answering holds every email of this run.
    let firstRun: StoredEmail[] = [];
    for (;;) {
      const read = await readMailbox(stack).catch(() => undefined);
      if (!read) break;
      firstRun = read;
      await new Promise((wait) => setTimeout(wait, 20));
    }
    const exitCode = (await stack.exited).code;

    // Assess
    expect(exitCode).toBe(0);
    expect(firstRun.length).toBeLessThan(TASKS);
    await expectEveryTaskDoneOnce(tasks, firstRun, { firstRunReadToTheEnd: false });
  });
});
