/**
 * `GET /api/tasks/{taskId}`: a task's state, as JSON for the page and API clients, or as a small
 * thank-you page for a browser that navigated here without JavaScript (after the form post's 303).
 * Never the visitor's address or message: the record does not hold them.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { requireEnv } from './commons/config';
import {
  escapeHtml,
  type HttpResult,
  htmlPage,
  htmlResponse,
  jsonResponse,
  prefersHtml,
  RETRY_AFTER_SECONDS,
} from './commons/http';
import { createObservability, observed } from './commons/observability';
import { env } from './commons/settings';
import {
  statusUrl,
  TASK_ID_PATTERN,
  type TaskStatus,
  type TaskView,
  toTaskView,
} from './commons/task-record';
import { getTask } from './commons/task-store';

const tableName = requireEnv(env.tasksTableName);

const observability = createObservability('get-task');
const { logger } = observability;

/** The answer varies with `Accept` (JSON or HTML). */
const VARY = { Vary: 'Accept' };

/** Each state in words, for the thank-you page. */
const STATUS_IN_WORDS: Record<TaskStatus, string> = {
  PENDING: 'Your feedback is queued; we send it in the background.',
  STARTED: 'We are sending your feedback now.',
  RETRY: 'Sending hit a temporary problem; we will try again shortly.',
  SUCCESS: 'Your feedback was sent. Check your inbox for the copy.',
  FAILURE: 'We could not send your feedback.',
};

function isTerminal(status: TaskStatus): boolean {
  return status === 'SUCCESS' || status === 'FAILURE';
}

/** The no-JavaScript thank-you view: the state in words, a refresh link, a way to send another. */
function thankYouPage(task: TaskView): string {
  const lines = [
    `<p class="status">${escapeHtml(STATUS_IN_WORDS[task.status])}</p>`,
    task.error === undefined ? '' : `<p class="reason">${escapeHtml(task.error.message)}</p>`,
    `<dl class="facts">\n<dt>Task</dt>\n<dd><code>${escapeHtml(task.taskId)}</code></dd>\n<dt>Status</dt>\n<dd>${escapeHtml(task.status)}</dd>\n</dl>`,
    '<p class="actions">',
    isTerminal(task.status)
      ? ''
      : `<a class="button" href="${escapeHtml(statusUrl(task.taskId))}">Refresh</a>`,
    '<a class="button" href="/">Send another</a>',
    '</p>',
  ];
  return htmlPage('Thank you!', lines.filter((line) => line !== '').join('\n'));
}

function errorPage(title: string, text: string): string {
  return htmlPage(
    title,
    `<p>${escapeHtml(text)}</p>\n<p class="actions"><a class="button" href="/">Back to the form</a></p>`,
  );
}

async function readTask(event: APIGatewayProxyEventV2): Promise<HttpResult> {
  const html = prefersHtml(event);
  const taskId = event.pathParameters?.taskId ?? '';
  if (!TASK_ID_PATTERN.test(taskId)) {
    return html
      ? htmlResponse(400, errorPage('Invalid task id', 'This is not the address of a feedback task.'), VARY)
      : jsonResponse(400, { error: 'invalid_task_id' }, VARY);
  }
  logger.appendKeys({ taskId });
  let record: Awaited<ReturnType<typeof getTask>>;
  try {
    record = await getTask(tableName, taskId);
  } catch (error) {
    logger.error('Task record not read', { error });
    const headers = { ...VARY, 'Retry-After': String(RETRY_AFTER_SECONDS) };
    const text = 'The task could not be read right now. Please try again in a few seconds.';
    return html
      ? htmlResponse(503, errorPage('Please try again', text), headers)
      : jsonResponse(503, { error: 'service_unavailable', message: text }, headers);
  }
  if (record === undefined) {
    return html
      ? htmlResponse(
          404,
          errorPage(
            'Task not found',
            'There is no feedback task at this address (they expire after a few days).',
          ),
          VARY,
        )
      : jsonResponse(404, { error: 'not_found' }, VARY);
  }
  const view = toTaskView(record);
  return html ? htmlResponse(200, thankYouPage(view), VARY) : jsonResponse(200, view, VARY);
}

/**
 * The Lambda handler of `GET /api/tasks/{taskId}` (HTTP API, payload 2.0): 200 with the task's public
 * fields, 404 `not_found`, 400 `invalid_task_id`, all with `Cache-Control: no-store`; an HTML view
 * instead of JSON when the request's `Accept` prefers `text/html`.
 */
export const handler = observed(observability, readTask);
