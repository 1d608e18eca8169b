/**
 * `npm run bench`: how fast it answers, how heavy the Lambdas are, how much it costs, each figure beside
 * a baseline measured in the same run, so that the ratios hold on a small, noisy machine.
 *
 * 1. Cold start: the bundles the stack deploys (same esbuild options) and, beside each, a baseline that
 *    only creates the same SDK clients and makes the same calls; a fresh Node process loads each and
 *    answers its first event against the local emulators.
 * 2. Submit latency through the local stack (autocannon), beside floors made of the handler's SDK
 *    calls against the same emulators: made directly, and behind the smallest HTTP server.
 * 3. End-to-end throughput with no simulated work: submissions until every task is SUCCESS with its email.
 * 4. Drain rate against the SES send rate: at each of a few rates, a stack sized for it, about ten
 *    seconds of its sends submitted at once, until every task is SUCCESS with exactly one email.
 * 5. Warm CPU per invocation (in process, the clients stubbed).
 * 6. Cost per million submissions from the stack's settings, the figures above and prices.json.
 *
 * Writes test/bench/results/latest.json, prints its tables (markdown) and writes them into
 * docs/performance.md between `<!-- bench:start -->` and `<!-- bench:end -->`, the drain's between
 * `<!-- bench-drain:start -->` and `<!-- bench-drain:end -->` (docs-blocks.ts). `--only drain` writes
 * results/drain.json and only the drain's block.
 */
import { type ChildProcess, execFileSync, fork, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { BatchGetItemCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import autocannon from 'autocannon';
import { build } from 'esbuild';
import * as setting from '../../functions/config/table.ts';
import { functionBundling } from '../../lib/constructs/feedback-function.ts';
import { validFeedback } from '../helpers/feedback.ts';
import { baselineSource, type CapturedCall, TASK_ID_PLACEHOLDER, type TaskIdSource } from './baseline.ts';
import { costPerMillion, pricesDate } from './cost.ts';
import { writeBlock } from './docs-blocks.ts';
import { benchEvents, benchFeedback } from './events.ts';
import { benchHandlerEnv, RESOURCE_PLACEHOLDERS } from './handler-env.ts';
import { percentile, round, type Spread, spread } from './stats.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const RESULTS_DIR = join(import.meta.dirname, 'results');
/** The page that shows the tables (docs-blocks.ts). */
const DOCS_PAGE = join(ROOT, 'docs', 'performance.md');
const COLD_REPEATS = Number(process.env.BENCH_COLD_REPEATS ?? 9);
const LATENCY_REPEATS = 3;
const LATENCY_REQUESTS = Number(process.env.BENCH_LATENCY_REQUESTS ?? 400);
const THROUGHPUT_TASKS = Number(process.env.BENCH_TASKS ?? 1000);
const started = Date.now();

interface StackInfo {
  url: string;
  sesUrl: string;
  dynamodbEndpoint: string;
  sqsEndpoint: string;
  queueUrl: string;
  deadLetterQueueUrl: string;
  tableName: string;
  /** The submit's floor behind HTTP (floor.ts). */
  httpFloorUrl: string;
  /** The worker's sizing from workerSizing: invocations at once, records per invocation. */
  concurrency: number;
  batchSize: number;
}

const CLIENT_CONFIG = {
  region: 'us-east-1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
};

const log = (line: string) =>
  process.stderr.write(`[bench ${((Date.now() - started) / 1000).toFixed(0)}s] ${line}\n`);

// ---------------------------------------------------------------------------------------------------
// The local stack, in a child process
// ---------------------------------------------------------------------------------------------------

function startStack(drain?: DrainStack): Promise<{ child: ChildProcess; info: StackInfo }> {
  const child = fork(join(import.meta.dirname, 'stack-server.ts'), [], {
    // BENCH_CPU_PROF=<dir>: a CPU profile of the stack's process, to see where a slow run's time goes.
    execArgv: process.env.BENCH_CPU_PROF
      ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`]
      : [],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    env: { ...process.env, ...(drain ? { BENCH_STACK: JSON.stringify(drain) } : {}) },
  });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the local stack exited early (${code})`)));
    child.once('message', (message: StackInfo & { type: string }) => {
      child.removeAllListeners('exit');
      resolve({ child, info: message });
    });
  });
}

function control(child: ChildProcess, type: 'pause' | 'resume' | 'stop'): Promise<void> {
  return new Promise((resolve) => {
    child.once('message', () => resolve());
    child.send({ type });
  });
}

// ---------------------------------------------------------------------------------------------------
// 1. Bundles and cold starts
// ---------------------------------------------------------------------------------------------------

const FUNCTIONS = ['submit-feedback', 'get-task', 'send-feedback-email', 'daily-report'] as const;
type FunctionName = (typeof FUNCTIONS)[number];

