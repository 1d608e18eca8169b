import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import {
  apiFunction,
  emailEventsQueue,
  localPorts,
  queue,
  reportFunction,
} from '../../functions/config/settings.ts';
import { derivedWorkerValues, workerSizing } from '../../functions/config/table.ts';
import { keptEmailEvent, type QueuedEmailEvent, routeOf } from '../../functions/email/events.ts';
import { securityHeaders } from '../security-headers.ts';
import { buildSite } from '../site.ts';
import { localBreaker } from './breaker.ts';
import { closeServer, listen, startDynamoDb, startSes } from './emulators.ts';
import { createGateway } from './gateway.ts';
import { setHandlerEnvironment } from './handler-env.ts';
import { handlerFunction } from './lambda.ts';
import { createPoller, type PollerOptions } from './poller.ts';
import {
  ensureQueues,
  ensureTable,
  LOCAL_CLIENT_CONFIG,
  LOCAL_REGION,
  localResourceNames,
} from './resources.ts';
import { sesEventsFor } from './ses-events.ts';
import { localSesSending } from './ses-sending.ts';
import { type LocalSettings, localSettingValues } from './settings.ts';
import { startSqs } from './sqs-emulator.ts';
import { claimDataDir } from './state.ts';
import { captureHandlerLogs, reason } from './terminal-log.ts';

/**
 * Options of {@link startLocalStack}: the settings of the table that the local stack takes (its `local`
 * ones: functions/config/table.ts), each defaulting to the table's and never to the process's
 * environment, and the local stack's own.
 */
export interface LocalStackOptions extends Omit<LocalSettings, 'reportSchedule'> {
  /** Ports; 0 (the default here) picks a free one. `npm start` passes the contract's 3000/8000/9324/8005. */
  ports?: { web?: number; dynamodb?: number; sqs?: number; ses?: number };
  /** Folder for the table, every queued message and the built page; without it, memory and a temporary folder. */
  dataDir?: string;
  /** The feedback queue's visibility timeout, shorter than the stack's (tests of redeliveries). */
  visibilityTimeoutSeconds?: number;
  /** SQS's backstop; by default as far above `maxAttempts` as the deployed stack's. */
  maxReceiveCount?: number;
  /** The email-event queue's visibility timeout and receives before its dead-letter queue. */
  emailEventsQueue?: { visibilityTimeoutSeconds?: number; maxReceiveCount?: number };
  /** The poller's long poll, seconds (20 as Lambda's); tests use 1 so that `pausePoller()` is quick. */
  pollWaitSeconds?: number;
  /** The daily report's `rate(N minutes|hours|days)`, once a day for another expression, `false` for never. */
  reportSchedule?: string | false;
  /** Build and serve the page (default true). */
  site?: boolean;
  /** Where the stack's lines go (web requests, the handlers' log lines); `quiet`: none at all. */
  log?: (line: string) => void;
  quiet?: boolean;
  /** The handlers' own JSON log lines as they are, instead of one short line each. */
  jsonLogs?: boolean;
  /**
   * A fault for the tests of crashes (`LOCAL_CRASH_ON`): the process is killed (SIGKILL, as `kill -9`)
   * the moment the SES or SQS emulator receives this call naming `text`, before it acts on it.
   */
  crashOn?: CrashOn;
}

/** A call that kills the local stack: `SendEmail` to an address, or `SendMessage` of a body naming the text. */
export interface CrashOn {
  action: 'SendEmail' | 'SendMessage';
  text: string;
}

/** Reads `LOCAL_CRASH_ON` (`SendEmail:<text>` or `SendMessage:<text>`); undefined when unset. */
export function parseCrashOn(value: string | undefined): CrashOn | undefined {
  if (!value?.trim()) return undefined;
  const match = /^(SendEmail|SendMessage):(.+)$/.exec(value.trim());
  if (!match?.[2])
    throw new Error(`LOCAL_CRASH_ON must be SendEmail:<text> or SendMessage:<text>, got "${value}"`);
  return { action: match[1] as CrashOn['action'], text: match[2] };
}

/** A running local stack. */
export type LocalStack = Awaited<ReturnType<typeof startLocalStack>>;

/** SES publishes an email's events about a second after the send. */
const EVENT_DELAY_SECONDS = 1;
/** How long `stop()` waits for invocations in flight; their messages are kept either way. */
const STOP_WAIT_MS = 30_000;

let startedInThisProcess = false;

