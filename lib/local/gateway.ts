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
import { invokeWithTimeout } from './lambda-context';
import { LOCAL_ACCOUNT_ID } from './resources';

/** An HTTP API (payload 2.0) Lambda handler. */
export type HttpHandler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyResultV2>;

/** One route of the HTTP API, e.g. `GET /api/tasks/{taskId}`. */
export interface Route {
  method: string;
  /** Path template; `{name}` matches one path segment. */
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
  /**
   * Headers on every answer (the page's files, the API's answers, the gateway's own errors); they replace
   * a handler's headers of the same name, as CloudFront's response headers policy with `override: true`.
   */
  responseHeaders?: Record<string, string>;
}

/** API Gateway's payload limit: 10 MB. */
export const MAX_REQUEST_BYTES = 10 * 1024 * 1024;

/**
 * Content types API Gateway passes as text; any other body reaches the Lambda base64-encoded with
 * `isBase64Encoded: true` (a plain form post, `application/x-www-form-urlencoded`, is one of those).
 */
const TEXT_CONTENT_TYPES = [
  /^text\//,
  /^application\/(.+\+)?json$/,
  /^application\/(.+\+)?xml$/,
  /^application\/javascript$/,
];

/** What a request to the gateway carries, read off the socket. */
export interface RawRequest {
  method: string;
  /** Path and query as sent, e.g. `/api/tasks/abc?x=1`. */
  url: string;
  /** Alternating names and values, as Node's `rawHeaders`. */
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
    if (route.method !== method) continue;
    const template = route.path.split('/');
    if (template.length !== segments.length) continue;
    const pathParameters: Record<string, string> = {};
    const matches = template.every((part, index) => {
      const segment = segments[index] ?? '';
      const parameter = /^\{(\w+)\}$/.exec(part)?.[1];
      if (parameter === undefined) return part === segment;
      if (segment === '') return false;
      pathParameters[parameter] = safeDecode(segment);
      return true;
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
    if (name === 'cookie') {
      cookies.push(
        ...value
          .split(';')
          .map((cookie) => cookie.trim())
          .filter(Boolean),
      );
      continue;
    }
    headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
  }
  headers['x-forwarded-for'] = headers['x-forwarded-for']
    ? `${headers['x-forwarded-for']},${request.sourceIp}`
    : request.sourceIp;
  headers['x-forwarded-proto'] ??= 'http';

  const queryStart = request.url.indexOf('?');
  const rawPath = queryStart === -1 ? request.url : request.url.slice(0, queryStart);
  const rawQueryString = queryStart === -1 ? '' : request.url.slice(queryStart + 1);
  const requestId = randomUUID();
  const routeKey = `${route.method} ${route.path}`;
  const host = headers.host ?? 'localhost';

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
      requestId,
      routeKey,
      stage: '$default',
      time: formatRequestTime(now),
      timeEpoch: now.getTime(),
    },
    isBase64Encoded: false,
  };
  if (cookies.length > 0) event.cookies = cookies;
  const query = parseQuery(rawQueryString);
  if (query) event.queryStringParameters = query;
  if (Object.keys(pathParameters).length > 0) event.pathParameters = pathParameters;
  if (request.body.length > 0) {
    const contentType = (headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
    const isText = TEXT_CONTENT_TYPES.some((pattern) => pattern.test(contentType));
    event.body = isText ? request.body.toString('utf8') : request.body.toString('base64');
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
  if (typeof result === 'string') {
    return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from(result) };
  }
  if (result === undefined || result === null || typeof result !== 'object' || !('statusCode' in result)) {
    return {
      statusCode: 200,
      headers: { 'content-type': 'application/json' },
      body: Buffer.from(JSON.stringify(result ?? null)),
    };
  }
  const structured = result as APIGatewayProxyStructuredResultV2;
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(structured.headers ?? {}))
    headers[name.toLowerCase()] = String(value);
  if (structured.cookies && structured.cookies.length > 0) headers['set-cookie'] = [...structured.cookies];
  const body = structured.body ?? '';
  return {
    statusCode: structured.statusCode ?? 200,
    headers,
    body: structured.isBase64Encoded ? Buffer.from(body, 'base64') : Buffer.from(body),
  };
}

