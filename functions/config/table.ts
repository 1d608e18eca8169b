/**
 * The settings table: every setting of the product declared once, with its CDK context key, its
 * environment variable, its rule (parser and bounds, whose words the errors use), its default, the
 * functions that receive it, and one line for the docs. Everything else follows from an entry:
 * `readConfig` (lib/config.ts) reads the context keys, `environmentFor` gives each function its
 * variables, `npm start` reads the `local` ones from its shell (lib/local/settings.ts), each handler reads
 * its own with `readSetting` (env.ts), and a test holds the README's and docs/local-stack.md's tables to
 * it. How to add one: README.md in this folder.
 *
 * Each setting is an export of its own, and handlers import this module as a namespace
 * (`import * as setting from './config/table.ts'`), so that a bundle keeps only the entries its handler
 * reads. For that an entry must do nothing at load that esbuild cannot drop: no call, no spread, no
 * property of another object (a value derived from settings.ts is a getter; a parser an arrow function).
 */
import { consumer, LAMBDA_MAX_TIMEOUT_SECONDS, queue } from './settings.ts';

/** The handlers that receive settings, by their file in `functions/`. */
export type FunctionName =
  | 'submit-feedback'
  | 'get-task'
  | 'send-feedback-email'
  | 'record-email-event'
  | 'daily-report'
  | 'origin-check'
  | 'pause-autoresponses';

interface SettingEntry<T> {
  /** One line for the docs' tables: what it does for the user. */
  readonly doc: string;
  /** The CDK app reads it from context under the setting's own name (`-c name=value`, cdk.json). */
  readonly context?: true;
  /** Its environment variable: what the functions below get, and what `npm start` reads when `local`. */
  readonly env?: string;
  /** The functions whose environment holds it. */
  readonly functions?: readonly FunctionName[];
  /** `npm start` takes it from its own environment (`env`); nothing else passes from the shell. */
  readonly local?: true;
  /** The value when none is given; none (off, or derived) without it. */
  readonly default?: T;
  /** The local stack's default, where it differs from the deployed one. */
  readonly localDefault?: T;
  /** The docs' words for the default, where the value alone would not say it. */
  readonly shown?: string;
  /** The same for `npm start`. */
  readonly localShown?: string;
}

/**
 * A number from `min` (to `max`). A handler checks the least only: the most is a deployment's limit
 * (Lambda's 900 s, the SES quota), which the tests and the benchmark pass on purpose.
 */
export interface NumberSetting extends SettingEntry<number> {
  readonly min: number;
  readonly max?: number;
  readonly integer?: true;
}

/** A text, or what `parse` makes of it. */
export interface TextSetting<T = string> extends SettingEntry<T> {
  /** What a valid value is, after "must be", for the errors (and so for the person who reads them). */
  readonly must?: string;
  /** An example, shown after `must` as the assignment that sets it: `(-c notifyEmail=you@example.com)`. */
  readonly example?: string;
  /** The value of a trimmed, non-empty text; throws (anything: the error says `must`) on one it refuses. */
  readonly parse?: (text: string) => T;
}

export type Setting = NumberSetting | TextSetting<unknown>;

/** The value a setting's entry gives. */
export type ValueOf<S> = S extends NumberSetting
  ? number
  : S extends { parse: (text: string) => infer T }
    ? T
    : string;

const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const SCHEDULE_PATTERN = /^(rate|cron|at)\(.+\)$/;
const DOMAIN_LABEL_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const HOSTED_ZONE_ID_PATTERN = /^Z[A-Z0-9]{1,32}$/;

/** `text` when `valid`; a refusal otherwise (the reader words it from the entry's `must`). */
function accept<T>(valid: boolean, value: T): T {
  if (!valid) throw new RangeError('refused');
  return value;
}

/** A DNS name of two labels or more, each of letters, digits and inner hyphens; not an IP address. */
function isDomainName(value: string): boolean {
  const labels = value.split('.');
  return (
    value.length <= 253 &&
    labels.length >= 2 &&
    labels.every((label) => DOMAIN_LABEL_PATTERN.test(label)) &&
    !/^[0-9]+$/.test(labels.at(-1) ?? '')
  );
}

