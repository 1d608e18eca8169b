/**
 * `npm start`: the whole system on this machine, on emulated AWS (see lib/local/stack.ts), with a
 * terminal like the seed's Celery worker log. `--json` shows the handlers' JSON log lines as they are.
 */
import { rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { ConfigError } from '../functions/config/env.ts';
import { autoresponseBreaker } from '../functions/config/settings.ts';
import * as setting from '../functions/config/table.ts';
import { PortInUseError } from '../lib/local/emulators.ts';
import { readLocalSettings, readLocalVisibilityTimeout } from '../lib/local/settings.ts';
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

let stack: LocalStack;
try {
  const visibilityTimeoutSeconds = readLocalVisibilityTimeout(process.env);
  stack = await startLocalStack({
    // The settings of the table that npm start takes from its shell; no other variable reaches the handlers.
    ...readLocalSettings(process.env),
    ports: {
      web: localPort('web'),
      dynamodb: localPort('dynamodb'),
      sqs: localPort('sqs'),
      ses: localPort('ses'),
    },
    dataDir: LOCAL_DATA_DIR,
    ...(visibilityTimeoutSeconds === undefined ? {} : { visibilityTimeoutSeconds }),
    jsonLogs: flags.json,
    crashOn: parseCrashOn(process.env.LOCAL_CRASH_ON),
    log: print,
  });
} catch (error) {
  console.error(
    error instanceof PortInUseError ||
      error instanceof DataDirInUseError ||
      error instanceof UsageError ||
      error instanceof ConfigError
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
    `  worker           ${settings.concurrency} at once, batches of ${settings.batchSize}, ${settings.workSeconds}s of slow work (${setting.workSeconds.env}), from ${settings.senderEmail}`,
    `  autoresponses    address validation ${settings.addressValidation} (${setting.addressValidation.env}; a domain under .invalid fails it), paused over ${autoresponseBreaker.bounceRate * 100} % bounces or ${autoresponseBreaker.complaintRate * 100} % complaints (npm run autoresponses)`,
    `  owner email      ${settings.notifyEmail ? `${settings.notifyEmail}, daily report ${/^rate\(/.test(settings.reportSchedule) ? `every ${settings.reportSchedule.slice(5, -1)}` : 'once a day from now'} (npm run report: now)` : `off (set ${setting.notifyEmail.env})`}`,
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
