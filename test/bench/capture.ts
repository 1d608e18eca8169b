/**
 * Records the SDK calls each handler makes for one event on its happy path (command, input, and which
 * calls run at the same time), by a middleware on the handlers' own clients that answers in AWS's place.
 * The benchmark's baselines replay exactly these calls, so that a cold start is compared with the bare
 * cost of the same clients and the same requests. Writes JSON to the file named by argv[2].
 */
import { writeFileSync } from 'node:fs';
import type { Context } from 'aws-lambda';
import { type CapturedCall, TASK_ID_PLACEHOLDER } from './baseline';
import { apiEvent, sqsEvent } from './events';
import { cannedAnswers, stubHandlerClients } from './stub-clients';

const outFile = process.argv[2];
Object.assign(process.env, {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'capture',
  AWS_SECRET_ACCESS_KEY: 'capture',
  TASKS_TABLE_NAME: '__TABLE__',
  FEEDBACK_QUEUE_URL: '__QUEUE_URL__',
  DEAD_LETTER_QUEUE_URL: '__DLQ_URL__',
  SENDER_EMAIL: 'support@example.com',
  NOTIFY_EMAIL: 'owner@example.com',
  FEEDBACK_WORK_SECONDS: '0',
  SES_MAX_SEND_RATE: '1000000',
  POWERTOOLS_LOG_LEVEL: 'SILENT',
  POWERTOOLS_METRICS_DISABLED: 'true',
});
// Only the visitor's email: the report function has the owner's address, the worker runs without it.
const workerEnv = { ...process.env, NOTIFY_EMAIL: undefined };

const now = new Date().toISOString();
let calls: CapturedCall[] = [];
let inFlight = 0;
let group = 0;
await stubHandlerClients(cannedAnswers(TASK_ID_PLACEHOLDER, now), async (client, command, input) => {
  if (inFlight === 0) group += 1;
  inFlight += 1;
  calls.push({ client, command, input, group });
  await new Promise((resolve) => setImmediate(resolve));
  inFlight -= 1;
});

const context = {
  functionName: 'capture',
  awsRequestId: 'capture',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:capture',
  memoryLimitInMB: '256',
  getRemainingTimeInMillis: () => 60_000,
} as Context;

const result: Record<string, CapturedCall[]> = {};
async function capture(name: string, invoke: () => Promise<unknown>) {
  calls = [];
  group = 0;
  await invoke();
  // The task id the handler made up (submit) or was given, as a placeholder the replay fills in.
  const put = calls.find((c) => c.command === 'PutItemCommand')?.input as {
    Item?: { taskId?: { S?: string } };
  };
  const madeUp = put?.Item?.taskId?.S;
  let text = JSON.stringify(calls);
  if (madeUp) text = text.replaceAll(madeUp, TASK_ID_PLACEHOLDER);
  result[name] = JSON.parse(text) as CapturedCall[];
}

const submit = await import('../../functions/submit-feedback');
await capture('submit-feedback', () =>
  submit.handler(
    apiEvent('POST', '/api/feedback', {
      body: JSON.stringify({ email: 'visitor@example.com', message: 'Cold start feedback.' }),
    }),
    context,
  ),
);
const getTask = await import('../../functions/get-task');
await capture('get-task', () =>
  getTask.handler(
    apiEvent('GET', `/api/tasks/${TASK_ID_PLACEHOLDER}`, { pathParameters: { taskId: TASK_ID_PLACEHOLDER } }),
    context,
  ),
);
const report = await import('../../functions/daily-report');
await capture('daily-report', () => report.handler({}));
process.env = workerEnv;
const worker = await import('../../functions/send-feedback-email');
await capture('send-feedback-email', () =>
  worker.handler(
    sqsEvent({
      taskId: TASK_ID_PLACEHOLDER,
      email: 'visitor@example.com',
      message: 'Cold start.',
      createdAt: now,
    }),
    context,
  ),
);

writeFileSync(outFile ?? '/dev/stdout', JSON.stringify(result));
