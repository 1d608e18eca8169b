/**
 * The page's two calls to the API (`POST /api/feedback`, `GET /api/tasks/{id}`), each turned into an
 * outcome the page can show: no exceptions escape, so every path has its own message.
 */
import type { FeedbackFieldErrors, FieldName } from '../functions/form/fields.ts';
import type { TaskView } from '../functions/task/record.ts';
import { isTaskStatus } from './task-status.ts';

export type SubmitOutcome =
  | { kind: 'accepted'; taskId: string }
  | { kind: 'invalid'; fields: FeedbackFieldErrors }
  | { kind: 'error'; message: string };

export type TaskOutcome = { kind: 'task'; task: TaskView } | { kind: 'gone' } | { kind: 'unreachable' };

const KEEP_TEXT = 'What you typed is still here.';

/** Posts the feedback as JSON. `website` is the honeypot field, sent as the visitor's browser filled it. */
export async function submitFeedback(
  body: Record<FieldName, string> & { website: string },
): Promise<SubmitOutcome> {
  let response: Response;
  try {
    response = await fetch('/api/feedback', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify(body),
    });
  } catch {
    return {
      kind: 'error',
      message: `We could not reach the server. Check your connection and press Submit again. ${KEEP_TEXT}`,
    };
  }
  const json = await readJson(response);
  if (response.status === 202 && typeof json.taskId === 'string') {
    return { kind: 'accepted', taskId: json.taskId };
  }
  if (response.status === 400 && json.error === 'invalid_feedback' && isRecord(json.fields)) {
    return { kind: 'invalid', fields: json.fields as FeedbackFieldErrors };
  }
  return { kind: 'error', message: submitErrorText(response.status, response.headers.get('Retry-After')) };
}

/** The message for an answer that is neither 202 nor a field error. */
export function submitErrorText(status: number, retryAfter: string | null): string {
  switch (status) {
    case 413:
      return 'Your feedback is too large to send. Please shorten the message and press Submit again.';
    case 415:
    case 400:
      return `The server could not read what this page sent. Please reload the page and try again. ${KEEP_TEXT}`;
    case 429:
      return `Too many feedbacks came from your connection in the last few minutes. Please press Submit again ${waitText(retryAfter)}. ${KEEP_TEXT}`;
    case 503:
      return `We are busy and could not accept your feedback just now. Please press Submit again ${waitText(retryAfter)}. ${KEEP_TEXT}`;
    default:
      return `Something went wrong on our side (error ${status}). Please press Submit again. ${KEEP_TEXT}`;
  }
}

/**
 * When to try again, from `Retry-After` (seconds, or an HTTP date): "in 7 seconds", "in 5 minutes", or
 * "in a moment" when it says nothing usable.
 */
export function waitText(retryAfter: string | null, now = Date.now()): string {
  const raw = retryAfter?.trim() ?? '';
  const seconds = /^\d+$/.test(raw) ? Number(raw) : (Date.parse(raw) - now) / 1000;
  if (!Number.isFinite(seconds) || seconds <= 0) return 'in a moment';
  const [count, unit] = seconds < 90 ? [Math.ceil(seconds), 'second'] : [Math.ceil(seconds / 60), 'minute'];
  return `in ${count} ${unit}${count === 1 ? '' : 's'}`;
}

/**
 * Reads one task's state; 404 and 400 are "gone" (expired, or never there), network failures and 5xx
 * are "unreachable" (the caller polls again).
 */
export async function fetchTask(taskId: string): Promise<TaskOutcome> {
  let response: Response;
  try {
    response = await fetch(`/api/tasks/${encodeURIComponent(taskId)}`, {
      headers: { Accept: 'application/json' },
      cache: 'no-store',
    });
  } catch {
    return { kind: 'unreachable' };
  }
  const json = await readJson(response);
  if (response.ok && isTaskStatus(json.status)) {
    return { kind: 'task', task: json as unknown as TaskView };
  }
  if (response.status === 404 || response.status === 400) return { kind: 'gone' };
  return { kind: 'unreachable' };
}

async function readJson(response: Response): Promise<Record<string, unknown>> {
  try {
    const json: unknown = await response.json();
    return isRecord(json) ? json : {};
  } catch {
    return {};
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