/** The origin (`scheme://host[:port]`) of a URL, lower-cased; undefined for `null` or a value that is no URL. */
export function originOf(value: string): string | undefined {
  try {
    const origin = new URL(value).origin;
    return origin === 'null' ? undefined : origin.toLowerCase();
  } catch {
    return undefined;
  }
}

/**
 * Comma-separated origins (`https://example.com`, scheme and host, no path or trailing slash), spaces and
 * empty entries ignored; throws on an entry that is not an origin, so that a typo fails at load.
 */
export function parseAllowedOrigins(value: string): string[] {
  return value
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
    .map((entry) => {
      const origin = originOf(entry);
      if (origin === undefined || origin !== entry.toLowerCase()) {
        throw new Error(`"${entry}" is not an origin like https://example.com`);
      }
      return origin;
    });
}

const isEmail = (text: string) => accept(EMAIL_PATTERN.test(text), text);

/** The placeholder sender of a synth without `senderEmail`, and the local stack's sender (the seed's). */
const LOCAL_SENDER_EMAIL = 'support@example.com';

export const SENDER_IDENTITY_MODES = ['create', 'existing'] as const;
export type SenderIdentityMode = (typeof SENDER_IDENTITY_MODES)[number];

export const DATA_REMOVAL_MODES = ['destroy', 'retain'] as const;
export type DataRemovalMode = (typeof DATA_REMOVAL_MODES)[number];

/**
 * SES's Auto Validation thresholds of the autoresponses' configuration set: `managed` lets SES set it from
 * the account's sending (SES's recommendation), `high` suppresses more, `medium` less; `off` sets none.
 */
export const ADDRESS_VALIDATION_LEVELS = ['managed', 'high', 'medium', 'off'] as const;
export type AddressValidation = (typeof ADDRESS_VALIDATION_LEVELS)[number];

// ---- What a person sets: context keys on AWS, variables of `npm start` ----

export const senderEmail = {
  doc: 'the From address of the emails',
  context: true,
  env: 'SENDER_EMAIL',
  functions: ['send-feedback-email', 'daily-report', 'pause-autoresponses'],
  local: true,
  must: 'an email address',
  example: 'you@example.com',
  parse: isEmail,
  localDefault: LOCAL_SENDER_EMAIL,
  shown: 'required (synth alone uses a placeholder and warns; deploying that template fails)',
} as const satisfies TextSetting;

export const senderIdentity = {
  doc: '`existing`: use an SES identity already verified (the address’s or its domain’s) and create none',
  context: true,
  must: '"create" (the stack creates the sender\'s SES identity, the default) or "existing" (one already verified in SES covers senderEmail)',
  parse: (text: string) =>
    accept((SENDER_IDENTITY_MODES as readonly string[]).includes(text), text as SenderIdentityMode),
  default: 'create',
} as const satisfies TextSetting<SenderIdentityMode>;

export const senderDomain = {
  doc: 'verify this domain with Easy DKIM instead of the address (`senderEmail` at it or a subdomain)',
  context: true,
  must: 'a domain name such as example.com (no scheme, @, path or trailing dot)',
  parse: (text: string) => accept(isDomainName(text.toLowerCase()), text.toLowerCase()),
} as const satisfies TextSetting;

export const hostedZoneId = {
  doc: 'the Route 53 zone of `senderDomain`, where the stack writes its DKIM records (else they are outputs)',
  context: true,
  must: 'a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ (without "/hostedzone/")',
  parse: (text: string) => accept(HOSTED_ZONE_ID_PATTERN.test(text), text),
} as const satisfies TextSetting;

export const workSeconds = {
  doc: 'simulated slow work before sending, seconds (the seed’s `sleep(20)`)',
  context: true,
  env: 'FEEDBACK_WORK_SECONDS',
  functions: ['send-feedback-email'],
  local: true,
  min: 0,
  // The worker's timeout is the work, the batch's paced sends and headroom; workerSizing checks the sum.
  get max() {
    return LAMBDA_MAX_TIMEOUT_SECONDS - consumer.headroomSeconds;
  },
  integer: true,
  default: 20,
} as const satisfies NumberSetting;

