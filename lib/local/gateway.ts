import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyResultV2,
  APIGatewayProxyStructuredResultV2,
} from 'aws-lambda';
import sirv from 'sirv';
import { clientRateLimit } from '../../functions/config/settings.ts';
import { TOO_MANY_REQUESTS_BODY, tooManyRequestsPage } from '../../functions/http/views.ts';
import type { Handler, LambdaFunction } from './lambda.ts';
import { LOCAL_ACCOUNT_ID } from './resources.ts';

/** An HTTP API (payload 2.0) Lambda handler. */
export type HttpHandler = Handler<APIGatewayProxyEventV2, APIGatewayProxyResultV2>;

/** One route of the HTTP API, e.g. `GET /api/tasks/{taskId}` (`{name}` matches one path segment). */
export interface Route {
  method: string;
  path: string;
  target: LambdaFunction<APIGatewayProxyEventV2, APIGatewayProxyResultV2>;
}

export interface GatewayOptions {
  routes: Route[];
  /** Folder served for every path outside `/api/` (the built page); nothing served when undefined. */
  siteDir?: string | undefined;
  /** One line per request (method, path, status, time), like a web server's access log. */
  onRequest?(line: string): void;
  /** A handler that threw or timed out (API Gateway answers 500). */
  onError?(functionName: string, error: unknown): void;
  /** Headers on every answer, replacing a handler's of the same name (CloudFront's, with `override: true`). */
  responseHeaders?: Record<string, string>;
  /** The deployed WAF rule's per-client limit: POSTs to the API per source IP in its window. */
  rateLimit?: number | undefined;
}

/** API Gateway's payload limit: 10 MB. */
export const MAX_REQUEST_BYTES = 10 * 1024 * 1024;