/** The local gateway: the page from `siteDir` and `/api/*` through the routes' handlers. */
export function createGateway(options: GatewayOptions): Server {
  return createServer((req, res) => {
    const started = Date.now();
    res.on('finish', () => {
      const path = (req.url ?? '/').split('?')[0];
      options.onRequest?.(`${req.method} ${path} ${res.statusCode} ${Date.now() - started}ms`);
    });
    for (const [name, value] of Object.entries(options.responseHeaders ?? {})) res.setHeader(name, value);
    serve(options, req, res).catch((error: unknown) => {
      options.onError?.('gateway', error);
      if (!res.headersSent) sendJson(res, 500, { message: 'Internal Server Error' });
      else res.destroy();
    });
  });
}

async function serve(options: GatewayOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = req.url ?? '/';
  const path = url.split('?')[0] ?? '/';
  const method = req.method ?? 'GET';
  if (path !== '/api' && !path.startsWith('/api/')) {
    serveStatic(options.siteDir, method, path, res);
    return;
  }
  const body = await readBody(req, MAX_REQUEST_BYTES);
  if (body === undefined) {
    res.setHeader('connection', 'close');
    sendJson(res, 413, { message: 'Request Entity Too Large' });
    return;
  }
  const matched = matchRoute(options.routes, method, path);
  if (!matched) {
    sendJson(res, 404, { message: 'Not Found' });
    return;
  }
  const event = toHttpApiEvent(
    {
      method,
      url,
      rawHeaders: req.rawHeaders,
      body,
      sourceIp: req.socket.remoteAddress?.replace(/^::ffff:/, '') ?? '127.0.0.1',
      httpVersion: req.httpVersion,
    },
    matched.route,
    matched.pathParameters,
  );
  let answer: HttpAnswer;
  try {
    const { functionName, handler } = matched.route;
    answer = toHttpAnswer(
      await invokeWithTimeout(functionName, options.timeoutMs, (context) => handler(event, context)),
    );
  } catch (error) {
    options.onError?.(matched.route.functionName, error);
    sendJson(res, 500, { message: 'Internal Server Error' });
    return;
  }
  res.statusCode = answer.statusCode;
  for (const [name, value] of Object.entries(answer.headers)) res.setHeader(name, value);
  for (const [name, value] of Object.entries(options.responseHeaders ?? {})) res.setHeader(name, value);
  res.setHeader('apigw-requestid', event.requestContext.requestId);
  res.setHeader('content-length', answer.body.length);
  res.end(method === 'HEAD' ? undefined : answer.body);
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.webmanifest': 'application/manifest+json',
};

function serveStatic(siteDir: string | undefined, method: string, path: string, res: ServerResponse): void {
  if (method !== 'GET' && method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    sendText(res, 405, 'Method Not Allowed');
    return;
  }
  const file = siteDir ? siteFile(siteDir, path) : undefined;
  if (!file) {
    sendText(res, 404, 'Not Found');
    return;
  }
  res.statusCode = 200;
  res.setHeader('content-type', CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream');
  res.setHeader('content-length', statSync(file).size);
  // The page is rebuilt at every start; a reload must show the new one.
  res.setHeader('cache-control', 'no-cache');
  if (method === 'HEAD') {
    res.end();
    return;
  }
  createReadStream(file).pipe(res);
}

/** The file under `siteDir` for a URL path (a folder means its index.html), never outside it. */
function siteFile(siteDir: string, path: string): string | undefined {
  const root = resolve(siteDir);
  const decoded = safeDecode(path);
  if (decoded.includes('\0')) return undefined;
  let file = resolve(join(root, normalize(decoded)));
  if (file !== root && !file.startsWith(root + sep)) return undefined;
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
      if (size > limit) {
        req.removeAllListeners('data');
        req.pause();
        resolvePromise(undefined);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolvePromise(size > limit ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, statusCode: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.statusCode = statusCode;
  res.setHeader('content-type', 'application/json');
  res.setHeader('content-length', Buffer.byteLength(text));
  res.end(text);
}

function sendText(res: ServerResponse, statusCode: number, text: string): void {
  res.statusCode = statusCode;
  res.setHeader('content-type', 'text/plain; charset=utf-8');
  res.setHeader('content-length', Buffer.byteLength(text));
  res.end(text);
}

function parseQuery(rawQueryString: string): Record<string, string> | undefined {
  if (rawQueryString === '') return undefined;
  const query: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(rawQueryString)) {
    query[name] = query[name] === undefined ? value : `${query[name]},${value}`;
  }
  return query;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** API Gateway's `requestContext.time`: `23/Nov/2025:20:30:00 +0000`. */
function formatRequestTime(date: Date): string {
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const pad = (n: number) => String(n).padStart(2, '0');
  return (
    `${pad(date.getUTCDate())}/${months[date.getUTCMonth()]}/${date.getUTCFullYear()}:` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`
  );
}
