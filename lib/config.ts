import {
  ADDRESS_VALIDATION_LEVELS,
  type AddressValidation,
  addressValidationOf,
  apiThrottling,
  autoresponse,
  clientRateLimit,
  consumer,
  DEFAULT_SES_MAX_SEND_RATE,
  DEFAULT_TASK_TTL_DAYS,
  DEFAULT_WORK_SECONDS,
  LAMBDA_MAX_TIMEOUT_SECONDS,
  LOCAL_SENDER_EMAIL,
  queue,
  SizingError,
  type WorkerSizing,
  workerSizing,
} from '../functions/config/settings.ts';
import { parseAllowedOrigins } from '../functions/http/requests.ts';

/** Used for synth when no `senderEmail` is given: deploying with it fails SES verification, hence a warning. */
export const PLACEHOLDER_SENDER_EMAIL = LOCAL_SENDER_EMAIL;

/** Once a day at 08:00 UTC, after the day it reports on (UTC) has ended. */
export const DEFAULT_REPORT_SCHEDULE = 'cron(0 8 * * ? *)';

/**
 * A task record must outlive its message: the queue can deliver it, and a redrive from the dead-letter
 * queue bring it back, until the dead-letter queue's retention ends (counted from the first enqueue).
 */
export const MIN_TASK_TTL_DAYS =
  Math.ceil(Math.max(queue.retentionSeconds, queue.deadLetterRetentionSeconds) / 86_400) + 1;

/**
 * Whether the stack creates the sender's SES identity (`create`) or sends through one already verified in
 * the account (`existing`), which CloudFormation could neither create (it exists) nor safely delete.
 */
export const SENDER_IDENTITY_MODES = ['create', 'existing'] as const;
export type SenderIdentityMode = (typeof SENDER_IDENTITY_MODES)[number];

/**
 * What `cdk destroy` does with the task table: `destroy` (the default, for a quick try) deletes it and its
 * point-in-time backups; `retain` keeps it, with deletion protection on, for production.
 */
export const DATA_REMOVAL_MODES = ['destroy', 'retain'] as const;
export type DataRemovalMode = (typeof DATA_REMOVAL_MODES)[number];

/** The deployment's settings, read from CDK context (`-c key=value` or `cdk.json`). */
export interface FeedbackConfig {
  /** The From address of the emails: verified on its own, or covered by `senderDomain`'s or an existing identity. */
  senderEmail: string;
  /** True when `senderEmail` is the placeholder because none was given: fine to synth, not to deploy. */
  senderEmailIsPlaceholder: boolean;
  /**
   * `create` (the default): the stack creates and owns the SES identities, the sender's (its address's, or
   * `senderDomain`'s) and the owner's. `existing`: an identity already verified in SES (the address's or its
   * domain's) covers `senderEmail`, and the stack creates none, not even the owner's.
   */
  senderIdentity: SenderIdentityMode;
  /**
   * A domain the stack verifies with Easy DKIM, so that receivers see a signature aligned with the From
   * domain; `senderEmail` is at it or at one of its subdomains. An identity of the address alone when unset.
   */
  senderDomain?: string;
  /**
   * The Route 53 public hosted zone named `senderDomain`, where the stack writes the three DKIM records. When
   * unset, the records are stack outputs, to add at the domain's DNS provider.
   */
  hostedZoneId?: string;
  /** Simulated slow work before sending, seconds. */
  workSeconds: number;
  /** Days a task record lives. */
  taskTtlDays: number;
  /** The site owner's address: one notification per feedback and the daily report. Off when unset. */
  notifyEmail?: string;
  /**
   * Whether the stack creates an SES identity for `notifyEmail` (`create`) or the owner's address is
   * verified in SES already (`existing`): CloudFormation cannot create an identity that exists. Defaults
   * to `senderIdentity`'s mode. Only the owner's identity: the sender's follows `senderIdentity`.
   */
  notifyIdentity: SenderIdentityMode;
  /** What `cdk destroy` does with the task table: deleted (`destroy`) or kept, protected (`retain`). */
  dataRemoval: DataRemovalMode;
  /** Where alarm notifications go (SNS email subscription). No topic when unset. */
  alarmEmail?: string;
  /** EventBridge Scheduler expression of the daily report (only used with `notifyEmail`). */
  reportSchedule: string;
  /** SES sends per second over all workers (the account's quota; the sandbox allows 1). */
  sesMaxSendRate: number;
  /** HTTP API steady-state requests per second. */
  apiRateLimit: number;
  /** HTTP API burst above the rate. */
  apiBurstLimit: number;
  /** Origins allowed by CORS; empty (the default) means CORS off: the page is same-origin. */
  allowedOrigins: string[];
  /** The worker's concurrency, batch, pace, timeout and lease, derived from the SES rate (or `workerConcurrency`). */
  worker: WorkerSizing;
  /** Autoresponses ("Your Feedback") to one address per 24 hours, at most; the owner still gets every feedback. */
  autoresponseLimit: number;
  /** POSTs to the API per client IP per 5 minutes, enforced by an AWS WAF web ACL in us-east-1. Off when unset. */
  wafRateLimit?: number;
  /** SES's Auto Validation threshold of the autoresponses' configuration set, or `off`. */
  addressValidation: AddressValidation;
}

