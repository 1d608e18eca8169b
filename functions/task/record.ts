/**
 * The task record: one DynamoDB item per task, keyed by `taskId`, written once per state change.
 * It is the result backend (what `GET /api/tasks/{taskId}` shows) and the worker's claim on a task.
 * It never holds the visitor's email address or message.
 */
import type { TaskError } from '../commons/errors.ts';

/** Celery's task states, so the seed's users know them. */
export const TaskStatus = {
  PENDING: 'PENDING',
  STARTED: 'STARTED',
  RETRY: 'RETRY',
  SUCCESS: 'SUCCESS',
  FAILURE: 'FAILURE',
} as const;
export type TaskStatus = (typeof TaskStatus)[keyof typeof TaskStatus];

/** Whether a task can no longer change (`SUCCESS` or `FAILURE`): nothing more is sent, polling may stop. */
export function isFinal(status: TaskStatus): boolean {
  return status === TaskStatus.SUCCESS || status === TaskStatus.FAILURE;
}

/** What the status API answers: the record's public fields, under the same names as in the table. */
export interface TaskView {
  taskId: string;
  status: TaskStatus;
  /** ISO-8601 UTC. */
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  attempts: number;
  runtimeMs?: number;
  error?: TaskError;
  /** What became of each of the task's emails sent or decided so far: its status only. */
  emails?: Partial<Record<Recipient, EmailView>>;
}

/** One email as the status API shows it: never its address, message id or SES's detail. */
export interface EmailView {
  status: EmailStatus;
}

/**
 * The emails a task may send, in the order they are sent and shown: always the visitor's reply, and
 * the owner's notification when configured.
 */
export const RECIPIENTS = ['visitor', 'owner'] as const;

/** One of {@link RECIPIENTS}. */
export type Recipient = (typeof RECIPIENTS)[number];

/** Whether a text (an SES event's tag) names one of a task's emails. */
export function isRecipient(value: string | undefined): value is Recipient {
  return RECIPIENTS.some((recipient) => recipient === value);
}

/** What became of one of a task's emails; absent while it has not been sent. */
export const EmailStatus = {
  /** SES accepted it: never sent again for this task. */
  SENT: 'SENT',
  /** SES refused it for good (e.g. an unverified recipient in the SES sandbox): never tried again. */
  REJECTED: 'REJECTED',
  /** Not sent on purpose: the recipient had their autoresponses for the day (the per-recipient limit). */
  SKIPPED: 'SKIPPED',
  /**
   * Not sent: the autoresponses' configuration set was paused by the circuit breaker (their bounce or
   * complaint rate was too high); the owner's notification still went. Never retried.
   */
  PAUSED: 'PAUSED',
  /** SES's events (functions/record-email-event.ts), after SENT: the receiving server took it. */
  DELIVERED: 'DELIVERED',
  /** The receiving server refused it (`detail` holds the bounce type): the address is likely wrong. */
  BOUNCED: 'BOUNCED',
  /** Not attempted: the address is on the suppression list after an earlier bounce or complaint. */
  SUPPRESSED: 'SUPPRESSED',
  /** Not attempted: SES's Auto Validation judged the address unable to receive mail (after SENT). */
  INVALID: 'INVALID',
  /** Delivered, then the recipient marked it as spam. */
  COMPLAINED: 'COMPLAINED',
} as const;
export type EmailStatus = (typeof EmailStatus)[keyof typeof EmailStatus];

/** One email's state in the record: what guards it against being sent twice. No address, no text. */
export interface EmailState {
  status: EmailStatus;
  /** SES's message id, when SENT. */
  messageId?: string;
  /** Why SES refused it, when REJECTED. */
  error?: TaskError;
  /** ISO-8601 UTC of the SES call's answer. */
  at: string;
  /** ISO-8601 UTC of SES's latest event recorded (DELIVERED and after). */
  eventAt?: string;
  /** What SES's event said, never an address: the bounce type (`Permanent/General`), the complaint's type. */
  detail?: string;
}