/** The SDK clients each handler creates, and where its event carries the task id. */
const BASELINE_SHAPE: Record<
  FunctionName,
  { clients: ('dynamodb' | 'sqs' | 'ses')[]; taskId: TaskIdSource }
> = {
  'submit-feedback': { clients: ['dynamodb', 'sqs'], taskId: 'new' },
  'get-task': { clients: ['dynamodb'], taskId: 'path' },
  'send-feedback-email': { clients: ['dynamodb', 'sqs', 'ses'], taskId: 'sqs-body' },
  'daily-report': { clients: ['dynamodb', 'sqs', 'ses'], taskId: 'none' },
};

/** Runs one of the benchmark's scripts in a fresh process; the JSON it wrote to the file it was given. */
function runScript<T>(script: string, ...args: string[]): T {
  const out = join(mkdtempSync(join(tmpdir(), 'feedback-bench-')), 'result.json');
  execFileSync(process.execPath, [join(import.meta.dirname, script), out, ...args], {
    stdio: 'ignore',
  });
  return JSON.parse(readFileSync(out, 'utf8')) as T;
}

/** The calls each handler makes for its event, recorded in a child process (capture.ts). */
function captureCalls(info: StackInfo): Record<FunctionName, CapturedCall[]> {
  const text = JSON.stringify(runScript('capture.ts'))
    .replaceAll(RESOURCE_PLACEHOLDERS.table, info.tableName)
    .replaceAll(RESOURCE_PLACEHOLDERS.queueUrl, info.queueUrl)
    .replaceAll(RESOURCE_PLACEHOLDERS.deadLetterQueueUrl, info.deadLetterQueueUrl);
  return JSON.parse(text) as Record<FunctionName, CapturedCall[]>;
}

/** Bundles a file, or generated source, with the stack's esbuild options; the bundle's bytes. */
async function bundle(entry: string | { contents: string }, outfile: string): Promise<number> {
  await build({
    ...(typeof entry === 'string'
      ? { entryPoints: [entry] }
      : { stdin: { contents: entry.contents, resolveDir: ROOT, loader: 'ts' as const } }),
    outfile,
    bundle: true,
    platform: 'node',
    target: functionBundling.target,
    format: 'esm',
    minify: functionBundling.minify,
    sourcemap: functionBundling.sourceMap,
    sourcesContent: functionBundling.sourcesContent,
    mainFields: [...functionBundling.mainFields],
    banner: { js: functionBundling.banner },
    logLevel: 'error',
  });
  return readFileSync(outfile).byteLength;
}

/** Loads a bundle in a fresh Node process and answers one event; the child's own clock, ms. */
const COLD_START_CHILD = `
const t0 = performance.now();
const mod = await import(process.env.BENCH_BUNDLE);
const t1 = performance.now();
const context = { functionName: 'bench', functionVersion: '$LATEST', awsRequestId: 'cold',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:bench', memoryLimitInMB: '256',
  logGroupName: 'bench', logStreamName: 'bench', getRemainingTimeInMillis: () => 60000 };
const result = await mod.handler(JSON.parse(process.env.BENCH_EVENT), context);
const t2 = performance.now();
process.stderr.write('BENCH_RESULT ' + JSON.stringify({ loadMs: t1 - t0, firstEventMs: t2 - t1,
  totalMs: t2 - t0, result }) + '\\n');
`;

interface ColdRun {
  loadMs: number;
  firstEventMs: number;
  totalMs: number;
  result: unknown;
}

/**
 * The Node that loads the bundles: this one (Lambda's major), or `BENCH_COLD_NODE=<path to node>` to
 * compare another runtime's cold starts on the same bundles (`npm run bench -- --only cold`).
 */
const COLD_NODE = process.env.BENCH_COLD_NODE ?? process.execPath;

function coldStart(bundlePath: string, event: unknown, env: Record<string, string>): Promise<ColdRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(COLD_NODE, ['--input-type=module', '-e', COLD_START_CHILD], {
      env: { ...env, BENCH_BUNDLE: bundlePath, BENCH_EVENT: JSON.stringify(event) },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('exit', (code) => {
      const line = stderr.split('\n').find((l) => l.startsWith('BENCH_RESULT '));
      if (code !== 0 || !line) reject(new Error(`cold start of ${bundlePath} failed (${code}): ${stderr}`));
      else resolve(JSON.parse(line.slice('BENCH_RESULT '.length)) as ColdRun);
    });
  });
}

function handlerEnv(info: StackInfo): Record<string, string> {
  return {
    ...benchHandlerEnv,
    PATH: process.env.PATH ?? '',
    AWS_ENDPOINT_URL_DYNAMODB: info.dynamodbEndpoint,
    AWS_ENDPOINT_URL_SQS: info.sqsEndpoint,
    AWS_ENDPOINT_URL_SES: info.sesUrl,
    // As the stack sets it on every function (lib/constructs/feedback-function.ts).
    NODE_OPTIONS: '--enable-source-maps',
    TASKS_TABLE_NAME: info.tableName,
    FEEDBACK_QUEUE_URL: info.queueUrl,
    DEAD_LETTER_QUEUE_URL: info.deadLetterQueueUrl,
  };
}

