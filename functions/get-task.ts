/**
 * `GET /api/tasks/{taskId}`: a task's state, as JSON for the page and API clients, or as the
 * no-JavaScript status view (`http/views.ts`) for a browser that navigated here after the form
 * post's 303. Never the visitor's address or message: the record does not hold them.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { createObservability, observed } from './commons/observability.ts';
import { requireSetting } from './config/env.ts';
import * as setting from './config/table.ts';
import { prefersHtml } from './http/requests.ts';
import { type HttpResult, htmlResponse, jsonResponse, RETRY_AFTER_SECONDS } from './http/responses.ts';
import { messagePage, taskNotFoundPage, taskStatusPage } from './http/views.ts';
import { TASK_ID_PATTERN, type TaskRecord, toTaskView } from './task/record.ts';
import { getTask } from './task/store.ts';

const tableName = requireSetting(setting.tasksTableName);

const observability = createObservability('get-task');
const { logger } = observability;

/** The answer varies with `Accept` (JSON or HTML). */
const VARY = { Vary: 'Accept' };

async function showTask(event: APIGatewayProxyEventV2): Promise<HttpResult> {
  const html = prefersHtml(event);
  const taskId = event.pathParameters?.taskId ?? '';
  if (!TASK_ID_PATTERN.test(taskId)) {
    return html
      ? htmlResponse(400, messagePage('Invalid address', 'This is not the address of a feedback.'), VARY)
      : jsonResponse(400, { error: 'invalid_task_id' }, VARY);
  }
  logger.appendKeys({ taskId });
  let record: TaskRecord | undefined;
  try {
    record = await getTask(tableName, taskId);
  } catch (error) {
    logger.error('Task record not read', { error });
    const headers = { ...VARY, 'Retry-After': String(RETRY_AFTER_SECONDS) };
    const text = 'The feedback could not be looked up right now. Please try again in a few seconds.';
    return html
      ? htmlResponse(503, messagePage('Please try again', text), headers)
      : jsonResponse(503, { error: 'service_unavailable', message: text }, headers);
  }
  if (record === undefined) {
    return html
      ? htmlResponse(404, taskNotFoundPage(), VARY)
      : jsonResponse(404, { error: 'not_found' }, VARY);
  }
  const view = toTaskView(record);
  return html
    ? htmlResponse(
        200,
        taskStatusPage(view, { autoRefresh: event.queryStringParameters?.refresh === 'on' }),
        VARY,
      )
    : jsonResponse(200, view, VARY);
}

/**
 * The Lambda handler of `GET /api/tasks/{taskId}` (HTTP API, payload 2.0): 200 with the task's public
 * fields, 404 `not_found`, 400 `invalid_task_id`, 503 with `Retry-After`, all with
 * `Cache-Control: no-store`; an HTML view instead of JSON when the request's `Accept` prefers `text/html`.
 */
export const handler = observed(observability, showTask);
