/**
 * Factories of API Gateway HTTP API (payload format 2.0) events, shaped as API Gateway sends them:
 * lower-cased header names, `cookies` and query string absent when empty, `isBase64Encoded` always set.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';

/** What a test says about the request; everything else gets API Gateway's usual values. */
export interface ApiEventOptions {
  method?: string;
  /** The raw path, e.g. `/api/tasks/<id>`. */
  path?: string;
  /** The route key, e.g. `GET /api/tasks/{taskId}`; defaults to `<method> <path>`. */
  routeKey?: string;
  headers?: Record<string, string>;
  pathParameters?: Record<string, string>;
  /** The body as API Gateway passes it: text, or base64 when `isBase64Encoded`. */
  body?: string;
  isBase64Encoded?: boolean;
}

/** An HTTP API payload 2.0 event. Header names are lower-cased, as API Gateway does. */
export function apiEvent(options: ApiEventOptions = {}): APIGatewayProxyEventV2 {
  const method = options.method ?? 'GET';
  const path = options.path ?? '/';
  const headers: Record<string, string> = { host: 'example.execute-api.us-east-1.amazonaws.com' };
  for (const [name, value] of Object.entries(options.headers ?? {})) headers[name.toLowerCase()] = value;
  const event: APIGatewayProxyEventV2 = {
    version: '2.0',
    routeKey: options.routeKey ?? `${method} ${path}`,
    rawPath: path,
    rawQueryString: '',
    headers,
    requestContext: {
      accountId: '123456789012',
      apiId: 'example',
      domainName: 'example.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'example',
      http: {
        method,
        path,
        protocol: 'HTTP/1.1',
        sourceIp: '192.0.2.1',
        userAgent: headers['user-agent'] ?? 'test',
      },
      requestId: 'request-id',
      routeKey: options.routeKey ?? `${method} ${path}`,
      stage: '$default',
      time: '01/Jan/2026:00:00:00 +0000',
      timeEpoch: 1_767_225_600_000,
    },
    isBase64Encoded: options.isBase64Encoded ?? false,
  };
  if (options.pathParameters !== undefined) event.pathParameters = options.pathParameters;
  if (options.body !== undefined) event.body = options.body;
  return event;
}

/** The body and headers of a `POST /api/feedback`. */
export interface FeedbackPostOptions {
  /** The `Content-Type` header; omitted when `null`. Defaults to JSON for objects, the form type for strings. */
  contentType?: string | null;
  headers?: Record<string, string>;
  /** Send the body base64-encoded (as API Gateway does for non-text bodies). */
  base64?: boolean;
  /** The bytes' encoding when `base64` (defaults to UTF-8). */
  encoding?: BufferEncoding;
}

/**
 * A `POST /api/feedback` event. An object body is sent as JSON; a string as is (a form body, unless
 * `contentType` says otherwise).
 */
export function feedbackPostEvent(
  body: object | string,
  options: FeedbackPostOptions = {},
): APIGatewayProxyEventV2 {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const contentType =
    options.contentType === undefined
      ? typeof body === 'string'
        ? 'application/x-www-form-urlencoded'
        : 'application/json'
      : options.contentType;
  const headers: Record<string, string> = { ...options.headers };
  if (contentType !== null) headers['content-type'] = contentType;
  return apiEvent({
    method: 'POST',
    path: '/api/feedback',
    headers,
    body: options.base64 ? Buffer.from(text, options.encoding ?? 'utf8').toString('base64') : text,
    isBase64Encoded: options.base64 ?? false,
  });
}

/** A `GET /api/tasks/{taskId}` event. */
export function getTaskEvent(taskId: string, headers: Record<string, string> = {}): APIGatewayProxyEventV2 {
  return apiEvent({
    method: 'GET',
    path: `/api/tasks/${taskId}`,
    routeKey: 'GET /api/tasks/{taskId}',
    headers,
    pathParameters: { taskId },
  });
}

/** The `Accept` header of a browser's navigation (Chromium's). */
export const BROWSER_ACCEPT =
  'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';