async function measureColdStarts(info: StackInfo, dynamodb: DynamoDBClient) {
  const dir = mkdtempSync(join(tmpdir(), 'feedback-bench-'));
  const env = handlerEnv(info);
  // A task that exists, for the status handler.
  const existing = crypto.randomUUID();
  await putPending(dynamodb, info.tableName, existing);

  const eventFor = async (name: FunctionName): Promise<unknown> => {
    switch (name) {
      case 'submit-feedback':
        return benchEvents.submit();
      case 'get-task':
        return benchEvents.getTask(existing);
      case 'send-feedback-email': {
        // A fresh PENDING task each time, so that the worker does its whole happy path.
        const taskId = crypto.randomUUID();
        return benchEvents.worker(taskId, await putPending(dynamodb, info.tableName, taskId));
      }
      case 'daily-report':
        return benchEvents.report();
    }
  };

  const calls = captureCalls(info);
  const functions = [];
  for (const name of FUNCTIONS) {
    const bundlePath = join(dir, `${name}.mjs`);
    const baselinePath = join(dir, `${name}.baseline.mjs`);
    const bundleBytes = await bundle(join(ROOT, 'functions', `${name}.ts`), bundlePath);
    const shape = BASELINE_SHAPE[name];
    const contents = baselineSource(calls[name], TASK_ID_PLACEHOLDER, shape.taskId, shape.clients);
    const baselineBytes = await bundle({ contents }, baselinePath);
    const own: ColdRun[] = [];
    const base: ColdRun[] = [];
    // Alternate the two, so that a slow patch of the machine hits both alike.
    for (let i = 0; i < COLD_REPEATS; i++) {
      base.push(await coldStart(baselinePath, await eventFor(name), env));
      own.push(await coldStart(bundlePath, await eventFor(name), env));
    }
    for (const run of own) {
      const answer = JSON.stringify(run.result ?? null);
      if (/"statusCode":5\d\d|"batchItemFailures":\[\{/.test(answer)) {
        throw new Error(`${name} did not answer its first event cleanly: ${answer}`);
      }
    }
    const coldStartMs = spread(own.map((r) => r.totalMs));
    const baselineColdStartMs = spread(base.map((r) => r.totalMs));
    functions.push({
      name,
      bundleBytes,
      baselineBundleBytes: baselineBytes,
      coldStartMs: round(coldStartMs.median),
      baselineColdStartMs: round(baselineColdStartMs.median),
      ratio: round(coldStartMs.median / baselineColdStartMs.median, 3),
      coldStart: roundSpread(coldStartMs),
      baselineColdStart: roundSpread(baselineColdStartMs),
      loadMs: roundSpread(spread(own.map((r) => r.loadMs))),
      baselineLoadMs: roundSpread(spread(base.map((r) => r.loadMs))),
    });
    log(
      `cold start ${name}: ${round(coldStartMs.median)} ms vs baseline ${round(baselineColdStartMs.median)} ms`,
    );
  }
  return functions;
}

async function putPending(dynamodb: DynamoDBClient, tableName: string, taskId: string): Promise<string> {
  const createdAt = new Date().toISOString();
  await dynamodb.send(
    new PutItemCommand({
      TableName: tableName,
      Item: {
        taskId: { S: taskId },
        status: { S: 'PENDING' },
        createdAt: { S: createdAt },
        attempts: { N: '0' },
        expiresAt: { N: String(Math.floor(Date.now() / 1000) + 3600) },
      },
    }),
  );
  return createdAt;
}

// ---------------------------------------------------------------------------------------------------
// 2. Submit latency and its floor
// ---------------------------------------------------------------------------------------------------

interface LatencyRun {
  p50: number;
  p95: number;
  p99: number;
  requests: number;
  errors: number;
}

function summarize(times: number[], errors: number): LatencyRun {
  return {
    p50: percentile(times, 50),
    p95: percentile(times, 95),
    p99: percentile(times, 99),
    requests: times.length,
    errors,
  };
}

function submitLoad(
  url: string,
  connections: number,
  amount: number,
  path = '/api/feedback',
): Promise<LatencyRun> {
  return new Promise((resolve, reject) => {
    const times: number[] = [];
    let errors = 0;
    const instance = autocannon(
      {
        url: `${url}${path}`,
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(benchFeedback),
        connections,
        amount,
        timeout: 10,
      },
      (error) => (error ? reject(error) : resolve(summarize(times, errors))),
    );
    instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
      if (statusCode === 202) times.push(responseTime);
      else errors += 1;
    });
  });
}