/** The context keys this app reads. */
export const CONTEXT_KEYS = [
  'senderEmail',
  'senderIdentity',
  'senderDomain',
  'hostedZoneId',
  'workSeconds',
  'taskTtlDays',
  'notifyEmail',
  'notifyIdentity',
  'alarmEmail',
  'reportSchedule',
  'sesMaxSendRate',
  'apiRateLimit',
  'apiBurstLimit',
  'allowedOrigins',
  'workerConcurrency',
  'autoresponseLimit',
  'wafRateLimit',
  'dataRemoval',
  'addressValidation',
] as const;
export type ContextKey = (typeof CONTEXT_KEYS)[number];

/** A wrong context value, with the key and the reason, so `cdk synth` says what to fix. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const SCHEDULE_PATTERN = /^(rate|cron|at)\(.+\)$/;
const DOMAIN_LABEL_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const HOSTED_ZONE_ID_PATTERN = /^Z[A-Z0-9]{1,32}$/;

function text(key: ContextKey, raw: unknown): string | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'string' && typeof raw !== 'number' && typeof raw !== 'boolean') {
    throw new ConfigError(`Context ${key} must be a string, got ${JSON.stringify(raw)}`);
  }
  const value = String(raw).trim();
  return value === '' ? undefined : value;
}

function email(key: ContextKey, raw: unknown): string | undefined {
  const value = text(key, raw);
  if (value !== undefined && !EMAIL_PATTERN.test(value)) {
    throw new ConfigError(
      `Context ${key} must be an email address (-c ${key}=you@example.com), got "${value}"`,
    );
  }
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

/**
 * Whether `address` is at `domain` or at one of its subdomains: the addresses a verified domain identity
 * lets SES send from, and receive at in the sandbox.
 */
export function isAddressAtDomain(address: string, domain: string): boolean {
  const host = address.slice(address.lastIndexOf('@') + 1).toLowerCase();
  const name = domain.toLowerCase();
  return host === name || host.endsWith(`.${name}`);
}

function number(
  key: ContextKey,
  raw: unknown,
  fallback: number,
  { min, max, integer }: { min: number; max: number; integer: boolean },
): number {
  const value = text(key, raw);
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < min || parsed > max || (integer && !Number.isInteger(parsed))) {
    const kind = integer ? 'an integer' : 'a number';
    throw new ConfigError(`Context ${key} must be ${kind} from ${min} to ${max}, got "${value}"`);
  }
  return parsed;
}

function origins(raw: unknown): string[] {
  const value = text('allowedOrigins', raw);
  if (value === undefined) return [];
  try {
    return parseAllowedOrigins(value);
  } catch {
    throw new ConfigError(
      `Context allowedOrigins must be a comma-separated list of origins like https://example.com (scheme and host, no path or trailing slash), got "${value}"`,
    );
  }
}

function senderIdentityMode(raw: unknown): SenderIdentityMode {
  const value = text('senderIdentity', raw) ?? 'create';
  if (!(SENDER_IDENTITY_MODES as readonly string[]).includes(value)) {
    throw new ConfigError(
      `Context senderIdentity must be "create" (the stack creates the sender's SES identity, the default) or "existing" (one already verified in SES covers senderEmail), got "${value}"`,
    );
  }
  return value as SenderIdentityMode;
}