/** The whole item in the table: the view plus the worker's bookkeeping. */
export interface TaskRecord extends TaskView {
  /** Per-recipient state of the task's emails, written the moment SES answers. */
  emails?: Partial<Record<Recipient, EmailState>>;
  /**
   * The visitor's email was counted against its address's autoresponse limit (and allowed): a later
   * attempt sends it without counting it again.
   */
  autoresponseCounted?: boolean;
  /** Set on a `FAILURE` that ran out of retries (its message went to the dead-letter queue): a redrive may claim it again. */
  retriesExhausted?: boolean;
  /**
   * The id of the queue message a give-up moved to the dead-letter queue: that message seen again (the
   * move was cut short) is moved again, while a redriven copy (another id) may claim the task.
   */
  givenUpMessageId?: string;
  /**
   * Attempts that count toward the worker's limit since the task was last given up: claims, less those
   * that ended in a deferral (SES's send rate or daily quota).
   */
  countedAttempts?: number;
  /** Of those, the attempts that never wrote an outcome: the worker stopped (crash, timeout, lost invocation). */
  lostAttempts?: number;
  /**
   * ISO-8601 UTC when the submit queued the task's message. A `PENDING` record without it was never
   * queued: its submit ended between the record and the message, and answered no 202 (see {@link isUnqueued}).
   */
  queuedAt?: string;
  /** Epoch seconds; DynamoDB's TTL attribute. */
  expiresAt: number;
  /** Epoch milliseconds until which the worker that set `STARTED` holds the task. */
  leaseExpiresAt?: number;
  /** SES's message id of the visitor's email, once SES accepted it. */
  sesMessageId?: string;
  /** ISO-8601 UTC of the last state change. */
  updatedAt?: string;
}

/**
 * Whether a record claims `PENDING` for a message that was never queued: its submit wrote it, then ended
 * before the message was sent (no 202 was given, nothing will work on it; it expires with its TTL), or
 * the submit is still between the two.
 */
export function isUnqueued(record: Pick<TaskRecord, 'status' | 'queuedAt'>): boolean {
  return record.status === TaskStatus.PENDING && record.queuedAt === undefined;
}

/** A random v4 UUID, the only shape of task id the API accepts. */
export const TASK_ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The status URL of a task (the 202's `statusUrl` and `Location`). */
export function statusUrl(taskId: string): string {
  return `/api/tasks/${taskId}`;
}

/** `expiresAt` for a record written at `now`. */
export function expiresAt(now: Date, ttlDays: number): number {
  return Math.floor(now.getTime() / 1000) + Math.round(ttlDays * 24 * 3600);
}

/** The public part of a record: never the worker's bookkeeping, never anything about the visitor. */
export function toTaskView(record: TaskRecord): TaskView {
  const view: TaskView = {
    taskId: record.taskId,
    status: record.status,
    createdAt: record.createdAt,
    attempts: record.attempts,
  };
  if (record.startedAt !== undefined) view.startedAt = record.startedAt;
  if (record.finishedAt !== undefined) view.finishedAt = record.finishedAt;
  if (record.runtimeMs !== undefined) view.runtimeMs = record.runtimeMs;
  if (record.error !== undefined) view.error = { type: record.error.type, message: record.error.message };
  const emails = emailViews(record.emails);
  if (emails !== undefined) view.emails = emails;
  return view;
}

function emailViews(emails: TaskRecord['emails']): TaskView['emails'] {
  const views: NonNullable<TaskView['emails']> = {};
  for (const recipient of RECIPIENTS) {
    const status = emails?.[recipient]?.status;
    if (status !== undefined) views[recipient] = { status };
  }
  return Object.keys(views).length === 0 ? undefined : views;
}

/** The UTC day `YYYY-MM-DD` of a time. */
export function utcDay(time: Date): string {
  return time.toISOString().slice(0, 10);
}