/** The floor, run by the stack's process (see floor.ts). */
function floorLoad(child: ChildProcess, connections: number, amount: number, overlapped: boolean) {
  return new Promise<LatencyRun>((resolve) => {
    child.once('message', (message: { times: number[] }) => resolve(summarize(message.times, 0)));
    child.send({ type: 'floor', connections, amount, overlapped });
  });
}

async function measureLatency(info: StackInfo, child: ChildProcess, sqs: SQSClient) {
  const byConcurrency: Record<string, unknown> = {};
  let c1: { submitP50: Spread; floorP50: Spread; httpFloorP50: Spread } | undefined;
  for (const connections of [1, 16]) {
    const submitRuns: LatencyRun[] = [];
    const floorRuns: LatencyRun[] = [];
    const sequentialRuns: LatencyRun[] = [];
    const httpFloorRuns: LatencyRun[] = [];
    // Warm every path (the handlers' first invocations, the clients' connections).
    await submitLoad(info.url, connections, 100);
    await submitLoad(info.httpFloorUrl, connections, 100, '/');
    await floorLoad(child, connections, 100, true);
    // Interleaved, so that a slow patch of the machine hits each alike.
    for (let i = 0; i < LATENCY_REPEATS; i++) {
      floorRuns.push(await floorLoad(child, connections, LATENCY_REQUESTS, true));
      submitRuns.push(await submitLoad(info.url, connections, LATENCY_REQUESTS));
      httpFloorRuns.push(await submitLoad(info.httpFloorUrl, connections, LATENCY_REQUESTS, '/'));
      sequentialRuns.push(await floorLoad(child, connections, LATENCY_REQUESTS, false));
    }
    const entry = {
      connections,
      requests: submitRuns.reduce((n, r) => n + r.requests, 0),
      errors: submitRuns.reduce((n, r) => n + r.errors, 0),
      p50Ms: roundSpread(spread(submitRuns.map((r) => r.p50))),
      p95Ms: roundSpread(spread(submitRuns.map((r) => r.p95))),
      p99Ms: roundSpread(spread(submitRuns.map((r) => r.p99))),
      floorP50Ms: roundSpread(spread(floorRuns.map((r) => r.p50))),
      floorP95Ms: roundSpread(spread(floorRuns.map((r) => r.p95))),
      sequentialFloorP50Ms: roundSpread(spread(sequentialRuns.map((r) => r.p50))),
      httpFloorP50Ms: roundSpread(spread(httpFloorRuns.map((r) => r.p50))),
      httpFloorP95Ms: roundSpread(spread(httpFloorRuns.map((r) => r.p95))),
    };
    byConcurrency[`c${connections}`] = entry;
    if (connections === 1) {
      c1 = { submitP50: entry.p50Ms, floorP50: entry.floorP50Ms, httpFloorP50: entry.httpFloorP50Ms };
    }
    log(
      `submit c=${connections}: p50 ${entry.p50Ms.median} ms, floor p50 ${entry.floorP50Ms.median} ms, over HTTP ${entry.httpFloorP50Ms.median} ms`,
    );
  }
  // The poller was paused: drop what piled up so that the throughput run starts from an empty queue.
  // (Not PurgeQueue: like SQS, the emulator may delete messages sent in the minute after a purge.)
  await drain(sqs, info.queueUrl);
  if (!c1) throw new Error('no latency at concurrency 1');
  return { c1, byConcurrency };
}

async function drain(sqs: SQSClient, queueUrl: string): Promise<void> {
  for (;;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
    );
    if (Messages.length === 0) return;
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? '' })),
      }),
    );
  }
}

// ---------------------------------------------------------------------------------------------------
// 3. End-to-end throughput
// ---------------------------------------------------------------------------------------------------