/**
 * Starts the whole system in this process: dynalite, local-aws-sqs and aws-ses-v2-local, the table
 * and queues as the CDK stack defines them, the real handlers behind a local API Gateway and two SQS
 * event source pollers (the feedback queue's, the email-event queue's), and the daily report's
 * schedule. One stack per process: the handlers read their environment once, when first imported
 * (vitest runs each test file in its own process).
 */
export async function startLocalStack(options: LocalStackOptions = {}) {
  if (startedInThisProcess) throw new Error('startLocalStack: one local stack per process');
  startedInThisProcess = true;
  const host = '127.0.0.1';
  const { dataDir } = options;
  const { reportSchedule, ...given } = options;
  const values = localSettingValues({
    ...given,
    ...(typeof reportSchedule === 'string' ? { reportSchedule } : {}),
  });
  const { notifyEmail, maxAttempts } = values;
  // The same sizing as the deployed worker's: concurrency, batch, timeout and visibility.
  const sizing = workerSizing(values);
  const settings = {
    ...values,
    visibilityTimeoutSeconds: options.visibilityTimeoutSeconds ?? sizing.visibilityTimeoutSeconds,
    maxReceiveCount: options.maxReceiveCount ?? maxAttempts + queue.maxReceiveCount - queue.maxAttempts,
    batchSize: sizing.batchSize,
    concurrency: sizing.maxConcurrency,
    emailEvents: {
      visibilityTimeoutSeconds:
        options.emailEventsQueue?.visibilityTimeoutSeconds ?? emailEventsQueue.visibilityTimeoutSeconds,
      maxReceiveCount: options.emailEventsQueue?.maxReceiveCount ?? emailEventsQueue.maxReceiveCount,
    },
  };
  const apiTimeoutMs = apiFunction.timeoutSeconds * 1000;
  const write = options.quiet ? undefined : (options.log ?? ((line: string) => console.log(line)));
  const log = (line: string) => write?.(line);
  const closers: (() => unknown)[] = [];
  const closeAll = async () => {
    for (const close of closers.splice(0).reverse())
      await Promise.resolve()
        .then(close)
        .catch(() => undefined);
  };

  try {
    const claim = dataDir ? claimDataDir(dataDir) : undefined;
    if (claim) closers.push(() => claim.release());
    const at = (part: keyof typeof localPorts) => ({
      host,
      port: options.ports?.[part] ?? 0,
      variable: localPorts[part].variable,
    });
    const dataPath = (name: string) => (dataDir ? join(dataDir, name) : undefined);
    const dynamo = await startDynamoDb(at('dynamodb'), dataPath('dynamodb'));
    closers.push(() => dynamo.close());
    const { crashOn } = options;
    const crash = (action: string, text: string) => {
      if (crashOn?.action === action && text.includes(crashOn.text)) process.kill(process.pid, 'SIGKILL');
    };
    const sqsEmulator = await startSqs(at('sqs'), dataPath('sqs'), crash);
    closers.push(() => sqsEmulator.close());
    const dynamodb = new DynamoDBClient({ ...LOCAL_CLIENT_CONFIG, endpoint: dynamo.endpoint });
    const sqs = new SQSClient({ ...LOCAL_CLIENT_CONFIG, endpoint: sqsEmulator.endpoint });
    closers.push(
      () => dynamodb.destroy(),
      () => sqs.destroy(),
    );
    const tableName = localResourceNames.table;
    await ensureTable(dynamodb, tableName);
    // Creating the queues puts back the messages kept in the data folder (see startSqs).
    const queues = await ensureQueues(sqs, settings);
    // SES's events (delivery, bounce, complaint) go on the email-event queue as the stack's rules put
    // them there (the kept fields only, never an address), delayed by the second SES takes to publish them.
    const queueEvent = (event: QueuedEmailEvent) =>
      sqs
        .send(
          new SendMessageCommand({
            QueueUrl: queues.emailEvents.queueUrl,
            MessageBody: JSON.stringify(event),
            DelaySeconds: EVENT_DELAY_SECONDS,
          }),
        )
        .catch((error: unknown) => log(`[ses] event ${event.detail.eventType} not queued: ${reason(error)}`));
    // The autoresponses go through a set of their own, with SES's address validation (unless off) and the
    // breaker that pauses it; the owner's emails through the other set.
    const { configurationSet, autoresponseConfigurationSet } = localResourceNames;
    const sending = localSesSending({
      validatedSets: settings.addressValidation === 'off' ? [] : [autoresponseConfigurationSet],
      stateFile: dataPath('ses-sending.json'),
    });
    let pauseAutoresponses: ReturnType<typeof handlerFunction<'pause-autoresponses'>> | undefined;
    const breaker = localBreaker({
      configurationSet: autoresponseConfigurationSet,
      onAlarm: (event) => {
        log(`[breaker] ${event.alarmData.state.reason} Pausing the autoresponses.`);
        pauseAutoresponses
          ?.invoke(event)
          .catch((error: unknown) => log(`[breaker] pause failed: ${reason(error)}`));
      },
    });
    const ses = await startSes(
      at('ses'),
      (email) => {
        breaker.sent(email);
        for (const event of sesEventsFor(email)) {
          breaker.event(event);
          const route = routeOf(event, [configurationSet, autoresponseConfigurationSet]);
          if (route !== undefined) queueEvent(keptEmailEvent(event, route));
        }
      },
      { sending, reputation: () => breaker.reputation(), onCall: crash },
    );
    closers.push(() => ses.close());

    // The autoresponse limit's key for hashing addresses: kept with the data, so counts survive a restart.
    const keyFile = dataPath('autoresponse-key');
    const autoresponseHashKey =
      keyFile && existsSync(keyFile) ? readFileSync(keyFile, 'utf8').trim() : randomBytes(32).toString('hex');
    if (keyFile) writeFileSync(keyFile, autoresponseHashKey, { mode: 0o600 });
    delete process.env.AWS_SESSION_TOKEN;
    const handlerSettings = {
      ...values,
      // Each of the worker's execution environments is a module instance of its own (lambda.ts),
      // pacing its sends at SES_MAX_SEND_RATE / WORKER_CONCURRENCY, as in the cloud.
      ...derivedWorkerValues(sizing, values.leaseSeconds),
      maxReceiveCount: settings.maxReceiveCount,
      tasksTableName: tableName,
      feedbackQueueUrl: queues.queueUrl,
      deadLetterQueueUrl: queues.deadLetterQueueUrl,
      sesConfigurationSet: configurationSet,
      sesAutoresponseConfigurationSet: autoresponseConfigurationSet,
      autoresponseHashKey,
    };
    const endpoints = { dynamodb: dynamo.endpoint, sqs: sqsEmulator.endpoint, ses: ses.endpoint };
    const logLevel = options.quiet ? 'SILENT' : 'INFO';
    // The handlers' settings are these and no others: none passes from this process's own environment.
    setHandlerEnvironment(handlerSettings, { endpoints, logLevel });
    if (write && !options.jsonLogs) closers.push(captureHandlerLogs(write));
    // Each function's first execution environment is loaded now, so that a setting a handler refuses
    // stops `npm start` at once; each of its modules reads the environment set above when it loads.
    const submit = handlerFunction('submit-feedback', apiTimeoutMs);
    const getTask = handlerFunction('get-task', apiTimeoutMs);
    const report = handlerFunction('daily-report', reportFunction.timeoutSeconds * 1000);
    const worker = handlerFunction('send-feedback-email', sizing.timeoutSeconds * 1000);
    const emailEvents = handlerFunction('record-email-event', apiTimeoutMs);
    pauseAutoresponses = handlerFunction('pause-autoresponses', apiTimeoutMs);
    await Promise.all(
      [submit, getTask, report, worker, emailEvents, pauseAutoresponses].map((target) => target.warm()),
    );

    const siteDir =
      options.site === false ? undefined : (dataPath('site') ?? mkdtempSync(join(tmpdir(), 'site-')));
    if (siteDir) buildSite(siteDir);
    if (siteDir && !dataDir) closers.push(() => rmSync(siteDir, { recursive: true, force: true }));

    // The two event sources: the feedback queue's for the worker, the email-event queue's for SES's events.
    const pollerOf = (tag: string, source: Omit<PollerOptions, 'sqs' | 'region' | 'waitTimeSeconds'>) =>
      createPoller({
        sqs,
        region: LOCAL_REGION,
        waitTimeSeconds: options.pollWaitSeconds ?? 20,
        onError: (error) => log(`[${tag}] ${reason(error)}`),
        ...source,
      });
    const { batchSize, concurrency } = settings;
    const pollers = [
      pollerOf('tasks', { ...queues, target: worker, batchSize, concurrency }),
      pollerOf('ses', {
        ...queues.emailEvents,
        target: emailEvents,
        batchSize: emailEventsQueue.batchSize,
        concurrency: emailEventsQueue.maxConcurrency,
      }),
    ];
    const startPollers = () => {
      for (const poller of pollers) poller.start();
    };

    const gateway = createGateway({
      routes: [
        { method: 'POST', path: '/api/feedback', target: submit },
        { method: 'GET', path: '/api/tasks/{taskId}', target: getTask },
      ],
      siteDir,
      // CloudFront's security headers, so the page runs under its real CSP here too; without
      // Strict-Transport-Security, as this gateway speaks plain HTTP.
      responseHeaders: securityHeaders({ https: false }),
      rateLimit: values.wafRateLimit,
      onRequest: (line) => log(`[web] ${line}`),
      onError: (functionName, error) => log(`[web] ${functionName} failed: ${reason(error)}`),
    });
    const webPort = await listen(gateway, 'page and API', at('web'));
    closers.push(() => closeServer(gateway));

    const runReport = (date?: string) => report.invoke(date === undefined ? {} : { date });
    if (notifyEmail && reportSchedule !== false) {
      const timer = setInterval(() => {
        runReport().catch((error: unknown) => log(`[beat] daily report failed: ${reason(error)}`));
      }, reportIntervalMs(values.reportSchedule)).unref();
      closers.push(() => clearInterval(timer));
    }
    startPollers();
    const ports = { web: webPort, dynamodb: dynamo.port, sqs: sqsEmulator.port, ses: ses.port };
    claim?.publish({ ports, senderEmail: settings.senderEmail, ...(notifyEmail ? { notifyEmail } : {}) });

    let stopping: Promise<void> | undefined;
    const stop = async () => {
      await closeServer(gateway);
      const running = await Promise.all(pollers.map((poller) => poller.stop(STOP_WAIT_MS)));
      const stillRunning = running.reduce((sum, count) => sum + count, 0);
      if (stillRunning > 0)
        log(`[stack] ${stillRunning} invocation(s) still running; their messages go on at the next start`);
      await closeAll();
    };
    return {
      /** The page and the API, e.g. `http://127.0.0.1:3000`. */
      url: `http://${host}:${webPort}`,
      /** The SES emulator's mailbox; the emails as JSON at `${sesUrl}/store`. */
      sesUrl: ses.endpoint,
      dynamodbEndpoint: dynamo.endpoint,
      sqsEndpoint: sqsEmulator.endpoint,
      queueUrl: queues.queueUrl,
      deadLetterQueueUrl: queues.deadLetterQueueUrl,
      /** The email-event queue (SES's events, as the rule queues them) and its dead-letter queue. */
      emailEvents: queues.emailEvents,
      tableName,
      ports,
      /** The settings in effect, after defaults. */
      settings,
      /** SDK clients pointed at the emulators, for tests and tools. */
      clients: { dynamodb, sqs },
      /** Stops receiving from both queues; resolves when no invocation of theirs is in flight. */
      pausePoller: async () => {
        await Promise.all(pollers.map((poller) => poller.pause()));
      },
      resumePoller: startPollers,
      /** An SES outage (connections refused) and its end; the mailbox is kept. */
      stopSes: () => ses.stop(),
      startSes: () => ses.start(),
      /** The autoresponses' rates as the local breaker counts them, and its alarm's state. */
      reputation: () => breaker.reputation(),
      /** Whether the autoresponses' configuration set is paused. */
      autoresponsesPaused: () => sending.isPaused(autoresponseConfigurationSet),
      /** Runs the daily report handler now (for `date`, `YYYY-MM-DD`, or yesterday). */
      runReport,
      /** Stops accepting HTTP and polling, waits for invocations in flight (at most 30 s), closes the emulators. */
      stop: (): Promise<void> => {
        stopping ??= stop();
        return stopping;
      },
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

/** The report's interval for `rate(N unit)`; a day for anything else (the stack's cron runs daily). */
export function reportIntervalMs(schedule: string | undefined): number {
  const match = /^rate\((\d+) (minute|hour|day)s?\)$/.exec(schedule?.trim() ?? '');
  const unitMs = { minute: 60_000, hour: 3_600_000, day: 86_400_000 };
  return match ? Number(match[1]) * unitMs[match[2] as keyof typeof unitMs] : unitMs.day;
}
