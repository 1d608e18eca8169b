import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeServer, listen } from '../../lib/local/emulators.ts';
import {
  createGateway,
  type HttpHandler,
  MAX_REQUEST_BYTES,
  matchRoute,
  type Route,
  toHttpAnswer,
  toHttpApiEvent,
} from '../../lib/local/gateway.ts';
import { lambdaFunction } from '../../lib/local/lambda.ts';

const echo: HttpHandler = async (event) => ({
  statusCode: 200,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(event),
});

describe('toHttpApiEvent', () => {
  const route: Route = {
    method: 'POST',
    path: '/api/feedback',
    target: lambdaFunction('submit', 1000, () => echo),
  };

  it('builds a payload 2.0 event: lower-cased headers, repeated ones joined, cookies apart, query parsed', () => {
    // Prepare
    const request = {
      method: 'POST',
      url: '/api/feedback?a=1&a=2&b=x%20y',
      rawHeaders: [
        'Host',
        'localhost:3000',
        'X-Thing',
        'one',
        'x-thing',
        'two',
        'Cookie',
        'c1=v1; c2=v2',
        'User-Agent',
        'curl/8',
      ],
      body: Buffer.from('{"email":"a@b.c"}'),
      sourceIp: '127.0.0.1',
    };

    // Act
    const event = toHttpApiEvent(
      { ...request, rawHeaders: [...request.rawHeaders, 'Content-Type', 'application/json'] },
      route,
      {},
    );

    // Assess
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: 'POST /api/feedback',
      rawPath: '/api/feedback',
      rawQueryString: 'a=1&a=2&b=x%20y',
      cookies: ['c1=v1', 'c2=v2'],
      queryStringParameters: { a: '1,2', b: 'x y' },
      headers: {
        host: 'localhost:3000',
        'x-thing': 'one,two',
        'content-type': 'application/json',
        'x-forwarded-for': '127.0.0.1',
      },
      requestContext: {
        http: { method: 'POST', path: '/api/feedback', sourceIp: '127.0.0.1', userAgent: 'curl/8' },
        routeKey: 'POST /api/feedback',
        stage: '$default',
      },
      body: '{"email":"a@b.c"}',
      isBase64Encoded: false,
    });
    expect(event.headers.cookie).toBeUndefined();
    expect(event.pathParameters).toBeUndefined();
  });

  it('base64-encodes a form post, as API Gateway does for non-text content types', () => {
    // Act
    const event = toHttpApiEvent(
      {
        method: 'POST',
        url: '/api/feedback',
        rawHeaders: ['Content-Type', 'application/x-www-form-urlencoded'],
        body: Buffer.from('email=a%40b.c&message=hi'),
        sourceIp: '10.0.0.1',
      },
      route,
      {},
    );

    // Assess
    expect(event.isBase64Encoded).toBe(true);
    expect(Buffer.from(event.body ?? '', 'base64').toString()).toBe('email=a%40b.c&message=hi');
  });

  it('leaves out the body of a request without one', () => {
    const event = toHttpApiEvent(
      { method: 'GET', url: '/x', rawHeaders: [], body: Buffer.alloc(0), sourceIp: '::1' },
      route,
      {},
    );
    expect(event.body).toBeUndefined();
    expect(event.isBase64Encoded).toBe(false);
  });
});

describe('matchRoute', () => {
  const routes: Route[] = [
    { method: 'POST', path: '/api/feedback', target: lambdaFunction('submit', 1000, () => echo) },
    { method: 'GET', path: '/api/tasks/{taskId}', target: lambdaFunction('get', 1000, () => echo) },
  ];

  it('matches a template and decodes its path parameter', () => {
    expect(matchRoute(routes, 'GET', '/api/tasks/abc%20d')).toMatchObject({
      pathParameters: { taskId: 'abc d' },
    });
  });

  it('matches neither another method, an empty parameter nor a longer path', () => {
    expect(matchRoute(routes, 'GET', '/api/feedback')).toBeUndefined();
    expect(matchRoute(routes, 'GET', '/api/tasks/')).toBeUndefined();
    expect(matchRoute(routes, 'GET', '/api/tasks/a/b')).toBeUndefined();
  });
});