async function measureThroughput(info: StackInfo, dynamodb: DynamoDBClient) {
  const marker = `bench-${crypto.randomUUID()}`;
  const taskIds: string[] = [];
  const start = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < THROUGHPUT_TASKS) {
        const n = next++;
        const response = await fetch(`${info.url}/api/feedback`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json' },
          body: JSON.stringify(
            validFeedback({ email: `visitor${n}@example.com`, message: `${marker} #${n}` }),
          ),
        });
        if (response.status !== 202) throw new Error(`submit answered ${response.status}`);
        taskIds.push(((await response.json()) as { taskId: string }).taskId);
      }
    }),
  );
  const submittedSeconds = (Date.now() - start) / 1000;

  const done = new Map<string, { createdAt: string; finishedAt: string; runtimeMs: number }>();
  const deadline = Date.now() + 180_000;
  let emails = 0;
  while (Date.now() < deadline) {
    const outstanding = taskIds.filter((id) => !done.has(id));
    for (let i = 0; i < outstanding.length; i += 100) {
      const keys = outstanding.slice(i, i + 100).map((taskId) => ({ taskId: { S: taskId } }));
      const { Responses } = await dynamodb.send(
        new BatchGetItemCommand({ RequestItems: { [info.tableName]: { Keys: keys, ConsistentRead: true } } }),
      );
      for (const item of Responses?.[info.tableName] ?? []) {
        const task = unmarshall(item) as {
          taskId: string;
          status: string;
          createdAt: string;
          finishedAt: string;
          runtimeMs: number;
        };
        if (task.status === 'SUCCESS') done.set(task.taskId, task);
        if (task.status === 'FAILURE') throw new Error(`task ${task.taskId} failed`);
      }
    }
    if (done.size === taskIds.length) {
      const store = (await (await fetch(`${info.sesUrl}/store`)).json()) as {
        emails: { body: { text?: string } }[];
      };
      emails = store.emails.filter((email) => email.body.text?.includes(marker)).length;
      if (emails >= taskIds.length) break;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const seconds = (Date.now() - start) / 1000;
  if (done.size !== taskIds.length || emails !== taskIds.length) {
    throw new Error(`throughput: ${done.size}/${taskIds.length} SUCCESS, ${emails} emails after ${seconds}s`);
  }
  const latencies = [...done.values()].map((t) => Date.parse(t.finishedAt) - Date.parse(t.createdAt));
  const result = {
    tasks: taskIds.length,
    emails,
    seconds: round(seconds),
    submitSeconds: round(submittedSeconds),
    tasksPerSecond: round(taskIds.length / seconds, 1),
    submitToSuccessP50Ms: percentile(latencies, 50),
    submitToSuccessP99Ms: percentile(latencies, 99),
    /** The worker's own time per task (claim to SUCCESS), what Lambda bills beyond the simulated work. */
    workerRuntimeP50Ms: percentile(
      [...done.values()].map((t) => t.runtimeMs),
      50,
    ),
  };
  log(`throughput: ${result.tasks} tasks in ${result.seconds}s (${result.tasksPerSecond}/s)`);
  return result;
}

// ---------------------------------------------------------------------------------------------------
// 4. Drain rate against the SES send rate
// ---------------------------------------------------------------------------------------------------

/** A drain run's stack: a short simulated work time and one send rate (stack-server.ts reads it). */
interface DrainStack {
  workSeconds: number;
  sesMaxSendRate: number;
}

const DRAIN_WORK_SECONDS = Number(process.env.BENCH_DRAIN_WORK_SECONDS ?? 2);
const DRAIN_RATES = (process.env.BENCH_DRAIN_RATES ?? '1,10,20').split(',').map(Number);

interface DrainResult {
  sesMaxSendRate: number;
  workSeconds: number;
  concurrency: number;
  batchSize: number;
  tasks: number;
  emails: number;
  emailsPerTask: number;
  submitSeconds: number;
  /** From the first submission to the first and to the last task's SUCCESS. */
  firstSuccessSeconds: number;
  seconds: number;
  tasksPerSecond: number;
  ratio: number;
  /** Once the first task is done: the rate without the first batch's work and the burst's submission. */
  steadyTasksPerSecond: number;
  /** Where the time goes: the last record's creation, the queue wait and the worker's time per task. */
  lastCreatedSeconds: number;
  queueWaitP50Ms: number;
  startToSuccessP50Ms: number;
  startToSuccessMaxMs: number;
  /** Tasks created, started and finished in each second from the first submission. */
  perSecond: { created: number[]; started: number[]; finished: number[] };
}

function histogram(offsetsMs: number[]): number[] {
  const counts = Array.from({ length: Math.floor(Math.max(...offsetsMs) / 1000) + 1 }, () => 0);
  for (const ms of offsetsMs) counts[Math.floor(ms / 1000)] = (counts[Math.floor(ms / 1000)] ?? 0) + 1;
  return counts;
}

/**
 * One local stack at `sesMaxSendRate` (the worker sized from it by workerSizing, as deployed): about ten
 * seconds' worth of feedbacks submitted at once, timed from the first submission to the last task's
 * SUCCESS (its `finishedAt`), with exactly one email each.
 */
async function measureDrain(sesMaxSendRate: number): Promise<DrainResult> {
  const tasks = Math.max(20, Math.round(10 * sesMaxSendRate));
  const { child, info } = await startStack({ workSeconds: DRAIN_WORK_SECONDS, sesMaxSendRate });
  const dynamodb = new DynamoDBClient({ ...CLIENT_CONFIG, endpoint: info.dynamodbEndpoint });
  try {
    const marker = `drain-${crypto.randomUUID()}`;
    const start = Date.now();
    const taskIds = await Promise.all(
      Array.from({ length: tasks }, async (_, n) => {
        const response = await fetch(`${info.url}/api/feedback`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json' },
          body: JSON.stringify(
            validFeedback({ email: `visitor${n}@example.com`, message: `${marker} #${n}` }),
          ),
        });
        if (response.status !== 202) throw new Error(`submit answered ${response.status}`);
        return ((await response.json()) as { taskId: string }).taskId;
      }),
    );
    const submitSeconds = (Date.now() - start) / 1000;
    const finished = new Map<string, { createdAt: number; startedAt: number; finishedAt: number }>();
    const deadline = Date.now() + 60_000 + (3000 * tasks) / sesMaxSendRate;
    while (finished.size < tasks && Date.now() < deadline) {
      // Seldom: the reads load the same process as the system measured; the times come from the records.
      await new Promise((resolve) => setTimeout(resolve, 2000));
      const outstanding = taskIds.filter((id) => !finished.has(id));
      for (let i = 0; i < outstanding.length; i += 100) {
        const keys = outstanding.slice(i, i + 100).map((taskId) => ({ taskId: { S: taskId } }));
        const { Responses } = await dynamodb.send(
          new BatchGetItemCommand({
            RequestItems: { [info.tableName]: { Keys: keys, ConsistentRead: true } },
          }),
        );
        for (const item of Responses?.[info.tableName] ?? []) {
          const task = unmarshall(item) as Record<
            'taskId' | 'status' | 'createdAt' | 'startedAt' | 'finishedAt',
            string
          >;
          if (task.status === 'FAILURE') throw new Error(`drain: task ${task.taskId} failed`);
          if (task.status === 'SUCCESS') {
            finished.set(task.taskId, {
              createdAt: Date.parse(task.createdAt),
              startedAt: Date.parse(task.startedAt),
              finishedAt: Date.parse(task.finishedAt),
            });
          }
        }
      }
    }
    if (finished.size < tasks) {
      throw new Error(
        `drain at ${sesMaxSendRate}/s: ${finished.size}/${tasks} SUCCESS after ${(Date.now() - start) / 1000} s`,
      );
    }
    const store = (await (await fetch(`${info.sesUrl}/store`)).json()) as {
      emails: { body: { text?: string } }[];
    };
    const emails = store.emails.filter((email) => email.body.text?.includes(marker)).length;
    if (emails !== tasks)
      throw new Error(`drain at ${sesMaxSendRate}/s: ${emails} emails for ${tasks} tasks`);
    const records = [...finished.values()];
    const times = records.map((t) => t.finishedAt);
    const seconds = (Math.max(...times) - start) / 1000;
    const at = (ms: number) => round((ms - start) / 1000);
    const result: DrainResult = {
      sesMaxSendRate,
      workSeconds: DRAIN_WORK_SECONDS,
      concurrency: info.concurrency,
      batchSize: info.batchSize,
      tasks,
      emails,
      emailsPerTask: round(emails / tasks, 2),
      submitSeconds: round(submitSeconds),
      firstSuccessSeconds: round((Math.min(...times) - start) / 1000),
      seconds: round(seconds),
      tasksPerSecond: round(tasks / seconds, 2),
      ratio: round(tasks / seconds / sesMaxSendRate, 2),
      steadyTasksPerSecond: round((tasks - 1) / ((Math.max(...times) - Math.min(...times)) / 1000), 2),
      lastCreatedSeconds: at(Math.max(...records.map((t) => t.createdAt))),
      queueWaitP50Ms: percentile(
        records.map((t) => t.startedAt - t.createdAt),
        50,
      ),
      startToSuccessP50Ms: percentile(
        records.map((t) => t.finishedAt - t.startedAt),
        50,
      ),
      startToSuccessMaxMs: Math.max(...records.map((t) => t.finishedAt - t.startedAt)),
      perSecond: {
        created: histogram(records.map((t) => t.createdAt - start)),
        started: histogram(records.map((t) => t.startedAt - start)),
        finished: histogram(records.map((t) => t.finishedAt - start)),
      },
    };
    log(
      `drain at ${sesMaxSendRate}/s (concurrency ${result.concurrency}): ${tasks} tasks in ${result.seconds} s, ` +
        `${result.tasksPerSecond}/s = ${result.ratio} of the rate; first SUCCESS at ${result.firstSuccessSeconds} s`,
    );
    return result;
  } finally {
    dynamodb.destroy();
    await control(child, 'stop');
  }
}

