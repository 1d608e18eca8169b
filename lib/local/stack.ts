import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import {
  apiFunction,
  consumer,
  consumerTimeoutSeconds,
  DEFAULT_SES_MAX_SEND_RATE,
  DEFAULT_TASK_TTL_DAYS,
  DEFAULT_WORK_SECONDS,
  env,
  LOCAL_SENDER_EMAIL,
  localPorts,
  queue,
  reportFunction,
  visibilityTimeoutSeconds,
} from '../../functions/commons/settings';
import { DEFAULT_REPORT_SCHEDULE } from '../config';
import { securityHeaders } from '../security-headers';
import { buildSite } from '../site';
import {
  closeServer,
  listen,
  type RunningEmulator,
  type SesEmulator,
  startDynamoDb,
  startSes,
} from './emulators';
import { createGateway } from './gateway';
import { invokeWithTimeout } from './lambda-context';
import { createPoller, type Poller } from './poller';
import { restoreQueues, saveQueues } from './queue-snapshot';
import { ensureQueues, ensureTable, LOCAL_ACCOUNT_ID, LOCAL_REGION, localResourceNames } from './resources';
import { type Schedule, startSchedule } from './scheduler';
import { startSqs } from './sqs-emulator';
import { claimDataDir } from './state';
import { reason, TaskLog } from './task-log';

/** Options of {@link startLocalStack}; every one has the stack's (functions/commons/settings.ts) or the contract's default. */
export interface LocalStackOptions {
  /** Ports; 0 (the default here) picks a free one. `npm start` passes the contract's 3000/8000/9324/8005. */
  ports?: { web?: number; dynamodb?: number; sqs?: number; ses?: number };
  /** Address every part listens on. @default '127.0.0.1' */
  host?: string;
  /**
   * Folder for the kept data: the DynamoDB table (`dynamodb/`), the queues' messages at stop
   * (`sqs/`) and the built page (`site/`). Without it everything is in memory and the page is built
   * into a temporary folder, removed at stop.
   */
  dataDir?: string;
  /** Simulated slow work, seconds (`FEEDBACK_WORK_SECONDS`). @default 20 */
  workSeconds?: number;
  /** The queue's visibility timeout. @default visibilityTimeoutSeconds(workSeconds) */
  visibilityTimeoutSeconds?: number;
  /** Receives before the dead-letter queue (`MAX_RECEIVE_COUNT`). @default queue.maxReceiveCount */
  maxReceiveCount?: number;
  /** The worker's timeout; a longer invocation counts as failed. @default consumerTimeoutSeconds(workSeconds) */
  functionTimeoutSeconds?: number;
  /** The worker's claim on a task (`TASK_LEASE_SECONDS`). @default the worker's own: its timeout */
  leaseSeconds?: number;
  /** @default 'support@example.com' */
  senderEmail?: string;
  /** The owner's address (`NOTIFY_EMAIL`): owner notifications and the daily report. Off when unset. */
  notifyEmail?: string;
  /** SES sends per second over all workers (`SES_MAX_SEND_RATE`). @default 1 */
  sesMaxSendRate?: number;
  /** @default 7 */
  taskTtlDays?: number;
  /** Messages per worker invocation. @default consumer.batchSize */
  batchSize?: number;
  /** Worker invocations at once. @default consumer.maxConcurrency */
  concurrency?: number;
  /** Long poll wait of the poller, seconds; tests use 1 so that `pausePoller()` is quick. @default 20 */
  pollWaitSeconds?: number;
  /** The daily report's schedule (EventBridge Scheduler expression), `false` for none; only with `notifyEmail`. */
  reportSchedule?: string | false;
  /** Build and serve the page. @default true */
  site?: boolean;
  /** Where the stack's lines go (banner aside): web requests, worker tasks, report runs. */
  log?: (line: string) => void;
  /** No lines at all, and no task records read for them. */
  quiet?: boolean;
  /** The handlers' Powertools log level (`POWERTOOLS_LOG_LEVEL`). @default 'SILENT' */
  handlerLogLevel?: string;
  /** More environment variables for the handlers. */
  environment?: Record<string, string>;
  /** How long `stop()` waits for worker invocations in flight, ms. @default 30000 */
  stopTimeoutMs?: number;
}

/** What the daily report handler answers. */
export type DailyReportResult = Awaited<ReturnType<typeof import('../../functions/daily-report').handler>>;

