/**
 * The local stack with a data folder, as `npm start` runs it: it claims the folder and writes its state
 * (pid, ports, addresses) there for the command-line tools, keeps every queued message on disk from
 * the moment it is sent, and removes its state at stop. Another live stack's claim is refused, a dead
 * one's taken over. (local-durability.test.ts kills a stack and starts it again.)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  claimDataDir,
  DataDirInUseError,
  LOCAL_STACK_STATE_FILE,
  readStackState,
} from '../../lib/local/state.ts';
import { validFeedback } from '../helpers/feedback.ts';
import {
  type LocalStack,
  readMailbox,
  runCli,
  startTestStack,
  submitFeedback,
  waitFor,
  waitForStatus,
} from '../helpers/local-stack.ts';

const OWNER = 'owner@example.com';

let dataDir: string;
let stack: LocalStack;
const lines: string[] = [];

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'local-data-dir-'));
  stack = await startTestStack({
    dataDir,
    notifyEmail: OWNER,
    reportSchedule: false,
    quiet: false,
    log: (line) => lines.push(line),
  });
});

afterAll(async () => {
  await stack?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const stateFile = () => join(dataDir, LOCAL_STACK_STATE_FILE);

describe('a local stack with a data folder', () => {
  it('writes its pid, ports and addresses to the state file the command-line tools read', () => {
    expect(JSON.parse(readFileSync(stateFile(), 'utf8'))).toEqual({
      pid: process.pid,
      ports: stack.ports,
      senderEmail: 'support@example.com',
      notifyEmail: OWNER,
    });
    expect(readStackState(dataDir)).toMatchObject({ pid: process.pid, ports: stack.ports });
  });

  it('logs each request and each task from received to succeeded, from the handlers’ own log lines', async () => {
    const accepted = await submitFeedback(
      stack,
      validFeedback({ email: 'logged@example.com', message: 'hello' }),
    );
    const taskId = accepted.body.taskId;
    await waitForStatus(stack, taskId, 'SUCCESS');
    // The outcome's line follows the invocation's end, a little after the record says SUCCESS.
    await waitFor(() => lines.some((line) => line.startsWith(`[tasks] task ${taskId} succeeded in`)), {
      what: 'the line of the succeeded task',
    });

    expect(lines).toContainEqual(expect.stringMatching(/^\[web\] POST \/api\/feedback 202 \d+ms$/));
    expect(lines).toContain(`[web] task ${taskId} accepted`);
    expect(lines).toContain(`[tasks] task ${taskId} received`);
    expect(lines).toContainEqual(
      expect.stringMatching(new RegExp(`^\\[tasks\\] task ${taskId} succeeded in`)),
    );
    expect(lines.join('\n')).not.toContain('logged@example.com');
  });

  it('says which task each line is about when requests run at once, as each runs in its own environment', async () => {
    // Act: feedback submitted at once, each invocation with its own task id in its logger's keys.
    const taskIds = await Promise.all(
      Array.from(
        { length: 8 },
        async () =>
          (await submitFeedback(stack, validFeedback({ email: 'many@example.com', message: 'hi' }))).body
            .taskId,
      ),
    );
    await Promise.all(taskIds.map((taskId) => waitForStatus(stack, taskId, 'SUCCESS')));

    // Assess: one "accepted" line per task, none twice (a shared logger would have mixed their keys).
    const accepted = lines.filter(
      (line) => / accepted$/.test(line) && taskIds.some((id) => line.includes(id)),
    );
    expect(accepted.sort()).toEqual(taskIds.map((taskId) => `[web] task ${taskId} accepted`).sort());
  });

  it('lets `npm run report` find it and mail the owner it was started with', async () => {
    // Act
    const result = await runCli('report.ts', ['--date', '2025-01-02'], { LOCAL_DATA_DIR: dataDir });

    // Assess
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout.slice(0, result.stdout.lastIndexOf('}') + 1))).toMatchObject({
      date: '2025-01-02',
    });
    const email = await waitFor(async () =>
      (await readMailbox(stack)).find((e) => e.subject === 'Feedback report for 2025-01-02'),
    );
    expect(email.destination.to).toEqual([OWNER]);
  });
});

describe('claiming a data folder', () => {
  let folder: string;

  beforeAll(() => {
    folder = mkdtempSync(join(tmpdir(), 'local-claim-'));
  });

  afterAll(() => {
    rmSync(folder, { recursive: true, force: true });
  });

  it('refuses a folder whose state file names another live process', () => {
    writeFileSync(join(folder, LOCAL_STACK_STATE_FILE), JSON.stringify({ pid: process.ppid }));
    expect(() => claimDataDir(folder)).toThrow(DataDirInUseError);
    expect(() => claimDataDir(folder)).toThrow(`process ${process.ppid}`);
  });

  it('takes over the state file of a stack that is gone, and removes it at release', () => {
    const { pid: deadPid } = spawnSync(process.execPath, ['-e', '']);
    writeFileSync(join(folder, LOCAL_STACK_STATE_FILE), JSON.stringify({ pid: deadPid }));
    expect(readStackState(folder)).toBeUndefined();

    const claim = claimDataDir(folder);
    expect(readStackState(folder)).toEqual({ pid: process.pid });
    claim.release();

    expect(existsSync(join(folder, LOCAL_STACK_STATE_FILE))).toBe(false);
  });
});

describe('the data folder', () => {
  it('is ignored by git (and so by Biome) wherever it is', () => {
    expect(readFileSync(join(dataDir, '.gitignore'), 'utf8')).toBe('*\n');
  });

  it('holds each queued message from the moment it is accepted, and nothing once it is done', async () => {
    // Prepare: with the worker paused, the task's message stays on the queue.
    await stack.pausePoller();
    const accepted = await submitFeedback(
      stack,
      validFeedback({ email: 'kept@example.com', message: 'for later' }),
    );
    const queueDir = join(dataDir, 'sqs', 'feedback-queue');

    // Act
    const kept = readdirSync(queueDir).map((name) => JSON.parse(readFileSync(join(queueDir, name), 'utf8')));
    stack.resumePoller();
    await waitForStatus(stack, accepted.body.taskId, 'SUCCESS');

    // Assess
    expect(kept).toEqual([expect.objectContaining({ receives: 0, invisibleUntil: expect.any(Number) })]);
    expect(JSON.parse(kept[0].body).taskId).toBe(accepted.body.taskId);
    await waitFor(() => readdirSync(queueDir).length === 0, { what: 'the message file removed' });
  });

  it('loses its state file at stop', async () => {
    await stack.stop();
    expect(existsSync(stateFile())).toBe(false);
  });
});
