import { randomUUID } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { extname, join, normalize, resolve, sep } from 'node:path';
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyResultV2,
  APIGatewayProxyStructuredResultV2,
  Context,
} from 'aws-lambda';
import { TOO_MANY_REQUESTS_MESSAGE, tooManyRequestsPage } from '../../functions/commons/views';
import { invokeWithTimeout } from './lambda-context';
import { LOCAL_ACCOUNT_ID } from './resources';

/** An HTTP API (payload 2.0) Lambda handler. */
export type HttpHandler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyResultV2>;

/** One route of the HTTP API, e.g. `GET /api/tasks/{taskId}`; `{name}` matches one path segment. */
export interface Route {
  method: string;
  path: string;
  /** The Lambda's name, for its context and error messages. */
  functionName: string;
  handler: HttpHandler;
}

export interface GatewayOptions {
  routes: Route[];
  /** Folder served for every path outside `/api/` (the built page); nothing served when undefined. */
  siteDir?: string;
  /** Lambda timeout of the route handlers. */
  timeoutMs: number;
  /** One line per request (method, path, status, time), like a web server's access log. */
  onRequest?(line: string): void;
  /** A handler that threw or timed out (API Gateway answers 500). */
  onError?(functionName: string, error: unknown): void;
  /** Headers on every answer, replacing a handler's of the same name (CloudFront's, with `override: true`). */
  responseHeaders?: Record<string, string>;
  /**
   * The per-client limit of the deployed stack's WAF rule (`wafRateLimit`), applied the same way: at
   * most `requests` POSTs to the API from one source IP in any `windowSeconds`; over it, 429 with
   * `Retry-After`. Off when undefined.
   */
  rateLimit?: { requests: number; windowSeconds: number };
}

/** API Gateway's payload limit: 10 MB. */
export const MAX_REQUEST_BYTES = 10 * 1024 * 1024;

/** Content types API Gateway passes as text; any other body reaches the Lambda base64-encoded. */
const TEXT_CONTENT_TYPES = [
  /^text\//,
  /^application\/(.+\+)?json$/,
  /^application\/(.+\+)?xml$/,
  /^application\/javascript$/,
];

/** What a request to the gateway carries, read off the socket (`rawHeaders` as Node gives them). */
export interface RawRequest {
  method: string;
  url: string;
  rawHeaders: string[];
  body: Buffer;
  sourceIp: string;
  httpVersion?: string;
}

/** The route that matches `method` and `path`, with its path parameters. */
export function matchRoute(
  routes: Route[],
  method: string,
  path: string,
): { route: Route; pathParameters: Record<string, string> } | undefined {
  const segments = path.split('/');
  for (const route of routes) {
    const template = route.path.split('/');
    if (route.method !== method || template.length !== segments.length) continue;
    const pathParameters: Record<string, string> = {};
    const matches = template.every((part, index) => {
      const segment = segments[index] ?? '';
      const parameter = /^\{(\w+)\}$/.exec(part)?.[1];
      if (parameter === undefined) return part === segment;
      pathParameters[parameter] = safeDecode(segment);
      return segment !== '';
    });
    if (matches) return { route, pathParameters };
  }
  return undefined;
}

/**
 * The API Gateway HTTP API payload 2.0 event of a request: headers lower-cased with repeated ones
 * joined by commas, cookies apart, query parameters parsed, the body as text or base64.
 */