/** A running local stack. */
export interface LocalStack {
  /** The page and the API, e.g. `http://127.0.0.1:3000`. */
  url: string;
  /** The SES emulator's mailbox; the emails as JSON at `${sesUrl}/store`. */
  sesUrl: string;
  dynamodbEndpoint: string;
  sqsEndpoint: string;
  /** Same as {@link dynamodbEndpoint} (the name DESIGN.md uses). */
  dynamodbUrl: string;
  /** Same as {@link sqsEndpoint}. */
  sqsUrl: string;
  queueUrl: string;
  deadLetterQueueUrl: string;
  tableName: string;
  region: string;
  ports: { web: number; dynamodb: number; sqs: number; ses: number };
  /** The settings in effect (after defaults). */
  settings: {
    workSeconds: number;
    visibilityTimeoutSeconds: number;
    maxReceiveCount: number;
    functionTimeoutSeconds: number;
    batchSize: number;
    concurrency: number;
    senderEmail: string;
    notifyEmail: string | undefined;
  };
  /** SDK clients pointed at the emulators, for tests and tools. */
  clients: { dynamodb: DynamoDBClient; sqs: SQSClient };
  /** Stops receiving from the queue; resolves when no worker invocation is in flight. */
  pausePoller(): Promise<void>;
  resumePoller(): void;
  /** Takes the SES emulator down (connections refused), as an outage; the mailbox is kept. */
  stopSes(): Promise<void>;
  /** Brings the SES emulator back on the same port. */
  startSes(): Promise<void>;
  /** Runs the daily report handler now (for `date`, `YYYY-MM-DD`, or yesterday). */
  runReport(date?: string): Promise<DailyReportResult>;
  /** Stops accepting HTTP, stops polling, waits for invocations in flight (bounded), closes the emulators. */
  stop(): Promise<void>;
}

let startedInThisProcess = false;

