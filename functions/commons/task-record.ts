/**
 * The task record: one DynamoDB item per task, keyed by `taskId`, written once per state change.
 * It is the result backend (what `GET /api/tasks/{taskId}` shows) and the worker's claim on a task.
 * It never holds the visitor's email address or message.
 */

/** Celery's task states, so the seed's users know them. */
export const TaskStatus = {
  PENDING: 'PENDING',
  STARTED: 'STARTED',
  RETRY: 'RETRY',
  SUCCESS: 'SUCCESS',
  FAILURE: 'FAILURE',
} as const;
export type TaskStatus = (typeof TaskStatus)[keyof typeof TaskStatus];

/** Why a task failed or is being retried, as the status API shows it. */
export interface TaskError {
  type: string;
  message: string;
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
}

/** The whole item in the table: the view plus the worker's bookkeeping. */
export interface TaskRecord extends TaskView {
  /** Epoch seconds; DynamoDB's TTL attribute. */
  expiresAt: number;
  /** Epoch milliseconds until which the worker that set `STARTED` holds the task. */
  leaseExpiresAt?: number;
  /** SES's message id of the visitor's email, once SES accepted it. */
  sesMessageId?: string;
  /** ISO-8601 UTC of the last state change. */
  updatedAt?: string;
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
  return view;
}