export function toHttpApiEvent(
  request: RawRequest,
  route: Route,
  pathParameters: Record<string, string>,
  now = new Date(),
): APIGatewayProxyEventV2 {
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  for (let i = 0; i + 1 < request.rawHeaders.length; i += 2) {
    const name = (request.rawHeaders[i] ?? '').toLowerCase();
    const value = request.rawHeaders[i + 1] ?? '';
    if (name === 'cookie') cookies.push(...value.split(';').flatMap((cookie) => cookie.trim() || []));
    else headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
  }
  headers['x-forwarded-for'] = [headers['x-forwarded-for'], request.sourceIp].filter(Boolean).join(',');
  headers['x-forwarded-proto'] ??= 'http';

  const [rawPath = '', rawQueryString = ''] = request.url.split(/\?(.*)/s);
  const routeKey = `${route.method} ${route.path}`;
  const host = headers.host ?? 'localhost';
  const [day, month, year, time] = now.toUTCString().split(' ').slice(1);
  const event: APIGatewayProxyEventV2 = {
    version: '2.0',
    routeKey,
    rawPath,
    rawQueryString,
    headers,
    requestContext: {
      accountId: LOCAL_ACCOUNT_ID,
      apiId: 'local',
      domainName: host,
      domainPrefix: host.split('.')[0] ?? host,
      http: {
        method: request.method,
        path: rawPath,
        protocol: `HTTP/${request.httpVersion ?? '1.1'}`,
        sourceIp: request.sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      // API Gateway's format: `23/Nov/2025:20:30:00 +0000`.
      time: `${day}/${month}/${year}:${time} +0000`,
      timeEpoch: now.getTime(),
    },
    isBase64Encoded: false,
  };
  if (cookies.length > 0) event.cookies = cookies;
  if (rawQueryString !== '') {
    const query: Record<string, string> = {};
    for (const [name, value] of new URLSearchParams(rawQueryString)) {
      query[name] = query[name] === undefined ? value : `${query[name]},${value}`;
    }
    event.queryStringParameters = query;
  }
  if (Object.keys(pathParameters).length > 0) event.pathParameters = pathParameters;
  if (request.body.length > 0) {
    const contentType = (headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
    const isText = TEXT_CONTENT_TYPES.some((pattern) => pattern.test(contentType));
    event.body = request.body.toString(isText ? 'utf8' : 'base64');
    event.isBase64Encoded = !isText;
  }
  return event;
}

/** An HTTP answer, from a handler's result as API Gateway reads it (payload 2.0 format). */
export interface HttpAnswer {
  statusCode: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
}

/**
 * Reads a payload 2.0 result as API Gateway does: a structured result as it is (`cookies` become
 * `Set-Cookie`, a base64 body is decoded); a string or an object without `statusCode` is a 200 JSON
 * body. API Gateway ignores `multiValueHeaders` in this format, and so does this.
 */
export function toHttpAnswer(result: APIGatewayProxyResultV2 | undefined | null): HttpAnswer {
  if (typeof result !== 'object' || result === null || !('statusCode' in result)) {
    const body = typeof result === 'string' ? result : JSON.stringify(result ?? null);
    return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from(body) };
  }
  const structured = result as APIGatewayProxyStructuredResultV2;
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(structured.headers ?? {}))
    headers[name.toLowerCase()] = String(value);
  if (structured.cookies?.length) headers['set-cookie'] = [...structured.cookies];
  const body = structured.body ?? '';
  return {
    statusCode: structured.statusCode ?? 200,
    headers,
    body: Buffer.from(body, structured.isBase64Encoded ? 'base64' : 'utf8'),
  };
}

/** The local gateway: the page from `siteDir` and `/api/*` through the routes' handlers. */
export function createGateway(options: GatewayOptions): Server {
  const limit = clientLimiter(options.rateLimit);
  return createServer((req, res) => {
    const started = Date.now();
    res.on('finish', () => {
      const path = (req.url ?? '/').split('?')[0];
      options.onRequest?.(`${req.method} ${path} ${res.statusCode} ${Date.now() - started}ms`);
    });
    for (const [name, value] of Object.entries(options.responseHeaders ?? {})) res.setHeader(name, value);
    serve(options, limit, req, res).catch((error: unknown) => {
      options.onError?.('gateway', error);
      if (!res.headersSent) send(res, 500, { message: 'Internal Server Error' });
      else res.destroy();
    });
  });
}

