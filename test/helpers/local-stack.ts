/**
 * Helpers for tests that run the local stack (integration, browser and bench tests): start it on
 * free ports, submit feedback over HTTP, wait for a task's status, read the SES emulator's mailbox.
 * One stack per test file (process): see `startLocalStack`.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import type { TaskStatus, TaskView } from '../../functions/task/record.ts';
import { type LocalStack, type LocalStackOptions, startLocalStack } from '../../lib/local/stack.ts';

export type { LocalStack, LocalStackOptions };

/**
 * The local stack for a test: free ports, in memory, no slow work, quiet, short long polls (so that
 * `pausePoller()` is quick), and an SES send rate above the sandbox's 1/s so that a handful of tasks
 * take a second, not ten. Any option may be overridden.
 */
export function startTestStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  return startLocalStack({ workSeconds: 0, quiet: true, pollWaitSeconds: 1, sesMaxSendRate: 50, ...options });
}

/** Polls `check` until it is true (or a value other than false/undefined); fails with `what` after `timeoutMs`. */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  {
    timeoutMs = 20_000,
    intervalMs = 100,
    what = 'the condition',
  }: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<Exclude<T, false | undefined>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== false && value !== undefined) return value as Exclude<T, false | undefined>;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** An HTTP answer with its body parsed as JSON when it is JSON. */
export interface Answer<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

async function answerOf<T>(response: Response): Promise<Answer<T>> {
  const text = await response.text();
  let body: unknown = text;
  if ((response.headers.get('content-type') ?? '').includes('json') && text !== '') body = JSON.parse(text);
  return { status: response.status, headers: response.headers, body: body as T, text };
}

/** The 202 body of an accepted feedback. */
export interface Accepted {
  taskId: string;
  status: 'PENDING';
  statusUrl: string;
}

/**
 * POST /api/feedback. An object is sent as JSON; a `URLSearchParams` as a form post; a string as is
 * with `contentType`.
 */
export async function submitFeedback<T = Accepted>(
  stack: Pick<LocalStack, 'url'>,
  body: Record<string, unknown> | URLSearchParams | string,
  {
    contentType,
    accept,
    headers = {},
  }: { contentType?: string; accept?: string; headers?: Record<string, string> } = {},
): Promise<Answer<T>> {
  const isForm = body instanceof URLSearchParams;
  const response = await fetch(`${stack.url}/api/feedback`, {
    method: 'POST',
    redirect: 'manual',
    headers: {
      'content-type':
        contentType ??
        (isForm
          ? 'application/x-www-form-urlencoded'
          : typeof body === 'string'
            ? 'text/plain'
            : 'application/json'),
      ...(accept ? { accept } : {}),
      ...headers,
    },
    body: isForm || typeof body === 'string' ? body.toString() : JSON.stringify(body),
  });
  return answerOf<T>(response);
}

/** GET /api/tasks/{taskId} as JSON. */
export async function getTask(stack: Pick<LocalStack, 'url'>, taskId: string): Promise<Answer<TaskView>> {
  const response = await fetch(`${stack.url}/api/tasks/${taskId}`, {
    headers: { accept: 'application/json' },
  });
  return answerOf<TaskView>(response);
}

/**
 * Polls the status API until the task is in one of `statuses`; resolves with its view and every
 * status seen on the way (in order, without repeats).
 */
export async function waitForStatus(
  stack: Pick<LocalStack, 'url'>,
  taskId: string,
  statuses: TaskStatus | TaskStatus[],
  timeoutMs = 20_000,
): Promise<{ task: TaskView; seen: TaskStatus[] }> {
  const wanted = Array.isArray(statuses) ? statuses : [statuses];
  const seen: TaskStatus[] = [];
  const task = await waitFor(
    async () => {
      const { status, body } = await getTask(stack, taskId);
      if (status !== 200) return undefined;
      if (seen.at(-1) !== body.status) seen.push(body.status);
      return wanted.includes(body.status) ? body : undefined;
    },
    {
      timeoutMs,
      intervalMs: 50,
      what: `task ${taskId} to be ${wanted.join(' or ')} (seen: ${seen.join(' → ') || 'nothing'})`,
    },
  );
  return { task, seen };
}

/** An email as the SES emulator keeps it (`GET /store`). */
export interface StoredEmail {
  messageId: string;
  from: string;
  replyTo: string[];
  destination: { to: string[]; cc: string[]; bcc: string[] };
  subject: string;
  body: { text?: string; html?: string };
  /** Epoch seconds. */
  at: number;
}

/** Every email the SES emulator accepted, oldest first. */
export async function readMailbox(stack: Pick<LocalStack, 'sesUrl'>): Promise<StoredEmail[]> {
  const response = await fetch(`${stack.sesUrl}/store`);
  if (!response.ok) throw new Error(`The SES emulator's /store answered ${response.status}`);
  return ((await response.json()) as { emails: StoredEmail[] }).emails;
}

/** The emails to `address`, once there are at least `count` of them. */
export function waitForEmails(
  stack: Pick<LocalStack, 'sesUrl'>,
  address: string,
  count = 1,
  timeoutMs = 20_000,
): Promise<StoredEmail[]> {
  return waitFor(
    async () => {
      const emails = (await readMailbox(stack)).filter((email) => email.destination.to.includes(address));
      return emails.length >= count ? emails : undefined;
    },
    { timeoutMs, what: `${count} email(s) to ${address}` },
  );
}

/** Messages on a queue: visible ones and those in flight (hidden until their visibility timeout). */
export async function queueDepth(
  stack: { clients: Pick<LocalStack['clients'], 'sqs'> },
  queueUrl: string,
): Promise<{ visible: number; inFlight: number; total: number }> {
  const { Attributes } = await stack.clients.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  const visible = Number(Attributes?.ApproximateNumberOfMessages ?? 0);
  const inFlight = Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
  return { visible, inFlight, total: visible + inFlight };
}

/** A unique address per test, so that tests sharing a mailbox do not read each other's emails. */
export function uniqueAddress(label = 'visitor'): string {
  return `${label}-${Math.random().toString(36).slice(2, 10)}@example.com`;
}

const ROOT = join(import.meta.dirname, '..', '..');

/**
 * Runs a command-line tool (`bin/<script>`) as `npm run <tool>` would, with more environment variables
 * (`LOCAL_DATA_DIR`: the data folder of the stack it should find). Asynchronously: a stack running in
 * the test's own process must go on answering.
 */
export function runCli(
  script: string,
  args: string[] = [],
  variables: Record<string, string> = {},
): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(ROOT, 'bin', script), ...args],
      // Without the log level a stack in this process set for its handlers: the tool's own applies.
      { cwd: ROOT, env: { ...process.env, POWERTOOLS_LOG_LEVEL: '', ...variables }, timeout: 30_000 },
      (error, stdout, stderr) => {
        resolve({ status: error ? Number(error.code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}