export const taskTtlDays = {
  doc: 'task record lifetime, at least 15: longer than the dead-letter queue’s 14 days, so no record expires while its message can still be delivered or redriven',
  context: true,
  env: 'TASK_TTL_DAYS',
  functions: ['submit-feedback'],
  local: true,
  // A task record must outlive its message: the queue can deliver it, and a redrive from the dead-letter
  // queue bring it back, until the dead-letter queue's retention ends (counted from the first enqueue).
  get min() {
    return Math.ceil(Math.max(queue.retentionSeconds, queue.deadLetterRetentionSeconds) / 86_400) + 1;
  },
  max: 365,
  integer: true,
  default: 15,
} as const satisfies NumberSetting;

export const notifyEmail = {
  doc: 'the site owner’s address: a copy of each feedback and the daily report ([more](docs/operating.md#the-site-owner-notification-and-daily-report))',
  context: true,
  env: 'NOTIFY_EMAIL',
  functions: ['send-feedback-email', 'daily-report', 'pause-autoresponses'],
  local: true,
  must: 'an email address',
  example: 'you@example.com',
  parse: isEmail,
  shown: 'off',
} as const satisfies TextSetting;

export const notifyIdentity = {
  doc: 'with `notifyEmail`: `existing` when the owner’s address is verified in SES already (the stack then creates no identity for it, which would fail with `AlreadyExists`); `create` to have one created',
  context: true,
  must: '"create" (the stack creates the owner\'s SES identity) or "existing" (notifyEmail is verified in SES already)',
  parse: (text: string) =>
    accept((SENDER_IDENTITY_MODES as readonly string[]).includes(text), text as SenderIdentityMode),
  shown: '`senderIdentity`’s',
} as const satisfies TextSetting<SenderIdentityMode>;

export const reportSchedule = {
  doc: 'when the daily report runs: an EventBridge Scheduler expression (UTC); locally `rate(N minutes|hours|days)`, and `npm run report` runs it now',
  context: true,
  env: 'REPORT_SCHEDULE',
  local: true,
  must: 'an EventBridge Scheduler expression such as "rate(1 day)" or "cron(0 8 * * ? *)"',
  parse: (text: string) => accept(SCHEDULE_PATTERN.test(text), text),
  // Once a day at 08:00 UTC, after the day it reports on (UTC) has ended.
  default: 'cron(0 8 * * ? *)',
  localShown: 'once a day from the start',
} as const satisfies TextSetting;

export const alarmEmail = {
  doc: 'an SNS topic that mails [alarm](docs/operating.md#alarms) changes to this address',
  context: true,
  must: 'an email address',
  example: 'you@example.com',
  parse: isEmail,
  shown: 'off',
} as const satisfies TextSetting;

export const sesMaxSendRate = {
  doc: 'SES sends per second over all workers (the sandbox allows 1): raise it to your account’s quota; the worker is sized from it',
  context: true,
  env: 'SES_MAX_SEND_RATE',
  functions: ['send-feedback-email'],
  local: true,
  min: 0.1,
  max: 1_000,
  default: 1,
} as const satisfies NumberSetting;

export const workerConcurrency = {
  doc: 'the worker’s concurrent invocations; by default `sesMaxSendRate` × (work + 2 s) / emails per batch, enough to keep SES busy',
  context: true,
  env: 'WORKER_CONCURRENCY',
  functions: ['send-feedback-email'],
  local: true,
  get min() {
    return consumer.minConcurrency;
  },
  get max() {
    return consumer.maxConcurrency;
  },
  integer: true,
  shown: 'derived',
} as const satisfies NumberSetting;

export const apiRateLimit = {
  doc: 'throttling of `POST /api/feedback`, requests per second (the status polls have their own, 50)',
  context: true,
  min: 1,
  max: 10_000,
  default: 10,
} as const satisfies NumberSetting;

export const apiBurstLimit = {
  doc: 'the burst above `apiRateLimit` (the status polls’: 100)',
  context: true,
  min: 1,
  max: 5_000,
  integer: true,
  default: 20,
} as const satisfies NumberSetting;