const HTML_PAGE = { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' };

/** Content types API Gateway passes as text; any other body reaches the Lambda base64-encoded. */
const TEXT_CONTENT_TYPE = /^(text\/.*|application\/((.+\+)?(json|xml)|javascript))$/;

/** What a request to the gateway carries, read off the socket (`rawHeaders` as Node gives them). */
export interface RawRequest {
  method: string;
  url: string;
  rawHeaders: string[];
  body: Buffer;
  sourceIp: string;
  httpVersion?: string;
}

/** The route that matches `method` and `path`, with its (decoded) path parameters. */
export function matchRoute(routes: Route[], method: string, path: string) {
  for (const route of routes) {
    const pattern = new RegExp(`^${route.path.replace(/\{(\w+)\}/g, '(?<$1>[^/]+)')}$`);
    const match = route.method === method ? pattern.exec(path) : null;
    if (!match) continue;
    const parameters = Object.entries(match.groups ?? {}).map(([name, value]) => [name, safeDecode(value)]);
    return { route, pathParameters: Object.fromEntries(parameters) as Record<string, string> };
  }
  return undefined;
}

/** Repeated names joined with commas, as API Gateway does for headers and query parameters. */
function joinRepeated(pairs: Iterable<[string, string]>): Record<string, string> {
  const joined: Record<string, string> = {};
  for (const [name, value] of pairs)
    joined[name] = joined[name] === undefined ? value : `${joined[name]},${value}`;
  return joined;
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
  const pairs = request.rawHeaders.flatMap((name, i) =>
    i % 2 === 0 ? [[name.toLowerCase(), request.rawHeaders[i + 1] ?? ''] as [string, string]] : [],
  );
  const headers = joinRepeated(pairs.filter(([name]) => name !== 'cookie'));
  const cookies = pairs.flatMap(([name, value]) =>
    name === 'cookie' ? value.split(';').flatMap((cookie) => cookie.trim() || []) : [],
  );
  headers['x-forwarded-for'] = [headers['x-forwarded-for'], request.sourceIp].filter(Boolean).join(',');
  headers['x-forwarded-proto'] ??= 'http';
  const [rawPath = '', rawQueryString = ''] = request.url.split(/\?(.*)/s);
  const routeKey = `${route.method} ${route.path}`;
  const host = headers.host ?? 'localhost';
  const [day, month, year, time] = now.toUTCString().split(' ').slice(1);
  const contentType = (headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  const isText = TEXT_CONTENT_TYPE.test(contentType);
  return {
    version: '2.0',
    routeKey,
    rawPath,
    rawQueryString,
    ...(cookies.length > 0 ? { cookies } : {}),
    headers,
    ...(rawQueryString ? { queryStringParameters: joinRepeated(new URLSearchParams(rawQueryString)) } : {}),
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
    ...(Object.keys(pathParameters).length > 0 ? { pathParameters } : {}),
    ...(request.body.length > 0 ? { body: request.body.toString(isText ? 'utf8' : 'base64') } : {}),
    isBase64Encoded: request.body.length > 0 && !isText,
  };
}

/**
 * An HTTP answer from a payload 2.0 result, read as API Gateway does: a structured result as it is
 * (`cookies` become `Set-Cookie`, a base64 body is decoded); a string or an object without
 * `statusCode` is a 200 JSON body. API Gateway ignores `multiValueHeaders` in this format, and so does this.
 */
export function toHttpAnswer(result: APIGatewayProxyResultV2 | undefined | null) {
  if (typeof result !== 'object' || result === null || !('statusCode' in result)) {
    const body = typeof result === 'string' ? result : JSON.stringify(result ?? null);
    return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from(body) };
  }
  const { headers = {}, cookies = [], body = '', ...rest } = result as APIGatewayProxyStructuredResultV2;
  const lowerCased = Object.entries(headers).map(([name, value]) => [name.toLowerCase(), String(value)]);
  return {
    statusCode: rest.statusCode ?? 200,
    headers: {
      ...Object.fromEntries(lowerCased),
      ...(cookies.length > 0 ? { 'set-cookie': [...cookies] } : {}),
    } as Record<string, string | string[]>,
    body: Buffer.from(body, rest.isBase64Encoded ? 'base64' : 'utf8'),
  };
}

/** The local gateway: the page from `siteDir` and `/api/*` through the routes' handlers. */
export function createGateway(options: GatewayOptions): Server {
  const limit = clientLimiter(options.rateLimit);
  // The page is rebuilt at every start: sirv's dev mode reads each file anew, with `no-cache`.
  const site = options.siteDir ? sirv(options.siteDir, { dev: true, etag: true }) : undefined;
  const serve = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const { url = '/', method = 'GET' } = req;
    const path = url.split('?')[0] ?? '/';
    if (path !== '/api' && !path.startsWith('/api/')) {
      if (method === 'GET' || method === 'HEAD') return site?.(req, res, () => send(res, 404, 'Not Found'));
      res.setHeader('allow', 'GET, HEAD');
      return send(res, 405, 'Method Not Allowed');
    }
    const body = await readBody(req, MAX_REQUEST_BYTES);
    if (body === undefined) {
      res.setHeader('connection', 'close');
      return send(res, 413, { message: 'Request Entity Too Large' });
    }
    const matched = matchRoute(options.routes, method, path);
    if (!matched) return send(res, 404, { message: 'Not Found' });
    const sourceIp = req.socket.remoteAddress?.replace(/^::ffff:/, '') ?? '127.0.0.1';
    const retryAfter = method === 'POST' ? limit(sourceIp) : 0;
    if (retryAfter > 0) {
      // As the WAF rule answers: JSON, or a page for a browser's navigation.
      res.setHeader('retry-after', String(retryAfter));
      if (!/text\/html/.test(req.headers.accept ?? '')) return send(res, 429, TOO_MANY_REQUESTS_BODY);
      return void res.writeHead(429, HTML_PAGE).end(tooManyRequestsPage());
    }
    const request = { method, url, rawHeaders: req.rawHeaders, body, sourceIp, httpVersion: req.httpVersion };
    const event = toHttpApiEvent(request, matched.route, matched.pathParameters);
    const { target } = matched.route;
    const answer = await target
      .invoke(event)
      .then(toHttpAnswer)
      .catch((error: unknown) => options.onError?.(target.name, error));
    if (!answer) return send(res, 500, { message: 'Internal Server Error' });
    res.statusCode = answer.statusCode;
    for (const [name, value] of Object.entries(answer.headers)) res.setHeader(name, value);
    for (const [name, value] of Object.entries(options.responseHeaders ?? {})) res.setHeader(name, value);
    res.setHeader('apigw-requestid', event.requestContext.requestId);
    res.setHeader('content-length', answer.body.length);
    res.end(method === 'HEAD' ? undefined : answer.body);
  };
  return createServer((req, res) => {
    const started = Date.now();
    res.on('finish', () => {
      const path = (req.url ?? '/').split('?')[0];
      options.onRequest?.(`${req.method} ${path} ${res.statusCode} ${Date.now() - started}ms`);
    });
    for (const [name, value] of Object.entries(options.responseHeaders ?? {})) res.setHeader(name, value);
    serve(req, res).catch((error: unknown) => {
      options.onError?.('gateway', error);
      if (!res.headersSent) send(res, 500, { message: 'Internal Server Error' });
      else res.destroy();
    });
  });
}

/** A sliding window of request times per client, as the WAF rule counts: 0, or the seconds to wait. */
function clientLimiter(requests = Number.POSITIVE_INFINITY): (client: string) => number {
  const windowMs = clientRateLimit.windowSeconds * 1000;
  const seen = new Map<string, number[]>();
  return (client: string) => {
    const now = Date.now();
    const times = (seen.get(client) ?? []).filter((time) => time > now - windowMs);
    seen.set(client, times);
    if (times.length < requests) return times.push(now) && 0;
    return Math.max(1, Math.ceil(((times[0] ?? now) + windowMs - now) / 1000));
  };
}

/** The body, or undefined when it is over `limit` bytes (the rest is not read). */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) return chunks.push(chunk);
      req.removeAllListeners('data').pause();
      resolve(undefined);
    });
    req.on('end', () => resolve(size > limit ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** A JSON body for an object, plain text for a string. */
function send(res: ServerResponse, statusCode: number, body: object | string): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const type = typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json';
  res.writeHead(statusCode, { 'content-type': type, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
