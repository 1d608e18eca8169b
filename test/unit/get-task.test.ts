import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { BROWSER_ACCEPT, getTaskEvent } from '../helpers/api-event.ts';
import { captureLogs, loadHandler } from '../helpers/handlers.ts';

type Handler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;
let handler: Handler;

beforeAll(async () => {
  ({ handler } = await loadHandler<{ handler: Handler }>('get-task', { TASKS_TABLE_NAME: 'tasks' }));
});

const dynamodbMock = mockClient(DynamoDBClient);

const TASK_ID = '3f1c2b9a-7d4e-4c1b-9a2f-0e8d7c6b5a49';

/** A finished task as the worker leaves it, with the bookkeeping the API must not show. */
const successRecord = {
  taskId: TASK_ID,
  status: 'SUCCESS',
  createdAt: '2026-01-01T10:00:00.000Z',
  startedAt: '2026-01-01T10:00:01.000Z',
  finishedAt: '2026-01-01T10:00:21.500Z',
  updatedAt: '2026-01-01T10:00:21.500Z',
  attempts: 1,
  runtimeMs: 20_500,
  expiresAt: 1_767_866_400,
  leaseExpiresAt: 1_767_261_661_000,
  sesMessageId: 'ses-1',
  emails: { visitor: { status: 'SENT', messageId: 'ses-1' } },
};

function json(response: APIGatewayProxyStructuredResultV2): Record<string, unknown> {
  return JSON.parse(response.body ?? '') as Record<string, unknown>;
}