export const allowedOrigins = {
  doc: 'comma-separated origins allowed to post the form from another site ([security](docs/security.md#abuse-limits))',
  context: true,
  env: 'ALLOWED_ORIGINS',
  functions: ['submit-feedback'],
  local: true,
  must: 'a comma-separated list of origins like https://example.com (scheme and host, no path or trailing slash)',
  parse: parseAllowedOrigins,
  default: [],
  shown: 'none (CORS off)',
} as const satisfies TextSetting<string[]>;

export const autoresponseLimit = {
  doc: 'autoresponses to one address per 24 hours; the owner still gets every feedback ([abuse limits](docs/security.md#abuse-limits))',
  context: true,
  env: 'AUTORESPONSE_LIMIT',
  functions: ['send-feedback-email'],
  local: true,
  min: 1,
  max: 1_000,
  integer: true,
  default: 3,
} as const satisfies NumberSetting;

export const wafRateLimit = {
  doc: 'POSTs per client IP per 5 minutes, with AWS WAF in a second stack in us-east-1 (about $8 a month), locally the gateway ([abuse limits](docs/security.md#abuse-limits))',
  context: true,
  env: 'WAF_RATE_LIMIT',
  local: true,
  // WAF's own bounds of a rate-based rule's limit (it counts over 5 minutes, at least 10 requests).
  min: 10,
  max: 2_000_000_000,
  integer: true,
  shown: 'off',
} as const satisfies NumberSetting;

export const dataRemoval = {
  doc: '`retain`: `npm run destroy` keeps the task table (and its backups), and deletion protection is on; `destroy` deletes it with the stack, for a quick try',
  context: true,
  must: '"destroy" (cdk destroy deletes the task table, the default) or "retain" (the table is kept, with deletion protection on)',
  parse: (text: string) =>
    accept((DATA_REMOVAL_MODES as readonly string[]).includes(text), text as DataRemovalMode),
  default: 'destroy',
} as const satisfies TextSetting<DataRemovalMode>;

export const addressValidation = {
  doc: 'SES’s Auto Validation of each autoresponse’s address: `managed`, `high`, `medium` or `off`; locally an address under `.invalid` fails it ([address validation](docs/operating.md#address-validation), its [price](docs/performance.md#where-the-money-goes))',
  context: true,
  env: 'ADDRESS_VALIDATION',
  local: true,
  must: "one of managed, high, medium, off (SES's Auto Validation threshold of the autoresponses, or off)",
  parse: (text: string) =>
    accept(
      (ADDRESS_VALIDATION_LEVELS as readonly string[]).includes(text.toLowerCase()),
      text.toLowerCase() as AddressValidation,
    ),
  default: 'managed',
} as const satisfies TextSetting<AddressValidation>;

export const maxAttempts = {
  doc: 'the worker’s attempts at a task before it gives the task up (`FAILURE`, the message to the dead-letter queue); SQS’s backstop stays as far above it as on AWS',
  env: 'MAX_ATTEMPTS',
  functions: ['send-feedback-email'],
  local: true,
  min: 1,
  integer: true,
  get default() {
    return queue.maxAttempts;
  },
} as const satisfies NumberSetting;

export const leaseSeconds = {
  doc: 'how long a worker’s claim holds a task; the tests shorten it',
  env: 'TASK_LEASE_SECONDS',
  functions: ['send-feedback-email'],
  local: true,
  min: 0,
  localShown: 'the worker’s timeout',
} as const satisfies NumberSetting;

// ---- What the stack sets: its resources, and values derived from the settings above ----

export const tasksTableName = {
  doc: 'the task table',
  env: 'TASKS_TABLE_NAME',
  functions: ['submit-feedback', 'get-task', 'send-feedback-email', 'record-email-event', 'daily-report'],
} as const satisfies TextSetting;

export const feedbackQueueUrl = {
  doc: 'the feedback queue',
  env: 'FEEDBACK_QUEUE_URL',
  functions: ['submit-feedback', 'send-feedback-email'],
} as const satisfies TextSetting;

export const deadLetterQueueUrl = {
  doc: 'the feedback queue’s dead-letter queue: where the worker moves a task it gives up; its depth is in the daily report',
  env: 'DEAD_LETTER_QUEUE_URL',
  functions: ['send-feedback-email', 'daily-report'],
} as const satisfies TextSetting;