/** One stack per rate, one after the other (each process imports the handlers with its own settings). */
async function measureDrains(): Promise<DrainResult[]> {
  const results: DrainResult[] = [];
  for (const rate of DRAIN_RATES) results.push(await measureDrain(rate));
  return results;
}

function drainTable(drains: DrainResult[]): string {
  return [
    '| SES send rate /s | worker concurrency × batch | feedbacks at once | submitted in s | first SUCCESS at s | last SUCCESS at s | tasks/s | ÷ send rate | tasks/s after the first SUCCESS | emails per task |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...drains.map(
      (d) =>
        `| ${d.sesMaxSendRate} | ${d.concurrency} × ${d.batchSize} | ${d.tasks} | ${d.submitSeconds} | ${d.firstSuccessSeconds} | ${d.seconds} | ${d.tasksPerSecond} | ${d.ratio} | ${d.steadyTasksPerSecond} | ${d.emailsPerTask.toFixed(2)} |`,
    ),
  ].join('\n');
}

/** The drain's table with when and where it ran: the docs' `bench-drain` block. */
function drainReport(drains: DrainResult[], date: string): string {
  const m = machine();
  return [
    `Drain of ${date.slice(0, 10)} on ${m.cpu}, ${m.cores} cores, ${m.platform}, Node ${m.node}: ${DRAIN_WORK_SECONDS} s of simulated work, feedbacks submitted at once, from the first submission to the last SUCCESS.`,
    '',
    drainTable(drains),
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------------
// 5. Warm CPU
// ---------------------------------------------------------------------------------------------------

function measureWarmCpu(): Record<string, Spread> {
  const runs: Record<string, number>[] = [];
  for (let i = 0; i < 3; i++) {
    runs.push(runScript<Record<string, number>>('warm-cpu.ts', '2000'));
  }
  return Object.fromEntries(
    FUNCTIONS.map((name) => [name, roundSpread(spread(runs.map((r) => r[name] ?? Number.NaN)), 3)]),
  );
}

// ---------------------------------------------------------------------------------------------------

function roundSpread(s: Spread, digits = 2): Spread {
  return { min: round(s.min, digits), median: round(s.median, digits), max: round(s.max, digits) };
}

function machine() {
  const cpu = cpus();
  return {
    cpu: cpu[0]?.model.trim() ?? 'unknown',
    cores: cpu.length,
    memoryGiB: round(totalmem() / 1024 ** 3, 1),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  };
}

/** `npm run bench -- --only drain` (or BENCH_ONLY=drain) runs just the drain part. */
function only(): string | undefined {
  const at = process.argv.indexOf('--only');
  return at >= 0 ? process.argv[at + 1] : process.env.BENCH_ONLY;
}

async function main() {
  // First, while nothing else of the bench runs: each rate's stack in its own process, one at a time.
  const drains = only() === undefined || only() === 'drain' ? await measureDrains() : [];
  if (only() === 'drain') {
    mkdirSync(RESULTS_DIR, { recursive: true });
    writeFileSync(join(RESULTS_DIR, 'drain.json'), `${JSON.stringify(drains, null, 2)}\n`);
    const report = drainReport(drains, new Date().toISOString());
    console.log(report);
    writeBlock(DOCS_PAGE, 'bench-drain', report);
    return;
  }
  log('starting the local stack');
  const { child, info } = await startStack();
  const dynamodb = new DynamoDBClient({ ...CLIENT_CONFIG, endpoint: info.dynamodbEndpoint });
  const sqs = new SQSClient({ ...CLIENT_CONFIG, endpoint: info.sqsEndpoint });
  try {
    const functions = await measureColdStarts(info, dynamodb);
    if (only() === 'cold') {
      const node = execFileSync(COLD_NODE, ['--version'], { encoding: 'utf8' }).trim();
      const s = (x: Spread) => `${x.median} (${x.min}–${x.max})`;
      console.log(
        [
          `Cold starts on Node ${node}; figures are median (min–max) of ${COLD_REPEATS} runs.`,
          '',
          '| function | cold start ms | baseline ms | ratio |',
          '|---|---:|---:|---:|',
          ...functions.map(
            (f) => `| ${f.name} | ${s(f.coldStart)} | ${s(f.baselineColdStart)} | ${f.ratio} |`,
          ),
        ].join('\n'),
      );
      return;
    }
    await control(child, 'pause');
    const latency = await measureLatency(info, child, sqs);
    await control(child, 'resume');
    const throughput = await measureThroughput(info, dynamodb);
    log('warm CPU');
    const warmCpuMs = measureWarmCpu();

    const latencyC1 = latency.byConcurrency.c1 as { p50Ms: Spread; p95Ms: Spread; p99Ms: Spread };
    const getTaskMs = functions.find((f) => f.name === 'get-task')?.coldStartMs ?? 0;
    const cost = costPerMillion({
      workSeconds: setting.workSeconds.default,
      submitMs: latencyC1.p50Ms.median,
      // A warm status read costs about what the floor's single call does; the cold figure bounds it.
      getTaskMs: Math.min(getTaskMs, latency.c1.floorP50.median),
      workerOverheadMs: throughput.workerRuntimeP50Ms,
      emailsPerTask: 1,
      // The default threshold validates every autoresponse (`off` would validate none).
      addressValidation: true,
    });
    const results = {
      date: new Date().toISOString(),
      machine: machine(),
      functions,
      submit: {
        p50Ms: latencyC1.p50Ms.median,
        p95Ms: latencyC1.p95Ms.median,
        p99Ms: latencyC1.p99Ms.median,
        floorP50Ms: latency.c1.floorP50.median,
        ratio: round(latency.c1.submitP50.median / latency.c1.floorP50.median, 3),
        httpFloorP50Ms: latency.c1.httpFloorP50.median,
        ratioToHttpFloor: round(latency.c1.submitP50.median / latency.c1.httpFloorP50.median, 3),
        ...latency.byConcurrency,
      },
      throughput,
      drains,
      warmCpuMs,
      costPerMillionUsd: {
        infrastructure: round(cost.infrastructure),
        ses: round(cost.ses),
        validation: round(cost.validation),
        total: round(cost.total),
        statusPollsPerSubmission: cost.statusPolls,
        pricesDate,
        lines: Object.fromEntries(Object.entries(cost.lines).map(([k, v]) => [k, round(v, 3)])),
      },
      runSeconds: round((Date.now() - started) / 1000, 1),
    };
    mkdirSync(RESULTS_DIR, { recursive: true });
    writeFileSync(join(RESULTS_DIR, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
    const tables = table(results);
    const report = drainReport(drains, results.date);
    console.log(`${tables}\n\n${report}`);
    writeBlock(DOCS_PAGE, 'bench', tables);
    if (drains.length > 0) writeBlock(DOCS_PAGE, 'bench-drain', report);
  } finally {
    dynamodb.destroy();
    sqs.destroy();
    await control(child, 'stop');
  }
}

function table(r: {
  date: string;
  machine: ReturnType<typeof machine>;
  functions: Awaited<ReturnType<typeof measureColdStarts>>;
  submit: Record<string, unknown> & { ratio: number };
  throughput: Awaited<ReturnType<typeof measureThroughput>>;
  warmCpuMs: Record<string, Spread>;
  costPerMillionUsd: {
    infrastructure: number;
    ses: number;
    validation: number;
    total: number;
    statusPollsPerSubmission: number;
  };
  runSeconds: number;
}): string {
  const s = (x: Spread) => `${x.median} (${x.min}–${x.max})`;
  const lines = [
    `Benchmark of ${r.date.slice(0, 10)} on ${r.machine.cpu}, ${r.machine.cores} cores, ${r.machine.platform}, Node ${r.machine.node}; figures are median (min–max).`,
    '',
    '| function | bundle KiB | cold start ms | baseline ms | ratio | warm CPU ms/invocation |',
    '|---|---:|---:|---:|---:|---:|',
    ...r.functions.map(
      (f) =>
        `| ${f.name} | ${round(f.bundleBytes / 1024, 1)} (baseline ${round(f.baselineBundleBytes / 1024, 1)}) | ${s(f.coldStart)} | ${s(f.baselineColdStart)} | ${f.ratio} | ${s(r.warmCpuMs[f.name] as Spread)} |`,
    ),
    '',
    '| submit (POST /api/feedback) | p50 ms | p95 ms | p99 ms | floor p50 ms | floor over HTTP p50 ms | sequential floor p50 ms | p50 / floor | p50 / floor over HTTP |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...(['c1', 'c16'] as const).map((key) => {
      const c = r.submit[key] as {
        connections: number;
        requests: number;
        p50Ms: Spread;
        p95Ms: Spread;
        p99Ms: Spread;
        floorP50Ms: Spread;
        httpFloorP50Ms: Spread;
        sequentialFloorP50Ms: Spread;
      };
      return `| concurrency ${c.connections}, ${c.requests} requests | ${s(c.p50Ms)} | ${s(c.p95Ms)} | ${s(c.p99Ms)} | ${s(c.floorP50Ms)} | ${s(c.httpFloorP50Ms)} | ${s(c.sequentialFloorP50Ms)} | ${round(c.p50Ms.median / c.floorP50Ms.median, 2)} | ${round(c.p50Ms.median / c.httpFloorP50Ms.median, 2)} |`;
    }),
    '',
    `End to end, no simulated work: ${r.throughput.tasks} feedbacks → ${r.throughput.tasks} SUCCESS and ${r.throughput.emails} emails in ${r.throughput.seconds} s (${r.throughput.tasksPerSecond} tasks/s); submit-to-SUCCESS p50 ${r.throughput.submitToSuccessP50Ms} ms, p99 ${r.throughput.submitToSuccessP99Ms} ms.`,
    '',
    `Cost per million submissions (20 s of simulated work, ${r.costPerMillionUsd.statusPollsPerSubmission} status polls each): infrastructure $${r.costPerMillionUsd.infrastructure}, SES $${r.costPerMillionUsd.ses}, SES address validation $${r.costPerMillionUsd.validation} (addressValidation=${setting.addressValidation.default}), total $${r.costPerMillionUsd.total}.`,
    '',
    `Run time ${r.runSeconds} s.`,
  ];
  return lines.join('\n');
}

await main();