beforeEach(() => {
  dynamodbMock.reset();
  captureLogs();
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('JSON (the page and API clients)', () => {
  it('answers 200 with the public fields only, from a consistent read, never cached', async () => {
    // Prepare
    dynamodbMock.on(GetItemCommand).resolves({ Item: marshall(successRecord) });

    // Act
    const response = await handler(getTaskEvent(TASK_ID, { accept: 'application/json' }));

    // Assess
    expect(response.statusCode).toBe(200);
    expect(response.headers).toMatchObject({
      'Content-Type': 'application/json; charset=utf-8',
      'Cache-Control': 'no-store',
      Vary: 'Accept',
    });
    expect(json(response)).toEqual({
      taskId: TASK_ID,
      status: 'SUCCESS',
      createdAt: '2026-01-01T10:00:00.000Z',
      startedAt: '2026-01-01T10:00:01.000Z',
      finishedAt: '2026-01-01T10:00:21.500Z',
      attempts: 1,
      runtimeMs: 20_500,
      emails: { visitor: { status: 'SENT' } },
    });
    expect(dynamodbMock).toHaveReceivedCommandWith(GetItemCommand, {
      TableName: 'tasks',
      Key: { taskId: { S: TASK_ID } },
      ConsistentRead: true,
    });
  });

  it('shows a pending task with its creation time and no optional fields', async () => {
    // Prepare
    const pending = {
      taskId: TASK_ID,
      status: 'PENDING',
      createdAt: '2026-01-01T10:00:00.000Z',
      attempts: 0,
      expiresAt: 1,
    };
    dynamodbMock.on(GetItemCommand).resolves({ Item: marshall(pending) });

    // Act
    const response = await handler(getTaskEvent(TASK_ID));

    // Assess
    expect(json(response)).toEqual({
      taskId: TASK_ID,
      status: 'PENDING',
      createdAt: '2026-01-01T10:00:00.000Z',
      attempts: 0,
    });
  });

  it('shows why a task failed', async () => {
    // Prepare
    const failed = {
      ...successRecord,
      status: 'FAILURE',
      error: { type: 'MessageRejected', message: 'Email address is not verified.' },
    };
    dynamodbMock.on(GetItemCommand).resolves({ Item: marshall(failed) });

    // Act
    const response = await handler(getTaskEvent(TASK_ID));

    // Assess
    expect(json(response)).toMatchObject({
      status: 'FAILURE',
      error: { type: 'MessageRejected', message: 'Email address is not verified.' },
    });
  });

  it('never answers with an address or a message, even if an item held one', async () => {
    // Prepare
    const leaky = { ...successRecord, email: 'visitor@example.com', message: 'secret' };
    dynamodbMock.on(GetItemCommand).resolves({ Item: marshall(leaky) });

    // Act
    const response = await handler(getTaskEvent(TASK_ID));

    // Assess
    expect(response.body).not.toMatch(/visitor@example\.com|secret|ses-1|leaseExpiresAt|expiresAt/);
  });

  it('answers 404 not_found for an unknown task', async () => {
    // Prepare
    dynamodbMock.on(GetItemCommand).resolves({});

    // Act
    const response = await handler(getTaskEvent(TASK_ID));

    // Assess
    expect(response.statusCode).toBe(404);
    expect(json(response)).toEqual({ error: 'not_found' });
    expect(response.headers?.['Cache-Control']).toBe('no-store');
  });

  it.each([
    ['not a uuid', 'abc'],
    ['upper case', TASK_ID.toUpperCase()],
    ['a v1 uuid', '3f1c2b9a-7d4e-1c1b-9a2f-0e8d7c6b5a49'],
    ['a path', '..%2F..%2Fetc'],
    ['a stats item key', 'stats#2026-01-01'],
    ['empty', ''],
  ])('answers 400 invalid_task_id for %s, without reading the table', async (_case, taskId) => {
    // Act
    const response = await handler(getTaskEvent(taskId));

    // Assess
    expect(response.statusCode).toBe(400);
    expect(json(response)).toEqual({ error: 'invalid_task_id' });
    expect(response.headers?.['Cache-Control']).toBe('no-store');
    expect(dynamodbMock).not.toHaveReceivedCommand(GetItemCommand);
  });

  it('answers 503 with Retry-After when the table cannot be read', async () => {
    // Prepare
    dynamodbMock.on(GetItemCommand).rejects(new Error('connect ECONNREFUSED'));

    // Act
    const response = await handler(getTaskEvent(TASK_ID));

    // Assess
    expect(response.statusCode).toBe(503);
    expect(response.headers).toMatchObject({ 'Retry-After': '5', 'Cache-Control': 'no-store' });
    expect(json(response)).toMatchObject({ error: 'service_unavailable' });
  });
});

describe('HTML (a browser without JavaScript, after the 303)', () => {
  it('shows the status view: the state in words, refreshing itself when asked, send another, site styles and icon, no inline code', async () => {
    // Prepare
    dynamodbMock.on(GetItemCommand).resolves({ Item: marshall({ ...successRecord, status: 'STARTED' }) });

    // Act
    const response = await handler({
      ...getTaskEvent(TASK_ID, { accept: BROWSER_ACCEPT }),
      rawQueryString: 'refresh=on',
      queryStringParameters: { refresh: 'on' },
    });
    const unasked = await handler(getTaskEvent(TASK_ID, { accept: BROWSER_ACCEPT }));

    // Assess
    expect(response.statusCode).toBe(200);
    expect(response.headers).toMatchObject({
      'Content-Type': 'text/html; charset=utf-8',
      'Cache-Control': 'no-store',
      Vary: 'Accept',
    });
    const html = response.body ?? '';
    expect(html).toContain('<title>Thank you!</title>');
    expect(html).toContain('Sending…');
    expect(html).not.toContain('STARTED');
    expect(html).toContain('<meta http-equiv="refresh" content="3">');
    expect(html).toContain(`<a class="button" href="/api/tasks/${TASK_ID}">Check now</a>`);
    expect(html).toContain('<a class="button" href="/">Send another</a>');
    expect(html).toContain('<link rel="stylesheet" href="/styles.css">');
    expect(html).toContain('<link rel="icon" href="/favicon.svg"');
    expect(html).not.toMatch(/<script|<style|style=|\son[a-z]+=/i);
    expect(unasked.body).not.toContain('http-equiv="refresh"');
    expect(unasked.body).toContain(`href="/api/tasks/${TASK_ID}?refresh=on">Update by itself</a>`);
  });

  it('says the feedback was sent, and stops refreshing, once it is', async () => {
    // Prepare
    dynamodbMock.on(GetItemCommand).resolves({ Item: marshall(successRecord) });

    // Act
    const response = await handler(getTaskEvent(TASK_ID, { accept: BROWSER_ACCEPT }));

    // Assess
    expect(response.body).toContain('Sent: a copy is on its way to your inbox.');
    expect(response.body).not.toMatch(/http-equiv="refresh"|Check now/);
  });

  it("shows a bounced copy in words, in JSON as its status only, never SES's detail", async () => {
    // Prepare
    const bounced = {
      ...successRecord,
      emails: {
        visitor: {
          status: 'BOUNCED',
          messageId: 'ses-1',
          at: '2026-01-01T10:00:21.500Z',
          eventAt: '2026-01-01T10:00:23.000Z',
          detail: 'Permanent/General',
        },
      },
    };
    dynamodbMock.on(GetItemCommand).resolves({ Item: marshall(bounced) });

    // Act
    const page = await handler(getTaskEvent(TASK_ID, { accept: BROWSER_ACCEPT }));
    const answer = await handler(getTaskEvent(TASK_ID, { accept: 'application/json' }));

    // Assess
    expect(page.body).toContain('Bounced: check the address.');
    expect(page.body).toContain('that address could not receive mail');
    expect(page.body).not.toMatch(/BOUNCED|Permanent|ses-1/);
    expect(json(answer).emails).toEqual({ visitor: { status: 'BOUNCED' } });
    expect(answer.body).not.toMatch(/Permanent|ses-1|eventAt/);
  });

  it('escapes the failure reason', async () => {
    // Prepare
    const failed = {
      ...successRecord,
      status: 'FAILURE',
      error: { type: 'X', message: '<img src=x onerror=alert(1)>' },
    };
    dynamodbMock.on(GetItemCommand).resolves({ Item: marshall(failed) });

    // Act
    const response = await handler(getTaskEvent(TASK_ID, { accept: BROWSER_ACCEPT }));

    // Assess
    expect(response.body).toContain('Failed: your feedback could not be sent.');
    expect(response.body).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(response.body).not.toContain('<img');
  });

  it('answers 503 as a page with Retry-After when the table cannot be read', async () => {
    // Prepare
    dynamodbMock.on(GetItemCommand).rejects(new Error('connect ECONNREFUSED'));

    // Act
    const response = await handler(getTaskEvent(TASK_ID, { accept: BROWSER_ACCEPT }));

    // Assess
    expect(response.statusCode).toBe(503);
    expect(response.headers).toMatchObject({
      'Content-Type': 'text/html; charset=utf-8',
      'Cache-Control': 'no-store',
      'Retry-After': '5',
      Vary: 'Accept',
    });
    expect(response.body).toContain('Please try again');
  });

  it('answers 404 and 400 as pages too', async () => {
    // Prepare
    dynamodbMock.on(GetItemCommand).resolves({});

    // Act
    const notFound = await handler(getTaskEvent(TASK_ID, { accept: BROWSER_ACCEPT }));
    const invalid = await handler(getTaskEvent('<script>', { accept: BROWSER_ACCEPT }));

    // Assess
    expect(notFound.statusCode).toBe(404);
    expect(notFound.headers?.['Content-Type']).toBe('text/html; charset=utf-8');
    expect(notFound.body).toContain('<h1>Feedback not found</h1>');
    expect(notFound.body).not.toMatch(/thank/i);
    expect(invalid.statusCode).toBe(400);
    expect(invalid.body).not.toContain('<script>');
  });

  it("puts SES's daily quota in words, with the worker's message in the technical details", async () => {
    // Prepare
    const message = 'The daily sending quota of SES is used up; the email is sent once it frees up.';
    const waiting = { ...successRecord, status: 'RETRY', error: { type: 'DailyQuotaExceeded', message } };
    dynamodbMock.on(GetItemCommand).resolves({ Item: marshall(waiting) });

    // Act
    const response = await handler({
      ...getTaskEvent(TASK_ID, { accept: BROWSER_ACCEPT }),
      queryStringParameters: { refresh: 'on' },
    });

    // Assess
    expect(response.body).toContain('goes out by itself once our daily sending limit frees up');
    expect(response.body).toContain(`<code>DailyQuotaExceeded: ${message}</code>`);
    expect(response.body).toContain('<meta http-equiv="refresh" content="60">');
  });

  it('never shows the internal honeypot marker of a record', async () => {
    // Prepare
    const pending = {
      taskId: TASK_ID,
      status: 'PENDING',
      createdAt: '2026-01-01T10:00:00.000Z',
      attempts: 0,
      honeypot: true,
    };
    dynamodbMock.on(GetItemCommand).resolves({ Item: marshall(pending) });

    // Act
    const page = await handler(getTaskEvent(TASK_ID, { accept: BROWSER_ACCEPT }));
    const json = await handler(getTaskEvent(TASK_ID));

    // Assess
    expect(page.body).toContain('Queued: waiting for a free worker.');
    expect(page.body).not.toMatch(/honeypot/i);
    expect(json.body).not.toMatch(/honeypot/i);
  });
});