export const maxReceiveCount = {
  doc: 'the queue’s redrive count, SQS’s backstop above the worker’s own attempt limit',
  env: 'MAX_RECEIVE_COUNT',
  functions: ['send-feedback-email'],
  min: 1,
  integer: true,
  get default() {
    return queue.maxReceiveCount;
  },
} as const satisfies NumberSetting;

export const originSecret = {
  doc: 'what CloudFront sends in `x-origin-verify`, which the API’s authorizer compares',
  env: 'ORIGIN_SECRET',
  functions: ['origin-check'],
} as const satisfies TextSetting;

export const sesConfigurationSet = {
  doc: 'the SES configuration set of the owner’s emails (notification, daily report, the breaker’s notice), so that SES publishes their events',
  env: 'SES_CONFIGURATION_SET',
  functions: ['send-feedback-email', 'daily-report', 'pause-autoresponses'],
} as const satisfies TextSetting;

export const sesAutoresponseConfigurationSet = {
  doc: 'the SES configuration set of the visitors’ autoresponses: SES validates their addresses, and the breaker pauses it alone',
  env: 'SES_AUTORESPONSE_CONFIGURATION_SET',
  functions: ['send-feedback-email', 'pause-autoresponses'],
} as const satisfies TextSetting;

export const autoresponseHashKey = {
  doc: 'the key of the autoresponse limit’s hashed addresses; no limit without it',
  env: 'AUTORESPONSE_HASH_KEY',
  functions: ['send-feedback-email'],
} as const satisfies TextSetting;

/** Every setting, in the docs' order. */
export const settings = {
  senderEmail,
  senderIdentity,
  senderDomain,
  hostedZoneId,
  workSeconds,
  taskTtlDays,
  notifyEmail,
  notifyIdentity,
  reportSchedule,
  alarmEmail,
  sesMaxSendRate,
  workerConcurrency,
  apiRateLimit,
  apiBurstLimit,
  allowedOrigins,
  autoresponseLimit,
  wafRateLimit,
  dataRemoval,
  addressValidation,
  maxAttempts,
  leaseSeconds,
  tasksTableName,
  feedbackQueueUrl,
  deadLetterQueueUrl,
  maxReceiveCount,
  originSecret,
  sesConfigurationSet,
  sesAutoresponseConfigurationSet,
  autoresponseHashKey,
} as const;

export type Settings = typeof settings;
export type SettingName = keyof Settings;

/** The names of the settings whose entry has `property`. */
type NamesWith<P extends string> = {
  [K in SettingName]: Settings[K] extends Record<P, unknown> ? K : never;
}[SettingName];

/** The settings read from CDK context, and those `npm start` reads from its shell. */
export type ContextName = NamesWith<'context'>;
export type LocalName = NamesWith<'local'>;

/** Values by setting: those with a default always have one; the others may be off. */
export type Values<N extends SettingName> = { [K in N & NamesWith<'default'>]: ValueOf<Settings[K]> } & {
  [K in Exclude<N, NamesWith<'default'>>]?: ValueOf<Settings[K]>;
};

/** Some of the settings' values, each as its entry gives it: what a function's environment is made of. */
export type SomeValues = { [K in SettingName]?: ValueOf<Settings[K]> | undefined };

/** The product's settings, from the table: every entry with its name. */
export function settingEntries(): [SettingName, Setting][] {
  return Object.entries(settings) as [SettingName, Setting][];
}

/**
 * The environment of the function `name`: the variable of each setting it receives, from `values` (as
 * the settings give them: numbers, lists); those without a value (or an empty list) are left out, so the
 * handler's default applies.
 */
export function environmentFor(name: FunctionName, values: SomeValues): Record<string, string> {
  const environment: Record<string, string> = {};
  for (const [key, entry] of settingEntries()) {
    const value = values[key];
    if (entry.env === undefined || value === undefined || !entry.functions?.includes(name)) continue;
    if (Array.isArray(value) && value.length === 0) continue;
    environment[entry.env] = Array.isArray(value) ? value.join(',') : String(value);
  }
  return environment;
}