/** `notifyIdentity`: meaningful only with `notifyEmail`; by default the sender's mode. */
function notifyIdentityMode(
  raw: unknown,
  notifyEmail: string | undefined,
  { senderIdentity, senderEmail }: SenderConfig,
): SenderIdentityMode {
  const value = text('notifyIdentity', raw);
  if (value === undefined) return senderIdentity;
  if (!(SENDER_IDENTITY_MODES as readonly string[]).includes(value)) {
    throw new ConfigError(
      `Context notifyIdentity must be "create" (the stack creates the owner's SES identity) or "existing" (notifyEmail is verified in SES already), got "${value}"`,
    );
  }
  if (notifyEmail === undefined) {
    throw new ConfigError(
      `Context notifyIdentity=${value} needs notifyEmail (-c notifyEmail=owner@example.com): it says whether the owner's address gets an SES identity`,
    );
  }
  if (
    value === 'create' &&
    senderIdentity === 'existing' &&
    notifyEmail.toLowerCase() === senderEmail.toLowerCase()
  ) {
    throw new ConfigError(
      `Context notifyIdentity=create cannot go with senderIdentity=existing when notifyEmail is senderEmail (${notifyEmail}): that address's identity exists already`,
    );
  }
  return value as SenderIdentityMode;
}

function dataRemovalMode(raw: unknown): DataRemovalMode {
  const value = text('dataRemoval', raw) ?? 'destroy';
  if (!(DATA_REMOVAL_MODES as readonly string[]).includes(value)) {
    throw new ConfigError(
      `Context dataRemoval must be "destroy" (cdk destroy deletes the task table, the default) or "retain" (the table is kept, with deletion protection on), got "${value}"`,
    );
  }
  return value as DataRemovalMode;
}

function domainName(raw: unknown): string | undefined {
  const value = text('senderDomain', raw);
  if (value !== undefined && !isDomainName(value.toLowerCase())) {
    throw new ConfigError(
      `Context senderDomain must be a domain name such as example.com (no scheme, @, path or trailing dot), got "${value}"`,
    );
  }
  return value?.toLowerCase();
}

function hostedZoneId(raw: unknown): string | undefined {
  const value = text('hostedZoneId', raw);
  if (value !== undefined && !HOSTED_ZONE_ID_PATTERN.test(value)) {
    throw new ConfigError(
      `Context hostedZoneId must be a Route 53 hosted zone id such as Z0123456789ABCDEFGHIJ (without "/hostedzone/"), got "${value}"`,
    );
  }
  return value;
}

type SenderConfig = Pick<
  FeedbackConfig,
  'senderEmail' | 'senderEmailIsPlaceholder' | 'senderIdentity' | 'senderDomain' | 'hostedZoneId'
>;

/** The sender's settings; {@link refuseSenderConflicts} checks that they can work together. */
function readSender(get: (key: ContextKey) => unknown): SenderConfig {
  const senderEmail = email('senderEmail', get('senderEmail'));
  const sender = {
    senderIdentity: senderIdentityMode(get('senderIdentity')),
    senderDomain: domainName(get('senderDomain')),
    hostedZoneId: hostedZoneId(get('hostedZoneId')),
  };
  refuseSenderConflicts({ ...sender, senderEmail });
  return {
    senderEmail: senderEmail ?? PLACEHOLDER_SENDER_EMAIL,
    senderEmailIsPlaceholder: senderEmail === undefined,
    ...sender,
  };
}

function addressValidation(raw: unknown): AddressValidation {
  const value = text('addressValidation', raw);
  const level = addressValidationOf(value);
  if (level === undefined) {
    throw new ConfigError(
      `Context addressValidation must be one of ${ADDRESS_VALIDATION_LEVELS.join(', ')} (SES's Auto Validation threshold of the autoresponses, or off), got "${value}"`,
    );
  }
  return level;
}

/**
 * Throws a {@link ConfigError} naming the keys of sender settings that contradict each other. Without
 * `senderEmail` the placeholder is not held to `senderDomain`: such a synth is fine, its deploy refused.
 */
function refuseSenderConflicts({
  senderEmail,
  senderIdentity,
  senderDomain,
  hostedZoneId,
}: Omit<SenderConfig, 'senderEmail' | 'senderEmailIsPlaceholder'> & {
  senderEmail: string | undefined;
}): void {
  if (senderIdentity === 'existing' && (senderDomain !== undefined || hostedZoneId !== undefined)) {
    const given =
      senderDomain === undefined ? `hostedZoneId=${hostedZoneId}` : `senderDomain=${senderDomain}`;
    throw new ConfigError(
      `Context senderIdentity=existing cannot go with ${given}: the stack either creates the domain's identity (senderDomain, hostedZoneId) or uses one already verified in SES (senderIdentity=existing), not both`,
    );
  }
  if (hostedZoneId !== undefined && senderDomain === undefined) {
    throw new ConfigError(
      `Context hostedZoneId=${hostedZoneId} needs senderDomain (-c senderDomain=example.com): the zone is where the stack writes the DKIM records of that domain's identity`,
    );
  }
  if (
    senderDomain !== undefined &&
    senderEmail !== undefined &&
    !isAddressAtDomain(senderEmail, senderDomain)
  ) {
    throw new ConfigError(
      `Context senderEmail=${senderEmail} must be at senderDomain=${senderDomain} or at one of its subdomains: the domain's identity covers no other address`,
    );
  }
}