async function serve(
  options: GatewayOptions,
  limit: (client: string) => number,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const url = req.url ?? '/';
  const path = url.split('?')[0] ?? '/';
  const method = req.method ?? 'GET';
  if (path !== '/api' && !path.startsWith('/api/')) return serveStatic(options.siteDir, method, path, res);
  const body = await readBody(req, MAX_REQUEST_BYTES);
  if (body === undefined) {
    res.setHeader('connection', 'close');
    return send(res, 413, { message: 'Request Entity Too Large' });
  }
  const matched = matchRoute(options.routes, method, path);
  if (!matched) return send(res, 404, { message: 'Not Found' });
  const sourceIp = req.socket.remoteAddress?.replace(/^::ffff:/, '') ?? '127.0.0.1';
  const retryAfter = method === 'POST' ? limit(sourceIp) : 0;
  if (retryAfter > 0) return tooManyRequests(res, retryAfter, req.headers.accept ?? '');
  const request = { method, url, rawHeaders: req.rawHeaders, body, sourceIp, httpVersion: req.httpVersion };
  const event = toHttpApiEvent(request, matched.route, matched.pathParameters);
  const { functionName, handler } = matched.route;
  let answer: HttpAnswer;
  try {
    answer = toHttpAnswer(
      await invokeWithTimeout(functionName, options.timeoutMs, (context) => handler(event, context)),
    );
  } catch (error) {
    options.onError?.(functionName, error);
    return send(res, 500, { message: 'Internal Server Error' });
  }
  res.statusCode = answer.statusCode;
  for (const [name, value] of Object.entries(answer.headers)) res.setHeader(name, value);
  for (const [name, value] of Object.entries(options.responseHeaders ?? {})) res.setHeader(name, value);
  res.setHeader('apigw-requestid', event.requestContext.requestId);
  res.setHeader('content-length', answer.body.length);
  res.end(method === 'HEAD' ? undefined : answer.body);
}

/** A per-client limiter: a sliding window of request times per client; 0, or the seconds to wait. */
function clientLimiter(rateLimit: GatewayOptions['rateLimit']): (client: string) => number {
  const { requests = Number.POSITIVE_INFINITY, windowSeconds = 300 } = rateLimit ?? {};
  const seen = new Map<string, number[]>();
  return (client: string) => {
    const now = Date.now();
    const times = (seen.get(client) ?? []).filter((time) => time > now - windowSeconds * 1000);
    seen.set(client, times);
    if (times.length < requests) {
      times.push(now);
      return 0;
    }
    return Math.max(1, Math.ceil(((times[0] ?? now) + windowSeconds * 1000 - now) / 1000));
  };
}

/** The answer over the limit, as the WAF rule gives it: JSON, or a page for a browser's navigation. */
function tooManyRequests(res: ServerResponse, retryAfter: number, accept: string): void {
  res.setHeader('retry-after', String(retryAfter));
  if (!/text\/html/.test(accept)) {
    send(res, 429, { error: 'too_many_requests', message: TOO_MANY_REQUESTS_MESSAGE });
    return;
  }
  res.statusCode = 429;
  res.setHeader('content-type', 'text/html; charset=utf-8');
  res.setHeader('cache-control', 'no-store');
  res.end(tooManyRequestsPage());
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
};

function serveStatic(siteDir: string | undefined, method: string, path: string, res: ServerResponse) {
  if (method !== 'GET' && method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    return send(res, 405, 'Method Not Allowed');
  }
  const file = siteDir ? siteFile(siteDir, path) : undefined;
  if (!file) return send(res, 404, 'Not Found');
  res.setHeader('content-type', CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream');
  res.setHeader('content-length', statSync(file).size);
  // The page is rebuilt at every start; a reload must show the new one.
  res.setHeader('cache-control', 'no-cache');
  if (method === 'HEAD') res.end();
  else createReadStream(file).pipe(res);
}

/** The file under `siteDir` for a URL path (a folder means its index.html), never outside it. */
function siteFile(siteDir: string, path: string): string | undefined {
  const root = resolve(siteDir);
  const decoded = safeDecode(path);
  let file = resolve(join(root, normalize(decoded)));
  if (decoded.includes('\0') || (file !== root && !file.startsWith(root + sep))) return undefined;
  try {
    if (statSync(file).isDirectory()) file = join(file, 'index.html');
    return statSync(file).isFile() ? file : undefined;
  } catch {
    return undefined;
  }
}

/** The body, or undefined when it is over `limit` bytes (the rest is not read). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolvePromise, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) return chunks.push(chunk);
      req.removeAllListeners('data');
      req.pause();
      resolvePromise(undefined);
    });
    req.on('end', () => resolvePromise(size > limit ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** A JSON body for an object, plain text for a string. */
function send(res: ServerResponse, statusCode: number, body: object | string): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.statusCode = statusCode;
  res.setHeader('content-type', typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json');
  res.setHeader('content-length', Buffer.byteLength(text));
  res.end(text);
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