describe('toHttpAnswer', () => {
  it('reads a structured result: headers, cookies, base64 body', () => {
    const answer = toHttpAnswer({
      statusCode: 201,
      headers: { 'X-Count': 3 },
      cookies: ['a=1', 'b=2'],
      body: Buffer.from('bin').toString('base64'),
      isBase64Encoded: true,
    });
    expect(answer.statusCode).toBe(201);
    expect(answer.headers).toEqual({ 'x-count': '3', 'set-cookie': ['a=1', 'b=2'] });
    expect(answer.body.toString()).toBe('bin');
  });

  it('takes a string or an object without statusCode as a 200 JSON body, as API Gateway infers it', () => {
    expect(toHttpAnswer('"hi"')).toMatchObject({
      statusCode: 200,
      headers: { 'content-type': 'application/json' },
    });
    expect(toHttpAnswer({ ok: true } as never).body.toString()).toBe('{"ok":true}');
  });
});

describe('createGateway', () => {
  let server: Server;
  let url: string;
  let siteDir: string;
  const seen: APIGatewayProxyEventV2[] = [];

  beforeAll(async () => {
    siteDir = mkdtempSync(join(tmpdir(), 'gateway-test-'));
    writeFileSync(join(siteDir, 'index.html'), '<!doctype html><title>t</title>');
    writeFileSync(join(siteDir, 'app.js'), 'console.log(1)');
    server = createGateway({
      siteDir,
      responseHeaders: { 'x-frame-options': 'DENY', 'referrer-policy': 'same-origin' },
      routes: [
        {
          method: 'POST',
          path: '/api/feedback',
          target: lambdaFunction('submit', 2000, () => async (event: APIGatewayProxyEventV2) => {
            seen.push(event);
            return {
              statusCode: 202,
              headers: { location: '/api/tasks/1' },
              body: '{"ok":true}',
              cookies: ['s=1'],
            };
          }),
        },
        {
          method: 'GET',
          path: '/api/tasks/{taskId}',
          target: lambdaFunction('get', 2000, () => async (event: APIGatewayProxyEventV2) => {
            if (event.pathParameters?.taskId === 'boom') throw new Error('boom');
            if (event.pathParameters?.taskId === 'slow') await new Promise((r) => setTimeout(r, 5000));
            if (event.pathParameters?.taskId === 'own-headers') {
              return { statusCode: 200, headers: { 'referrer-policy': 'unsafe-url' }, body: '{}' };
            }
            return { statusCode: 200, body: JSON.stringify(event.pathParameters) };
          }),
        },
      ],
    });
    const port = await listen(server, 'test gateway', { host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port || port}`;
  });

  afterAll(async () => {
    await closeServer(server, 0);
    rmSync(siteDir, { recursive: true, force: true });
  });

  it('serves the page with content types, index.html for /', async () => {
    const page = await fetch(`${url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html; ?charset=utf-8$/);
    expect(page.headers.get('cache-control')).toBe('no-cache');
    expect(await page.text()).toContain('<title>t</title>');
    const script = await fetch(`${url}/app.js`);
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
  });

  it('answers 404 for a missing file and never serves outside the site folder', async () => {
    expect((await fetch(`${url}/nope.css`)).status).toBe(404);
    expect((await fetch(`${url}/..%2f..%2fetc%2fpasswd`)).status).toBe(404);
  });

  it('routes a POST to its handler and writes the structured result back', async () => {
    // Act
    const response = await fetch(`${url}/api/feedback`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: 'k=v' },
      body: 'email=a%40b.c',
    });

    // Assess
    expect(response.status).toBe(202);
    expect(response.headers.get('location')).toBe('/api/tasks/1');
    expect(response.headers.get('set-cookie')).toBe('s=1');
    expect(await response.json()).toEqual({ ok: true });
    const event = seen.at(-1);
    expect(event?.isBase64Encoded).toBe(true);
    expect(Buffer.from(event?.body ?? '', 'base64').toString()).toBe('email=a%40b.c');
    expect(event?.cookies).toEqual(['k=v']);
  });

  it('passes path parameters', async () => {
    const response = await fetch(`${url}/api/tasks/abc`);
    expect(await response.json()).toEqual({ taskId: 'abc' });
  });

  it('answers 404 JSON for any other /api path or method', async () => {
    const other = await fetch(`${url}/api/other`);
    expect(other.status).toBe(404);
    expect(await other.json()).toEqual({ message: 'Not Found' });
    expect((await fetch(`${url}/api/feedback`)).status).toBe(404);
  });

  it('answers 500 like API Gateway when the handler throws or times out', async () => {
    const thrown = await fetch(`${url}/api/tasks/boom`);
    expect(thrown.status).toBe(500);
    expect(await thrown.json()).toEqual({ message: 'Internal Server Error' });
    expect((await fetch(`${url}/api/tasks/slow`)).status).toBe(500);
  });

  it("sends its response headers on every answer, over the handler's own, as CloudFront does", async () => {
    // Act
    const answers = await Promise.all(
      [
        '/',
        '/app.js',
        '/nope.css',
        '/api/tasks/abc',
        '/api/tasks/boom',
        '/api/other',
        '/api/tasks/own-headers',
      ].map((path) => fetch(`${url}${path}`)),
    );
    await Promise.all(answers.map((answer) => answer.arrayBuffer()));

    // Assess
    for (const answer of answers) {
      expect(answer.headers.get('x-frame-options')).toBe('DENY');
      expect(answer.headers.get('referrer-policy')).toBe('same-origin');
    }
  });

  it('refuses a body over 10 MB with 413 without reading it all', async () => {
    const response = await fetch(`${url}/api/feedback`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: Buffer.alloc(MAX_REQUEST_BYTES + 1, 'a'),
    }).catch((error: unknown) => error);
    // The gateway answers 413 and closes the connection; a client still sending may see the reset instead.
    if (response instanceof Response) expect(response.status).toBe(413);
    else expect(String(response)).toMatch(/fetch failed|socket|reset/i);
  });
});

