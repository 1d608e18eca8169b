/**
 * `npm start`: the whole system on this machine, on emulated AWS (see lib/local/stack.ts), with a
 * terminal like the seed's Celery worker log. `--json` shows the handlers' JSON log lines as they are.
 */
import { rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { numberEnv } from '../functions/config/env.ts';
import {
  ADDRESS_VALIDATION_LEVELS,
  addressValidationOf,
  autoresponseBreaker,
  DEFAULT_SES_MAX_SEND_RATE,
  DEFAULT_TASK_TTL_DAYS,
  DEFAULT_WORK_SECONDS,
  env,
  LOCAL_SENDER_EMAIL,
} from '../functions/config/settings.ts';
import { DEFAULT_REPORT_SCHEDULE } from '../lib/config.ts';
import { PortInUseError } from '../lib/local/emulators.ts';
import { type LocalStack, parseCrashOn, startLocalStack } from '../lib/local/stack.ts';
import { DataDirInUseError, LOCAL_DATA_DIR, LOCAL_STACK_STATE_FILE } from '../lib/local/state.ts';
import { localPort, UsageError } from '../lib/tools/cli.ts';

const { values: flags } = parseArgs({ options: { json: { type: 'boolean', default: false } } });

function time(): string {
  return new Date().toTimeString().slice(0, 8);
}

function print(line: string): void {
  console.log(`[${time()}] ${line}`);
}

function optionalNumber(name: string): number | undefined {
  return process.env[name]?.trim() ? numberEnv(name, 0) : undefined;
}

/** `ADDRESS_VALIDATION`, refused with the levels when it is none of them. */
function localAddressValidation() {
  const raw = process.env[env.addressValidation];
  const level = addressValidationOf(raw);
  if (level === undefined)
    throw new UsageError(
      `${env.addressValidation} must be one of ${ADDRESS_VALIDATION_LEVELS.join(', ')}, got "${raw}"`,
    );
  return level;
}

let stack: LocalStack;
try {
  const leaseSeconds = optionalNumber(env.leaseSeconds);
  const visibilityTimeoutSeconds = optionalNumber('LOCAL_VISIBILITY_TIMEOUT_SECONDS');
  stack = await startLocalStack({
    ports: {
      web: localPort('web'),
      dynamodb: localPort('dynamodb'),
      sqs: localPort('sqs'),
      ses: localPort('ses'),
    },
    dataDir: LOCAL_DATA_DIR,
    workSeconds: numberEnv(env.workSeconds, DEFAULT_WORK_SECONDS),
    senderEmail: process.env[env.senderEmail]?.trim() || LOCAL_SENDER_EMAIL,
    notifyEmail: process.env[env.notifyEmail]?.trim() || undefined,
    sesMaxSendRate: numberEnv(env.sesMaxSendRate, DEFAULT_SES_MAX_SEND_RATE),
    taskTtlDays: numberEnv(env.taskTtlDays, DEFAULT_TASK_TTL_DAYS),
    ...(leaseSeconds === undefined ? {} : { leaseSeconds }),
    // Shorter than the stack's, so that the tests of a killed stack see its messages come back soon.
    ...(visibilityTimeoutSeconds === undefined ? {} : { visibilityTimeoutSeconds }),
    reportSchedule: process.env.REPORT_SCHEDULE?.trim() || DEFAULT_REPORT_SCHEDULE,
    jsonLogs: flags.json,
    wafRateLimit: optionalNumber('WAF_RATE_LIMIT'),
    maxAttempts: optionalNumber(env.maxAttempts),
    crashOn: parseCrashOn(process.env.LOCAL_CRASH_ON),
    addressValidation: localAddressValidation(),
    log: print,
  });
} catch (error) {
  console.error(
    error instanceof PortInUseError || error instanceof DataDirInUseError || error instanceof UsageError
      ? error.message
      : `Could not start the local stack: ${String(error)}`,
  );
  process.exit(1);
}

const inHere = relative(process.cwd(), LOCAL_DATA_DIR);
const dataDir = `${inHere && !inHere.startsWith('..') ? inHere : LOCAL_DATA_DIR}/`;
const localhost = (url: string) => url.replace('127.0.0.1', 'localhost');
const { settings } = stack;
console.log(
  [
    '',
    'Serverless feedback — the local stack (emulated AWS, region us-east-1)',
    '',
    `  page and API     ${localhost(stack.url)}`,
    `  mailbox (SES)    ${localhost(stack.sesUrl)}   emails as JSON: ${localhost(stack.sesUrl)}/store`,
    `  DynamoDB         ${localhost(stack.dynamodbEndpoint)}   table ${stack.tableName} (kept in ${dataDir}dynamodb)`,
    `  SQS              ${localhost(stack.sqsEndpoint)}   queue feedback-queue, dead-letter queue after ${settings.maxAttempts} attempts (or ${settings.maxReceiveCount} receives)`,
    `  worker           ${settings.concurrency} at once, batches of ${settings.batchSize}, ${settings.workSeconds}s of slow work (${env.workSeconds}), from ${settings.senderEmail}`,
    `  autoresponses    address validation ${settings.addressValidation} (${env.addressValidation}; a domain under .invalid fails it), paused over ${autoresponseBreaker.bounceRate * 100} % bounces or ${autoresponseBreaker.complaintRate * 100} % complaints (npm run autoresponses)`,
    `  owner email      ${settings.notifyEmail ? `${settings.notifyEmail}, daily report ${/^rate\(/.test(process.env.REPORT_SCHEDULE?.trim() ?? '') ? `every ${process.env.REPORT_SCHEDULE?.trim().slice(5, -1)}` : 'once a day from now'} (npm run report: now)` : `off (set ${env.notifyEmail})`}`,
    '',
    `  try it:  curl -i ${localhost(stack.url)}/api/feedback -H 'content-type: application/json' \\`,
    `             -d '{"email": "you@example.com", "message": "Hello"}'`,
    '           npm run task -- <taskId>    npm run tasks    npm run redrive',
    `  logs:    ${flags.json ? 'the handlers’ JSON log lines' : 'the handlers’ log lines in short; npm start -- --json shows them as JSON'}`,
    '',
    'Ctrl-C stops everything; every queued task is kept on disk and goes on at the next npm start.',
    '',
  ].join('\n'),
);

// With the terminal closed, a line printed while stopping must not end the process early.
process.stdout.on('error', () => undefined);
process.stderr.on('error', () => undefined);

let stoppingSince: number | undefined;
const shutdown = (signal: string) => {
  if (stoppingSince !== undefined) {
    // Ctrl-C reaches this process twice: from the terminal and forwarded by npm. Only a later one forces.
    if (Date.now() - stoppingSince < 1000) return;
    console.error(`\n${signal} again: exiting now; the tasks in flight go on at the next npm start`);
    rmSync(join(LOCAL_DATA_DIR, LOCAL_STACK_STATE_FILE), { force: true });
    process.exit(130);
  }
  stoppingSince = Date.now();
  print(`[stack] ${signal}: no new requests; waiting for tasks in flight (at most 30s)…`);
  stack
    .stop()
    .then(() => {
      print(`[stack] stopped; the data stays in ${dataDir} for the next npm start`);
      process.exit(0);
    })
    .catch((error: unknown) => {
      console.error(`Could not stop cleanly: ${String(error)}`);
      process.exit(1);
    });
};
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => shutdown(signal));