/**
 * Reads and validates the app's context. `get` is `(key) => app.node.tryGetContext(key)`.
 * Throws a {@link ConfigError} naming the key for a value that cannot work.
 */
export function readConfig(get: (key: ContextKey) => unknown): FeedbackConfig {
  const sender = readSender(get);
  const reportSchedule = text('reportSchedule', get('reportSchedule')) ?? DEFAULT_REPORT_SCHEDULE;
  if (!SCHEDULE_PATTERN.test(reportSchedule)) {
    throw new ConfigError(
      `Context reportSchedule must be an EventBridge Scheduler expression such as "rate(1 day)" or "cron(0 8 * * ? *)", got "${reportSchedule}"`,
    );
  }
  const apiRateLimit = number('apiRateLimit', get('apiRateLimit'), apiThrottling.rateLimit, {
    min: 1,
    max: 10_000,
    integer: false,
  });
  const apiBurstLimit = number('apiBurstLimit', get('apiBurstLimit'), apiThrottling.burstLimit, {
    min: 1,
    max: 5_000,
    integer: true,
  });
  // The worker's timeout is the work, the batch's paced sends and headroom; workerSizing checks the sum.
  const workSeconds = number('workSeconds', get('workSeconds'), DEFAULT_WORK_SECONDS, {
    min: 0,
    max: LAMBDA_MAX_TIMEOUT_SECONDS - consumer.headroomSeconds,
    integer: true,
  });
  const notifyEmail = email('notifyEmail', get('notifyEmail'));
  const sesMaxSendRate = number('sesMaxSendRate', get('sesMaxSendRate'), DEFAULT_SES_MAX_SEND_RATE, {
    min: 0.1,
    max: 1_000,
    integer: false,
  });
  const concurrency = text('workerConcurrency', get('workerConcurrency'));
  const maxConcurrency =
    concurrency === undefined
      ? undefined
      : number('workerConcurrency', concurrency, consumer.minConcurrency, {
          min: consumer.minConcurrency,
          max: consumer.maxConcurrency,
          integer: true,
        });
  const wafRateLimit =
    text('wafRateLimit', get('wafRateLimit')) === undefined
      ? undefined
      : number('wafRateLimit', get('wafRateLimit'), clientRateLimit.minRequests, {
          // WAF's own bounds of a rate-based rule's limit.
          min: clientRateLimit.minRequests,
          max: 2_000_000_000,
          integer: true,
        });
  return {
    ...sender,
    workSeconds,
    taskTtlDays: number('taskTtlDays', get('taskTtlDays'), DEFAULT_TASK_TTL_DAYS, {
      min: MIN_TASK_TTL_DAYS,
      max: 365,
      integer: true,
    }),
    notifyEmail,
    notifyIdentity: notifyIdentityMode(get('notifyIdentity'), notifyEmail, sender),
    dataRemoval: dataRemovalMode(get('dataRemoval')),
    alarmEmail: email('alarmEmail', get('alarmEmail')),
    reportSchedule,
    sesMaxSendRate,
    apiRateLimit,
    apiBurstLimit,
    allowedOrigins: origins(get('allowedOrigins')),
    worker: sizeWorker({
      workSeconds,
      sesMaxSendRate,
      emailsPerTask: notifyEmail === undefined ? 1 : 2,
      ...(maxConcurrency === undefined ? {} : { maxConcurrency }),
    }),
    autoresponseLimit: number('autoresponseLimit', get('autoresponseLimit'), autoresponse.maxPerWindow, {
      min: 1,
      max: 1_000,
      integer: true,
    }),
    ...(wafRateLimit === undefined ? {} : { wafRateLimit }),
    addressValidation: addressValidation(get('addressValidation')),
  };
}

/** {@link workerSizing}, its refusal turned into a {@link ConfigError} naming the context keys involved. */
function sizeWorker(input: Parameters<typeof workerSizing>[0]): WorkerSizing {
  try {
    return workerSizing(input);
  } catch (error) {
    if (!(error instanceof SizingError)) throw error;
    throw new ConfigError(
      `Context workSeconds=${input.workSeconds}, sesMaxSendRate=${input.sesMaxSendRate}` +
        `${input.maxConcurrency === undefined ? '' : `, workerConcurrency=${input.maxConcurrency}`}` +
        ` cannot work: ${error.message}`,
    );
  }
}
