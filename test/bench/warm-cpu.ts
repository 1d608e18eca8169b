/**
 * Warm CPU time per invocation of each handler, in this process, with the SDK clients stubbed: the
 * handler's own work (parsing, validation, marshalling, logging, metrics) that Lambda bills as GB-s
 * beyond the time spent waiting on AWS. Writes its result as JSON to the file named by argv[2].
 */
import { writeFileSync } from 'node:fs';
import type { Context } from 'aws-lambda';
import { cannedAnswers, stubHandlerClients } from './stub-clients';

const [, , outFile, countArg] = process.argv;
const invocations = Number(countArg ?? 2000);

Object.assign(process.env, {
  AWS_REGION: 'us-east-1',
  TASKS_TABLE_NAME: 'Tasks',
  FEEDBACK_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/Feedback',
  DEAD_LETTER_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/FeedbackDLQ',
  SENDER_EMAIL: 'support@example.com',
  NOTIFY_EMAIL: 'owner@example.com',
  FEEDBACK_WORK_SECONDS: '0',
  SES_MAX_SEND_RATE: '1000000',
  POWERTOOLS_LOG_LEVEL: 'INFO',
});
// Logs go where Lambda sends them; here, nowhere, but they are still produced.
process.stdout.write = () => true;

const taskId = '3b241101-e2bb-4255-8caf-4136c566a962';
const now = new Date().toISOString();
await stubHandlerClients(cannedAnswers(taskId, now));

const context = {
  functionName: 'bench',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:bench',
  memoryLimitInMB: '256',
  awsRequestId: 'req-1',
  logGroupName: '/aws/lambda/bench',
  logStreamName: 'stream',
  callbackWaitsForEmptyEventLoop: true,
  getRemainingTimeInMillis: () => 60_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
} satisfies Context;

const { apiEvent, sqsEvent } = await import('./events');
const cases: [string, () => Promise<unknown>][] = [];
const submit = await import('../../functions/submit-feedback');
const submitEvent = apiEvent('POST', '/api/feedback', {
  body: JSON.stringify({ email: 'visitor@example.com', message: 'A warm invocation.' }),
});
cases.push(['submit-feedback', () => submit.handler(submitEvent, context)]);
const getTask = await import('../../functions/get-task');
const getEvent = apiEvent('GET', `/api/tasks/${taskId}`, { pathParameters: { taskId } });
cases.push(['get-task', () => getTask.handler(getEvent, context)]);
const worker = await import('../../functions/send-feedback-email');
const workerEvent = sqsEvent({ taskId, email: 'visitor@example.com', message: 'Hi', createdAt: now });
cases.push(['send-feedback-email', () => worker.handler(workerEvent, context)]);
const report = await import('../../functions/daily-report');
cases.push(['daily-report', () => report.handler({})]);

const result: Record<string, number> = {};
for (const [name, invoke] of cases) {
  for (let i = 0; i < 200; i++) await invoke();
  const start = process.cpuUsage();
  for (let i = 0; i < invocations; i++) await invoke();
  const used = process.cpuUsage(start);
  result[name] = (used.user + used.system) / invocations / 1000;
}
writeFileSync(outFile ?? '/dev/stdout', JSON.stringify(result));
