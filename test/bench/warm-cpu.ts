/**
 * Warm CPU time per invocation of each handler, in this process, with the SDK clients stubbed: the
 * handler's own work (parsing, validation, marshalling, logging, metrics) that Lambda bills as GB-s
 * beyond the time spent waiting on AWS. Writes its result as JSON to the file named by argv[2].
 */
import { writeFileSync } from 'node:fs';
import { lambdaContext } from '../helpers/sqs-event.ts';
import { benchEvents } from './events.ts';
import { benchHandlerEnv } from './handler-env.ts';
import { cannedAnswers, stubHandlerClients } from './stub-clients.ts';

const [, , outFile, countArg] = process.argv;
const invocations = Number(countArg ?? 2000);

Object.assign(process.env, benchHandlerEnv);
// Logs go where Lambda sends them; here, nowhere, but they are still produced.
process.stdout.write = () => true;

const taskId = '3b241101-e2bb-4255-8caf-4136c566a962';
const now = new Date().toISOString();
await stubHandlerClients(cannedAnswers(taskId, now));

const context = lambdaContext('bench');

const cases: [string, () => Promise<unknown>][] = [];
const submit = await import('../../functions/submit-feedback.ts');
const submitEvent = benchEvents.submit();
cases.push(['submit-feedback', () => submit.handler(submitEvent, context)]);
const getTask = await import('../../functions/get-task.ts');
const getEvent = benchEvents.getTask(taskId);
cases.push(['get-task', () => getTask.handler(getEvent, context)]);
const worker = await import('../../functions/send-feedback-email.ts');
const workerEvent = benchEvents.worker(taskId, now);
cases.push(['send-feedback-email', () => worker.handler(workerEvent, context)]);
const report = await import('../../functions/daily-report.ts');
cases.push(['daily-report', () => report.handler(benchEvents.report())]);

const result: Record<string, number> = {};
for (const [name, invoke] of cases) {
  for (let i = 0; i < 200; i++) await invoke();
  const start = process.cpuUsage();
  for (let i = 0; i < invocations; i++) await invoke();
  const used = process.cpuUsage(start);
  result[name] = (used.user + used.system) / invocations / 1000;
}
writeFileSync(outFile ?? '/dev/stdout', JSON.stringify(result));