describe('createGateway with a per-client limit', () => {
  let server: Server;
  let base: string;

  beforeAll(async () => {
    server = createGateway({
      routes: [{ method: 'POST', path: '/api/feedback', target: lambdaFunction('submit', 1000, () => echo) }],
      rateLimit: 3,
    });
    base = `http://127.0.0.1:${await listen(server, 'gateway', { host: '127.0.0.1', port: 0 })}`;
  });

  afterAll(() => closeServer(server));

  it('answers 429 with Retry-After over the limit, as JSON or as a page for a navigation, as the WAF rule does', async () => {
    // Prepare
    const post = (accept: string) =>
      fetch(`${base}/api/feedback`, { method: 'POST', headers: { accept }, body: '{}' });

    // Act
    const allowed = [await post('*/*'), await post('*/*'), await post('*/*')];
    const json = await post('application/json');
    const html = await post('text/html,application/xhtml+xml,*/*;q=0.8');

    // Assess
    expect(allowed.map((answer) => answer.status)).toEqual([200, 200, 200]);
    expect(json.status).toBe(429);
    expect(Number(json.headers.get('retry-after'))).toBeGreaterThan(250);
    expect(await json.json()).toMatchObject({ error: 'too_many_requests' });
    expect(html.status).toBe(429);
    expect(html.headers.get('content-type')).toMatch(/text\/html/);
    expect(await html.text()).toContain('Too many feedbacks from this connection');
  });

  it('does not count or limit GETs (the waiting page polls its task)', async () => {
    // Act
    const answer = await fetch(`${base}/api/tasks/x`);

    // Assess
    expect(answer.status).toBe(404);
  });
});