/**
 * Starts the whole system in this process: dynalite, local-aws-sqs and aws-ses-v2-local, the table
 * and queues as the CDK stack defines them (functions/commons/settings.ts), the real handlers behind a local API
 * Gateway and an SQS event source poller, and the daily report's schedule.
 *
 * One stack per process: the handlers read their environment once, when first imported, and the
 * SES emulator's mailbox is a module-level store. Test files each get their own process (vitest's
 * `forks` pool), so each may start one.
 */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  if (startedInThisProcess) {
    throw new Error(
      'startLocalStack: one local stack per process (the handlers read their environment once, at import)',
    );
  }
  startedInThisProcess = true;

  const host = options.host ?? '127.0.0.1';
  const workSeconds = options.workSeconds ?? DEFAULT_WORK_SECONDS;
  const settings = {
    workSeconds,
    visibilityTimeoutSeconds: options.visibilityTimeoutSeconds ?? visibilityTimeoutSeconds(workSeconds),
    maxReceiveCount: options.maxReceiveCount ?? queue.maxReceiveCount,
    functionTimeoutSeconds: options.functionTimeoutSeconds ?? consumerTimeoutSeconds(workSeconds),
    batchSize: options.batchSize ?? consumer.batchSize,
    concurrency: options.concurrency ?? consumer.maxConcurrency,
    senderEmail: options.senderEmail ?? LOCAL_SENDER_EMAIL,
    notifyEmail: options.notifyEmail?.trim() || undefined,
  };
  const write = options.quiet ? undefined : (options.log ?? ((line: string) => console.log(line)));
  const log = (line: string) => write?.(line);

  const closers: (() => Promise<void>)[] = [];
  const closeAll = async () => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    closers.length = 0;
  };

  try {
    const claim = options.dataDir ? claimDataDir(options.dataDir) : undefined;
    if (claim) closers.push(async () => claim.release());
    const dynamo = await startDynamoDb(
      { host, port: options.ports?.dynamodb ?? 0, variable: localPorts.dynamodb.variable },
      options.dataDir ? join(options.dataDir, 'dynamodb') : undefined,
    );
    closers.push(() => dynamo.close());
    const sqsEmulator: RunningEmulator = await startSqs(
      { host, port: options.ports?.sqs ?? 0, variable: localPorts.sqs.variable },
      LOCAL_REGION,
      LOCAL_ACCOUNT_ID,
    );
    closers.push(() => sqsEmulator.close());
    const ses: SesEmulator = await startSes({
      host,
      port: options.ports?.ses ?? 0,
      variable: localPorts.ses.variable,
    });
    closers.push(() => ses.close());

    const clientConfig = {
      region: LOCAL_REGION,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    };
    const dynamodb = new DynamoDBClient({ ...clientConfig, endpoint: dynamo.endpoint });
    const sqs = new SQSClient({ ...clientConfig, endpoint: sqsEmulator.endpoint });
    closers.push(async () => {
      dynamodb.destroy();
      sqs.destroy();
    });

    const tableName = localResourceNames.table;
    await ensureTable(dynamodb, tableName);
    const queues = await ensureQueues(sqs, settings);
    const snapshotDir = options.dataDir ? join(options.dataDir, 'sqs') : undefined;
    if (snapshotDir) {
      const restored = await restoreQueues(sqs, snapshotDir, queues);
      if (restored > 0) log(`[stack] ${restored} queued message(s) from the last run put back on the queues`);
    }

    setHandlerEnvironment({
      AWS_REGION: LOCAL_REGION,
      AWS_DEFAULT_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_SESSION_TOKEN: undefined,
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_ENDPOINT_URL_SQS: sqsEmulator.endpoint,
      AWS_ENDPOINT_URL_SES: ses.endpoint,
      [env.tasksTableName]: tableName,
      [env.feedbackQueueUrl]: queues.queueUrl,
      [env.deadLetterQueueUrl]: queues.deadLetterQueueUrl,
      [env.senderEmail]: settings.senderEmail,
      [env.workSeconds]: String(workSeconds),
      [env.taskTtlDays]: String(options.taskTtlDays ?? DEFAULT_TASK_TTL_DAYS),
      [env.maxReceiveCount]: String(settings.maxReceiveCount),
      [env.sesMaxSendRate]: String(options.sesMaxSendRate ?? DEFAULT_SES_MAX_SEND_RATE),
      // Each worker container paces itself at SES_MAX_SEND_RATE / WORKER_CONCURRENCY. Here all invocations
      // share one process, so one module instance, one limiter: it must pace at the whole rate.
      [env.workerConcurrency]: '1',
      [env.leaseSeconds]: options.leaseSeconds === undefined ? undefined : String(options.leaseSeconds),
      [env.notifyEmail]: settings.notifyEmail,
      POWERTOOLS_METRICS_DISABLED: 'true',
      POWERTOOLS_LOG_LEVEL: options.handlerLogLevel ?? 'SILENT',
      ...options.environment,
    });
    const handlers = await importHandlers();

    const taskLog = write
      ? new TaskLog({
          dynamodb,
          tableName,
          visibilityTimeoutSeconds: settings.visibilityTimeoutSeconds,
          write,
        })
      : undefined;
    if (taskLog) {
      // Seen on the worker's own SQS client: the backoff it sets on a message, for "retry in Ns".
      handlers.workerSqs.middlewareStack.add(
        (next, context) => async (args) => {
          const input = args.input as { ReceiptHandle?: string; VisibilityTimeout?: number };
          if (context.commandName === 'ChangeMessageVisibilityCommand' && input.ReceiptHandle) {
            taskLog.noteVisibility(input.ReceiptHandle, Number(input.VisibilityTimeout));
          }
          return next(args);
        },
        { step: 'initialize', name: 'localStackRetryObserver' },
      );
    }

    let siteDir: string | undefined;
    if (options.site !== false) {
      siteDir = options.dataDir
        ? join(options.dataDir, 'site')
        : mkdtempSync(join(tmpdir(), 'feedback-site-'));
      if (!options.dataDir) {
        const temporary = siteDir;
        closers.push(async () => rmSync(temporary, { recursive: true, force: true }));
      }
      buildSite(siteDir);
    }

    const poller: Poller = createPoller({
      sqs,
      queueUrl: queues.queueUrl,
      queueArn: queues.queueArn,
      region: LOCAL_REGION,
      functionName: 'send-feedback-email',
      handler: handlers.sendFeedbackEmail,
      batchSize: settings.batchSize,
      concurrency: settings.concurrency,
      waitTimeSeconds: options.pollWaitSeconds ?? 20,
      functionTimeoutMs: settings.functionTimeoutSeconds * 1000,
      ...(taskLog ? { observeBatch: (records) => taskLog.begin(records) } : {}),
      onError: (error) => log(`[tasks] poller: ${reason(error)}`),
    });

    const gateway = createGateway({
      routes: [
        {
          method: 'POST',
          path: '/api/feedback',
          functionName: 'submit-feedback',
          handler: handlers.submitFeedback,
        },
        { method: 'GET', path: '/api/tasks/{taskId}', functionName: 'get-task', handler: handlers.getTask },
      ],
      ...(siteDir ? { siteDir } : {}),
      timeoutMs: apiFunction.timeoutSeconds * 1000,
      // CloudFront's security headers, so the page runs under its real CSP here too; without
      // Strict-Transport-Security, as this gateway speaks plain HTTP (browsers ignore HSTS on it anyway).
      responseHeaders: securityHeaders({ https: false }),
      onRequest: (line) => log(`[web] ${line}`),
      onError: (functionName, error) => log(`[web] ${functionName} failed: ${reason(error)}`),
    });
    const webPort = await listen(gateway, 'page and API', {
      host,
      port: options.ports?.web ?? 0,
      variable: localPorts.web.variable,
    });
    closers.push(() => closeServer(gateway));

    const runReport = (date?: string) =>
      invokeWithTimeout('daily-report', reportFunction.timeoutSeconds * 1000, () =>
        handlers.dailyReport(date === undefined ? {} : { date }),
      );
    let schedule: Schedule | undefined;
    const reportSchedule = options.reportSchedule ?? DEFAULT_REPORT_SCHEDULE;
    if (settings.notifyEmail && reportSchedule !== false) {
      schedule = startSchedule(reportSchedule, async () => {
        try {
          const report = await runReport();
          log(`[beat] daily report for ${report.date} mailed to the owner`);
        } catch (error) {
          log(`[beat] daily report failed: ${reason(error)}`);
        }
      });
    }

    poller.start();

    const ports = { web: webPort, dynamodb: dynamo.port, sqs: sqsEmulator.port, ses: ses.port };
    claim?.publish({
      ports,
      senderEmail: settings.senderEmail,
      ...(settings.notifyEmail ? { notifyEmail: settings.notifyEmail } : {}),
    });

    let stopping: Promise<void> | undefined;
    const stop = async () => {
      schedule?.stop();
      await closeServer(gateway);
      const stillRunning = await poller.stop(options.stopTimeoutMs ?? 30_000);
      if (stillRunning > 0) {
        log(
          `[stack] ${stillRunning} worker invocation(s) still running; their messages come back after the visibility timeout`,
        );
      }
      if (snapshotDir) {
        const saved = await saveQueues(sqs, snapshotDir, queues, poller.leftOnQueue());
        if (saved > 0) log(`[stack] ${saved} queued message(s) kept for the next start`);
      }
      await closeAll();
    };

    return {
      url: `http://${host}:${webPort}`,
      sesUrl: ses.endpoint,
      dynamodbEndpoint: dynamo.endpoint,
      sqsEndpoint: sqsEmulator.endpoint,
      dynamodbUrl: dynamo.endpoint,
      sqsUrl: sqsEmulator.endpoint,
      queueUrl: queues.queueUrl,
      deadLetterQueueUrl: queues.deadLetterQueueUrl,
      tableName,
      region: LOCAL_REGION,
      ports,
      settings,
      clients: { dynamodb, sqs },
      pausePoller: () => poller.pause(),
      resumePoller: () => poller.resume(),
      stopSes: () => ses.stop(),
      startSes: () => ses.start(),
      runReport,
      stop() {
        stopping ??= stop();
        return stopping;
      },
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/** Sets (or, for undefined, removes) the handlers' variables; before they are imported. */
function setHandlerEnvironment(variables: Record<string, string | undefined>): void {
  for (const [name, value] of Object.entries(variables)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
}

/** The real handlers, imported only now that their environment is set. */
async function importHandlers() {
  const [submit, getTask, worker, report, sqsClient] = await Promise.all([
    import('../../functions/submit-feedback'),
    import('../../functions/get-task'),
    import('../../functions/send-feedback-email'),
    import('../../functions/daily-report'),
    import('../../functions/commons/clients/sqs'),
  ]);
  return {
    submitFeedback: submit.handler,
    getTask: getTask.handler,
    sendFeedbackEmail: worker.handler,
    dailyReport: report.handler,
    workerSqs: sqsClient.sqs,
  };
}