// ---- Derived from the settings: both stacks and the worker call these, so that they agree ----

/** The worker's event source and function settings, derived so that they agree with one another. */
export interface WorkerSizing {
  batchSize: number;
  /** Concurrent invocations at most (the event source's `maxConcurrency`, `WORKER_CONCURRENCY`). */
  maxConcurrency: number;
  /** Milliseconds between two sends of one container: together the containers send at the SES rate. */
  sendIntervalMs: number;
  /** The function's timeout: the work, every send of a full batch at the container's pace, headroom. Also the lease. */
  timeoutSeconds: number;
  /** The queue's visibility timeout: AWS's guidance of six times the function's timeout. */
  visibilityTimeoutSeconds: number;
}

/** The settings the worker's sizing follows. */
export const WORKER_SIZING_INPUTS = [
  'workSeconds',
  'sesMaxSendRate',
  'notifyEmail',
  'workerConcurrency',
] as const;
export type WorkerSizingInput = Pick<SomeValues, (typeof WORKER_SIZING_INPUTS)[number]>;

/** A sizing that cannot work (a batch would outrun Lambda's longest timeout). */
export class SizingError extends Error {
  override name = 'SizingError';
}

/** Emails per task: the visitor's, and the owner's copy when `notifyEmail` is set. */
export function emailsPerTask(owner: string | undefined): number {
  return owner === undefined ? 1 : 2;
}

/**
 * Sizes the worker from the SES rate, so that throughput follows the quota; the one function both stacks
 * and the worker call, with the settings' defaults for what `input` leaves out. Each container paces its
 * sends `maxConcurrency / sesMaxSendRate` seconds apart (together: the SES rate). A container keeps up its
 * share when a batch's sends take at least as long as one task's work, so the derived concurrency is
 * `sesMaxSendRate × (work + overhead) / (batchSize × emailsPerTask)`, within the event source's bounds,
 * unless `workerConcurrency` fixes it. The timeout covers the work plus every send of a full batch at that pace.
 *
 * @throws {SizingError} when a batch could not finish within Lambda's 900 s
 */
export function workerSizing(input: WorkerSizingInput): WorkerSizing {
  const work = input.workSeconds ?? workSeconds.default;
  const rate = input.sesMaxSendRate ?? sesMaxSendRate.default;
  if (!(rate > 0)) throw new SizingError(`The SES send rate must be positive, got ${rate}`);
  const batchSize = consumer.batchSize;
  const sendsPerBatch = batchSize * emailsPerTask(input.notifyEmail);
  const derived = Math.ceil((rate * (work + consumer.taskOverheadSeconds)) / sendsPerBatch);
  const maxConcurrency =
    input.workerConcurrency ?? Math.min(consumer.maxConcurrency, Math.max(consumer.minConcurrency, derived));
  const sendIntervalMs = (maxConcurrency * 1000) / rate;
  const timeoutSeconds = Math.ceil(work + (sendsPerBatch * sendIntervalMs) / 1000 + consumer.headroomSeconds);
  if (timeoutSeconds > LAMBDA_MAX_TIMEOUT_SECONDS) {
    throw new SizingError(
      `A batch of ${batchSize} tasks (${sendsPerBatch} emails at ${maxConcurrency} invocations sharing ${rate}/s, ` +
        `after ${work} s of work) needs ${timeoutSeconds} s, over Lambda's ${LAMBDA_MAX_TIMEOUT_SECONDS} s: ` +
        'raise the send rate, lower the work time or the concurrency.',
    );
  }
  return {
    batchSize,
    maxConcurrency,
    sendIntervalMs,
    timeoutSeconds,
    visibilityTimeoutSeconds: queue.visibilityTimeoutFactor * timeoutSeconds,
  };
}

/**
 * The settings the worker's function gets beyond the table's own values: its derived concurrency, and
 * its lease (its timeout, unless `leaseSeconds` is given), so that its pace and lease agree with its
 * deployment.
 */
export function derivedWorkerValues(sizing: WorkerSizing, lease?: number): SomeValues {
  return { workerConcurrency: sizing.maxConcurrency, leaseSeconds: lease ?? sizing.timeoutSeconds };
}
