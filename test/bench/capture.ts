/**
 * Records the SDK calls each handler makes for one event on its happy path (command, input, and which
 * calls run at the same time), by a middleware on the handlers' own clients that answers in AWS's place.
 * The benchmark's baselines replay exactly these calls, so that a cold start is compared with the bare
 * cost of the same clients and the same requests. Writes JSON to the file named by argv[2].
 */
import { writeFileSync } from 'node:fs';
import { lambdaContext } from '../helpers/sqs-event.ts';
import { type CapturedCall, TASK_ID_PLACEHOLDER } from './baseline.ts';
import { benchEvents } from './events.ts';
import { benchHandlerEnv } from './handler-env.ts';
import { cannedAnswers, stubHandlerClients } from './stub-clients.ts';

const outFile = process.argv[2];
Object.assign(process.env, benchHandlerEnv, {
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

const context = lambdaContext('capture');

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

const submit = await import('../../functions/submit-feedback.ts');
await capture('submit-feedback', () => submit.handler(benchEvents.submit(), context));
const getTask = await import('../../functions/get-task.ts');
await capture('get-task', () => getTask.handler(benchEvents.getTask(TASK_ID_PLACEHOLDER), context));
const report = await import('../../functions/daily-report.ts');
await capture('daily-report', () => report.handler(benchEvents.report()));
process.env = workerEnv;
const worker = await import('../../functions/send-feedback-email.ts');
await capture('send-feedback-email', () =>
  worker.handler(benchEvents.worker(TASK_ID_PLACEHOLDER, now), context),
);

writeFileSync(outFile ?? '/dev/stdout', JSON.stringify(result));
