import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { TASK_ID_PATTERN } from '../../functions/task/record.ts';
import { BROWSER_ACCEPT, feedbackPostEvent } from '../helpers/api-event.ts';
import { type CapturedLogs, captureLogs, loadHandler, TEST_ENV } from '../helpers/handlers.ts';

type Handler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;

const ENV = { TASKS_TABLE_NAME: 'tasks', POWERTOOLS_LOG_LEVEL: 'DEBUG' };

async function loadSubmit(env: Record<string, string> = {}): Promise<Handler> {
  const module = await loadHandler<{ handler: Handler }>('submit-feedback', { ...ENV, ...env });
  return module.handler;
}

let handler: Handler;

beforeAll(async () => {
  handler = await loadSubmit();
});

const dynamodbMock = mockClient(DynamoDBClient);
const sqsMock = mockClient(SQSClient);

const EMAIL = 'visitor@example.com';
const MESSAGE = 'Loved the tutorial!';
const REQUIRED = 'This field is required.';
const INVALID_EMAIL = 'Enter a valid email address.';
const INVALID_VALUE = 'Enter a valid value.';

/** Everything the handler writes (Powertools logs and EMF metrics). */
let logs: CapturedLogs;

function logLines(): Record<string, unknown>[] {
  return logs.lines();
}

function metricsEmitted(): { name: string; reason?: unknown }[] {
  return logs.metrics().map(({ name, line }) => ({ name, reason: line.reason }));
}

function json(response: APIGatewayProxyStructuredResultV2): Record<string, unknown> {
  return JSON.parse(response.body ?? '') as Record<string, unknown>;
}

function queuedMessages(): Record<string, unknown>[] {
  return sqsMock
    .commandCalls(SendMessageCommand)
    .map((call) => JSON.parse(call.args[0].input.MessageBody ?? '') as Record<string, unknown>);
}

beforeEach(() => {
  dynamodbMock.reset();
  sqsMock.reset();
  dynamodbMock.on(PutItemCommand).resolves({});
  dynamodbMock.on(DeleteItemCommand).resolves({});
  dynamodbMock.on(UpdateItemCommand).resolves({});
  sqsMock.on(SendMessageCommand).resolves({ MessageId: 'message-1' });
  logs = captureLogs();
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('accepted feedback', () => {
  it('records the task PENDING, queues the message and answers 202 with Location', async () => {
    // Prepare
    const event = feedbackPostEvent({ email: EMAIL, message: MESSAGE });

    // Act
    const response = await handler(event);

    // Assess
    expect(response.statusCode).toBe(202);
    const body = json(response);
    expect(body).toEqual({
      taskId: expect.stringMatching(TASK_ID_PATTERN),
      status: 'PENDING',
      statusUrl: `/api/tasks/${body.taskId}`,
    });
    expect(response.headers).toMatchObject({
      Location: `/api/tasks/${body.taskId}`,
      'Cache-Control': 'no-store',
    });
    expect(dynamodbMock).toHaveReceivedCommandWith(PutItemCommand, {
      TableName: 'tasks',
      ConditionExpression: 'attribute_not_exists(taskId)',
    });
    const item = unmarshall(dynamodbMock.commandCalls(PutItemCommand)[0]?.args[0].input.Item ?? {});
    expect(item).toEqual({
      taskId: body.taskId,
      status: 'PENDING',
      attempts: 0,
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      updatedAt: item.createdAt,
      expiresAt: Math.floor(Date.parse(item.createdAt) / 1000) + 30 * 24 * 3600,
    });
    expect(sqsMock).toHaveReceivedCommandWith(SendMessageCommand, {
      QueueUrl: TEST_ENV.FEEDBACK_QUEUE_URL,
    });
    expect(queuedMessages()).toEqual([
      { taskId: body.taskId, email: EMAIL, message: MESSAGE, createdAt: item.createdAt },
    ]);
    expect(dynamodbMock).not.toHaveReceivedCommand(DeleteItemCommand);
    expect(metricsEmitted()).toEqual([{ name: 'FeedbackAccepted', reason: undefined }]);
  });

  it('writes the record before it sends the message (a message never exists without its record)', async () => {
    // Prepare
    let sentBeforeRecordWritten: boolean | undefined;
    dynamodbMock.on(PutItemCommand).callsFake(async () => {
      await new Promise((resolve) => setImmediate(resolve));
      sentBeforeRecordWritten = sqsMock.commandCalls(SendMessageCommand).length > 0;
      return {};
    });

    // Act
    const response = await handler(feedbackPostEvent({ email: EMAIL, message: MESSAGE }));

    // Assess
    expect(response.statusCode).toBe(202);
    expect(sentBeforeRecordWritten).toBe(false);
    expect(sqsMock).toHaveReceivedCommandTimes(SendMessageCommand, 1);
  });

  it('queues an internationalized domain in its ASCII form', async () => {
    // Act
    const response = await handler(feedbackPostEvent({ email: 'jan@bücher.de', message: MESSAGE }));

    // Assess
    expect(response.statusCode).toBe(202);
    expect(queuedMessages()).toMatchObject([{ email: 'jan@xn--bcher-kva.de' }]);
  });

  it('accepts an HTML form post (urlencoded) from a script', async () => {
    // Prepare
    const event = feedbackPostEvent('email=visitor%40example.com&message=Hello+world%21+%F0%9F%98%80', {
      headers: { accept: 'application/json' },
    });

    // Act
    const response = await handler(event);

    // Assess
    expect(response.statusCode).toBe(202);
    expect(queuedMessages()).toMatchObject([{ email: EMAIL, message: 'Hello world! 😀' }]);
  });

  it('accepts a base64-encoded body', async () => {
    // Prepare
    const event = feedbackPostEvent(`email=${encodeURIComponent(EMAIL)}&message=Gr%C3%BC%C3%9Fe`, {
      base64: true,
    });

    // Act
    const response = await handler(event);

    // Assess
    expect(response.statusCode).toBe(202);
    expect(queuedMessages()).toMatchObject([{ email: EMAIL, message: 'Grüße' }]);
  });

  it('decodes the body with the charset of its Content-Type', async () => {
    // Prepare
    const event = feedbackPostEvent(
      { email: EMAIL, message: 'Ça marche très bien' },
      { base64: true, encoding: 'latin1', contentType: 'application/json; charset=iso-8859-1' },
    );

    // Act
    const response = await handler(event);

    // Assess
    expect(response.statusCode).toBe(202);
    expect(queuedMessages()).toMatchObject([{ message: 'Ça marche très bien' }]);
  });

  it('queues the cleaned values and ignores unknown fields', async () => {
    // Prepare
    const event = feedbackPostEvent({
      email: `  ${EMAIL} `,
      message: `\n ${MESSAGE}  `,
      nickname: 'Ann',
      isAdmin: true,
    });

    // Act
    const response = await handler(event);

    // Assess
    expect(response.statusCode).toBe(202);
    const [message] = queuedMessages();
    expect(Object.keys(message ?? {}).sort()).toEqual(['createdAt', 'email', 'message', 'taskId']);
    expect(message).toMatchObject({ email: EMAIL, message: MESSAGE });
  });

  it('escapes the characters SQS refuses so that the message is sent intact', async () => {
    // Prepare
    const text = 'odd \uFFFF \uFFFE \u0001 end';

    // Act
    const response = await handler(feedbackPostEvent({ email: EMAIL, message: text }));

    // Assess
    expect(response.statusCode).toBe(202);
    const body = sqsMock.commandCalls(SendMessageCommand)[0]?.args[0].input.MessageBody ?? '';
    for (const refused of ['\uFFFE', '\uFFFF', '\u0001']) expect(body).not.toContain(refused);
    expect(JSON.parse(body)).toMatchObject({ message: text });
  });

  it('never logs the address or the message, and correlates the log by task id', async () => {
    // Prepare
    const secretEmail = 'very.private@example.com';
    const secretMessage = 'my secret words';

    // Act
    const response = await handler(feedbackPostEvent({ email: secretEmail, message: secretMessage }));

    // Assess
    const all = logs.text();
    expect(all).not.toContain(secretEmail);
    expect(all).not.toContain(secretMessage);
    expect(logLines()).toContainEqual(
      expect.objectContaining({ message: 'Feedback accepted', taskId: json(response).taskId }),
    );
  });

  it('queues the optional name, and never writes it to the record or the logs', async () => {
    // Prepare
    const name = 'Ada Secret-Name';

    // Act
    const response = await handler(feedbackPostEvent({ name: ` ${name} `, email: EMAIL, message: MESSAGE }));

    // Assess
    expect(response.statusCode).toBe(202);
    expect(queuedMessages()).toMatchObject([{ name, email: EMAIL, message: MESSAGE }]);
    const item = dynamodbMock.commandCalls(PutItemCommand)[0]?.args[0].input.Item;
    expect(JSON.stringify(item)).not.toContain(name);
    expect(logs.text()).not.toContain(name);
  });

  it("does not carry a task id over to the next invocation's logs", async () => {
    // Prepare
    await handler(feedbackPostEvent({ email: EMAIL, message: MESSAGE }));
    logs.clear();

    // Act
    await handler(feedbackPostEvent({ email: 'nope', message: MESSAGE }));

    // Assess
    const rejected = logLines().find((line) => line.message === 'Feedback rejected');
    expect(rejected).toBeDefined();
    expect(rejected).not.toHaveProperty('taskId');
  });
});

describe('browser navigation (no JavaScript)', () => {
  it('answers 303 See Other to the status URL for a form post that accepts HTML', async () => {
    // Prepare
    const event = feedbackPostEvent(`email=${encodeURIComponent(EMAIL)}&message=Hi&website=`, {
      headers: { accept: BROWSER_ACCEPT },
    });

    // Act
    const response = await handler(event);

    // Assess
    expect(response.statusCode).toBe(303);
    expect(response.headers?.Location).toMatch(/^\/api\/tasks\/[0-9a-f-]{36}$/);
    expect(queuedMessages()).toHaveLength(1);
    expect(response.headers?.Location).toBe(`/api/tasks/${queuedMessages()[0]?.taskId}`);
  });

  it('answers JSON 202 to a JSON post, whatever it accepts', async () => {
    // Act
    const response = await handler(
      feedbackPostEvent({ email: EMAIL, message: MESSAGE }, { headers: { accept: BROWSER_ACCEPT } }),
    );

    // Assess
    expect(response.statusCode).toBe(202);
  });

  it('shows the form again with the typed values (escaped) and the errors, for an invalid navigation', async () => {
    // Prepare
    const event = feedbackPostEvent('email=%3Cscript%3E&message=My+long+text%0Ahere&website=', {
      headers: { accept: BROWSER_ACCEPT },
    });

    // Act
    const response = await handler(event);

    // Assess
    expect(response.statusCode).toBe(400);
    expect(response.headers?.['Content-Type']).toBe('text/html; charset=utf-8');
    expect(response.body).toContain('<label for="email">Email address</label>');
    expect(response.body).toContain('value="&lt;script&gt;"');
    expect(response.body).toContain(`<p id="email-error" class="field-error">${INVALID_EMAIL}</p>`);
    expect(response.body).toContain('My long text\nhere</textarea>');
    expect(response.body).not.toContain('id="message-error"');
    expect(response.body).not.toMatch(/<script|<style|style=/i);
    expect(sqsMock).not.toHaveReceivedCommand(SendMessageCommand);
  });
});

describe('invalid feedback', () => {
  const tooLongEmail = `${'a'.repeat(64)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}.com`;
  it.each([
    ['email missing', { message: MESSAGE }, { email: [REQUIRED] }],
    ['email blank', { email: '  ', message: MESSAGE }, { email: [REQUIRED] }],
    ['email invalid', { email: 'visitor@', message: MESSAGE }, { email: [INVALID_EMAIL] }],
    ['email with a space', { email: 'visi tor@example.com', message: MESSAGE }, { email: [INVALID_EMAIL] }],
    [
      'email with CR/LF (header injection)',
      { email: `${EMAIL}\r\nBcc: victim@example.org`, message: MESSAGE },
      { email: [INVALID_EMAIL] },
    ],
    ['email with a NUL', { email: `${EMAIL}\u0000`, message: MESSAGE }, { email: [INVALID_EMAIL] }],
    [
      'email too long',
      { email: tooLongEmail, message: MESSAGE },
      { email: ['Ensure this value has at most 254 characters (it has 258).'] },
    ],
    ['message missing', { email: EMAIL }, { message: [REQUIRED] }],
    ['message blank after trimming', { email: EMAIL, message: ' \n\t ' }, { message: [REQUIRED] }],
    [
      'message too long',
      { email: EMAIL, message: 'x'.repeat(5001) },
      { message: ['Ensure this value has at most 5000 characters (it has 5001).'] },
    ],
    [
      'message too long in code points',
      { email: EMAIL, message: '🙂'.repeat(5003) },
      { message: ['Ensure this value has at most 5000 characters (it has 5003).'] },
    ],
    ['both missing', {}, { email: [REQUIRED], message: [REQUIRED] }],
    ['a lone surrogate in the message', { email: EMAIL, message: 'x \ud800' }, { message: [INVALID_VALUE] }],
    [
      'a lone surrogate in the email',
      { email: `${EMAIL}\udfff`, message: MESSAGE },
      { email: [INVALID_EMAIL] },
    ],
    [
      'an encoded-word in the email',
      { email: '=?utf-8?q?x?=@example.com', message: MESSAGE },
      { email: [INVALID_EMAIL] },
    ],
    [
      'a user part over 64 characters',
      { email: `${'u'.repeat(65)}@example.com`, message: MESSAGE },
      { email: [INVALID_EMAIL] },
    ],
  ])('400 invalid_feedback: %s', async (_case, input, fields) => {
    // Act
    const response = await handler(feedbackPostEvent(input));

    // Assess
    expect(response.statusCode).toBe(400);
    expect(json(response)).toEqual({ error: 'invalid_feedback', fields });
    expect(dynamodbMock).not.toHaveReceivedCommand(PutItemCommand);
    expect(sqsMock).not.toHaveReceivedCommand(SendMessageCommand);
    expect(metricsEmitted()).toEqual([{ name: 'FeedbackRejected', reason: 'invalid_feedback' }]);
  });

  it('gives the same texts for a form post', async () => {
    // Act
    const response = await handler(feedbackPostEvent('email=nope&message=+'));

    // Assess
    expect(response.statusCode).toBe(400);
    expect(json(response)).toEqual({
      error: 'invalid_feedback',
      fields: { email: [INVALID_EMAIL], message: [REQUIRED] },
    });
  });
});

describe('bodies that cannot be read', () => {
  it('400 malformed_body for invalid JSON', async () => {
    // Act
    const response = await handler(
      feedbackPostEvent('{"email": "a@example.com",', { contentType: 'application/json' }),
    );

    // Assess
    expect(response.statusCode).toBe(400);
    expect(json(response)).toEqual({ error: 'malformed_body', message: 'The body is not valid JSON.' });
    expect(sqsMock).not.toHaveReceivedCommand(SendMessageCommand);
    expect(metricsEmitted()).toEqual([{ name: 'FeedbackRejected', reason: 'malformed_body' }]);
  });

  it('400 malformed_body for a JSON body that is not an object', async () => {
    // Act
    const response = await handler(
      feedbackPostEvent('["a@example.com"]', { contentType: 'application/json' }),
    );

    // Assess
    expect(response.statusCode).toBe(400);
    expect(json(response)).toEqual({ error: 'malformed_body', message: 'The body must be a JSON object.' });
  });

  it('413 for a body over 64 KiB', async () => {
    // Act
    const response = await handler(feedbackPostEvent({ email: EMAIL, message: 'x'.repeat(70_000) }));

    // Assess
    expect(response.statusCode).toBe(413);
    expect(json(response)).toEqual({
      error: 'body_too_large',
      message: 'The body is larger than 65536 bytes.',
    });
    expect(dynamodbMock).not.toHaveReceivedCommand(PutItemCommand);
    expect(sqsMock).not.toHaveReceivedCommand(SendMessageCommand);
    expect(metricsEmitted()).toEqual([{ name: 'FeedbackRejected', reason: 'body_too_large' }]);
  });

  it.each([['text/plain'], ['multipart/form-data; boundary=abc'], [null]])(
    '415 for content type %s',
    async (contentType) => {
      // Act
      const response = await handler(feedbackPostEvent(`email=${EMAIL}&message=Hi`, { contentType }));

      // Assess
      expect(response.statusCode).toBe(415);
      expect(json(response)).toMatchObject({ error: 'unsupported_media_type' });
      expect(sqsMock).not.toHaveReceivedCommand(SendMessageCommand);
      expect(metricsEmitted()).toEqual([{ name: 'FeedbackRejected', reason: 'unsupported_media_type' }]);
    },
  );
});

describe('honeypot', () => {
  it('answers a bot as if accepted, with a task record whose status URL answers, and queues nothing', async () => {
    // Act
    const response = await handler(
      feedbackPostEvent({ email: EMAIL, message: MESSAGE, website: 'http://spam.example' }),
    );

    // Assess
    expect(response.statusCode).toBe(202);
    const body = json(response);
    expect(body).toEqual({
      taskId: expect.stringMatching(TASK_ID_PATTERN),
      status: 'PENDING',
      statusUrl: `/api/tasks/${body.taskId}`,
    });
    expect(response.headers?.Location).toBe(body.statusUrl);
    const item = unmarshall(dynamodbMock.commandCalls(PutItemCommand)[0]?.args[0].input.Item ?? {});
    expect(item).toMatchObject({ taskId: body.taskId, status: 'PENDING', attempts: 0, honeypot: true });
    expect(item).not.toHaveProperty('email');
    expect(item).not.toHaveProperty('message');
    expect(sqsMock).not.toHaveReceivedCommand(SendMessageCommand);
    expect(metricsEmitted()).toEqual([{ name: 'FeedbackRejected', reason: 'honeypot' }]);
  });

  it('answers a navigating bot with the usual 303 to a status URL that answers', async () => {
    // Act
    const response = await handler(
      feedbackPostEvent(`email=${encodeURIComponent(EMAIL)}&message=Hi&website=buy+now`, {
        headers: { accept: BROWSER_ACCEPT },
      }),
    );

    // Assess
    expect(response.statusCode).toBe(303);
    const item = unmarshall(dynamodbMock.commandCalls(PutItemCommand)[0]?.args[0].input.Item ?? {});
    expect(response.headers?.Location).toBe(`/api/tasks/${item.taskId}`);
    expect(sqsMock).not.toHaveReceivedCommand(SendMessageCommand);
  });

  it('validates a bot like anyone (the honeypot is looked at after validation)', async () => {
    // Act
    const response = await handler(feedbackPostEvent({ email: 'x', message: '', website: 'buy now' }));

    // Assess
    expect(response.statusCode).toBe(400);
    expect(json(response)).toEqual({
      error: 'invalid_feedback',
      fields: { email: [INVALID_EMAIL], message: [REQUIRED] },
    });
    expect(dynamodbMock).not.toHaveReceivedCommand(PutItemCommand);
  });

  it('answers a bot 503 like anyone when the table is down', async () => {
    // Prepare
    dynamodbMock.on(PutItemCommand).rejects(new Error('table down'));

    // Act
    const response = await handler(feedbackPostEvent({ email: EMAIL, message: MESSAGE, website: 'x' }));

    // Assess
    expect(response.statusCode).toBe(503);
    expect(response.headers?.['Retry-After']).toBe('5');
  });
});

describe('cross-site posts', () => {
  const HOST = 'feedback.example.com';
  const post = (
    headers: Record<string, string>,
    body: object | string = { email: EMAIL, message: MESSAGE },
  ) => feedbackPostEvent(body, { headers: { host: HOST, ...headers } });

  it.each([
    ["another site's form post", { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' }],
    ['an older browser with a foreign Origin', { origin: 'https://evil.example' }],
  ])('refuses %s with 403 cross_site, and records and queues nothing', async (_case, headers) => {
    // Act
    const response = await handler(post(headers));

    // Assess
    expect(response.statusCode).toBe(403);
    expect(json(response)).toEqual({ error: 'cross_site', message: expect.any(String) });
    expect(dynamodbMock).not.toHaveReceivedCommand(PutItemCommand);
    expect(sqsMock).not.toHaveReceivedCommand(SendMessageCommand);
    expect(metricsEmitted()).toEqual([{ name: 'FeedbackRejected', reason: 'cross_site' }]);
  });

  it("answers another site's plain form post (a navigation) with a page", async () => {
    // Act
    const response = await handler(
      post(
        { 'sec-fetch-site': 'cross-site', origin: 'null', accept: BROWSER_ACCEPT },
        `email=${encodeURIComponent(EMAIL)}&message=Hi`,
      ),
    );

    // Assess
    expect(response.statusCode).toBe(403);
    expect(response.headers?.['Content-Type']).toBe('text/html; charset=utf-8');
    expect(response.body).toContain('Feedback can only be sent from our own page.');
  });

  it.each([
    ['the page itself', { 'sec-fetch-site': 'same-origin', origin: `https://${HOST}` }],
    ['curl (neither header)', {}],
    ['an older browser on the same host', { origin: `https://${HOST}` }],
  ])('accepts %s', async (_case, headers) => {
    expect((await handler(post(headers))).statusCode).toBe(202);
  });

  it('accepts a post from an origin in ALLOWED_ORIGINS', async () => {
    // Prepare
    const allowing = await loadSubmit({ ALLOWED_ORIGINS: 'https://partner.example,https://other.example' });

    // Act
    const partner = await allowing(
      post({ 'sec-fetch-site': 'cross-site', origin: 'https://partner.example' }),
    );
    const stranger = await allowing(post({ 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' }));

    // Assess
    expect(partner.statusCode).toBe(202);
    expect(stranger.statusCode).toBe(403);
  });

  it('fails at load on an ALLOWED_ORIGINS entry that is no origin', async () => {
    await expect(loadSubmit({ ALLOWED_ORIGINS: 'partner.example' })).rejects.toThrow(/ALLOWED_ORIGINS/);
  });
});

describe('record, queue, then mark queued', () => {
  it('marks the record queued once its message is, so that a record without the mark was never queued', async () => {
    // Prepare
    dynamodbMock.on(UpdateItemCommand).callsFake(() => {
      expect(sqsMock).toHaveReceivedCommand(SendMessageCommand);
      return {};
    });

    // Act
    const response = await handler(feedbackPostEvent({ email: EMAIL, message: MESSAGE }));

    // Assess
    expect(response.statusCode).toBe(202);
    const { taskId } = json(response);
    expect(dynamodbMock).toHaveReceivedCommandWith(UpdateItemCommand, {
      TableName: 'tasks',
      Key: { taskId: { S: String(taskId) } },
      UpdateExpression: 'SET #queuedAt = :queuedAt',
      ConditionExpression: 'attribute_exists(taskId)',
    });
    const record = unmarshall(dynamodbMock.commandCalls(PutItemCommand)[0]?.args[0].input.Item ?? {});
    expect(record).not.toHaveProperty('queuedAt');
  });

  it('still answers 202 when the mark cannot be written: the message is queued all the same', async () => {
    // Prepare
    dynamodbMock.on(UpdateItemCommand).rejects(new Error('table down'));

    // Act
    const response = await handler(feedbackPostEvent({ email: EMAIL, message: MESSAGE }));

    // Assess
    expect(response.statusCode).toBe(202);
    expect(logLines()).toContainEqual(
      expect.objectContaining({ level: 'WARN', message: 'Queued task not marked queued' }),
    );
  });

  it('marks nothing when the message was not queued', async () => {
    // Prepare
    sqsMock.on(SendMessageCommand).rejects(new Error('queue down'));

    // Act
    const response = await handler(feedbackPostEvent({ email: EMAIL, message: MESSAGE }));

    // Assess
    expect(response.statusCode).toBe(503);
    expect(dynamodbMock).not.toHaveReceivedCommand(UpdateItemCommand);
  });
});

describe('outages: 503 with Retry-After, nothing half-done left behind', () => {
  it('queue down: removes the PENDING record it wrote', async () => {
    // Prepare
    sqsMock.on(SendMessageCommand).rejects(new Error('connect ECONNREFUSED'));

    // Act
    const response = await handler(feedbackPostEvent({ email: EMAIL, message: MESSAGE }));

    // Assess
    expect(response.statusCode).toBe(503);
    expect(response.headers?.['Retry-After']).toBe('5');
    expect(json(response)).toMatchObject({ error: 'service_unavailable' });
    const taskId = unmarshall(dynamodbMock.commandCalls(PutItemCommand)[0]?.args[0].input.Item ?? {}).taskId;
    expect(dynamodbMock).toHaveReceivedCommandWith(DeleteItemCommand, {
      TableName: 'tasks',
      Key: { taskId: { S: taskId } },
      ConditionExpression: '#status = :pending',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':pending': { S: 'PENDING' } },
    });
    expect(metricsEmitted()).toEqual([{ name: 'FeedbackRejected', reason: 'unavailable' }]);
  });

  it('queue down and the task already moved on (the message got through after all): keeps the record', async () => {
    // Prepare
    sqsMock.on(SendMessageCommand).rejects(new Error('socket hang up'));
    dynamodbMock
      .on(DeleteItemCommand)
      .rejects(
        new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }),
      );

    // Act
    const response = await handler(feedbackPostEvent({ email: EMAIL, message: MESSAGE }));

    // Assess
    expect(response.statusCode).toBe(503);
    expect(logLines()).toContainEqual(
      expect.objectContaining({ message: 'Unqueued task already moved on; kept' }),
    );
  });

  it('queue down and the removal fails too: still 503, logged', async () => {
    // Prepare
    sqsMock.on(SendMessageCommand).rejects(new Error('queue down'));
    dynamodbMock.on(DeleteItemCommand).rejects(new Error('table down'));

    // Act
    const response = await handler(feedbackPostEvent({ email: EMAIL, message: MESSAGE }));

    // Assess
    expect(response.statusCode).toBe(503);
    expect(logLines()).toContainEqual(
      expect.objectContaining({
        level: 'ERROR',
        message: 'Unqueued task not removed; it stays PENDING until it expires',
      }),
    );
  });

  it.each([
    ['table down: 503 and nothing queued', false],
    ['both down: 503 and nothing queued', true],
  ])('%s', async (_case, queueDown) => {
    // Prepare
    dynamodbMock.on(PutItemCommand).rejects(new Error('table down'));
    if (queueDown) sqsMock.on(SendMessageCommand).rejects(new Error('queue down'));

    // Act
    const response = await handler(feedbackPostEvent({ email: EMAIL, message: MESSAGE }));

    // Assess
    expect(response.statusCode).toBe(503);
    expect(response.headers?.['Retry-After']).toBe('5');
    expect(json(response)).toMatchObject({ error: 'service_unavailable' });
    expect(sqsMock).not.toHaveReceivedCommand(SendMessageCommand);
    expect(dynamodbMock).not.toHaveReceivedCommand(DeleteItemCommand);
    expect(metricsEmitted()).toEqual([{ name: 'FeedbackRejected', reason: 'unavailable' }]);
  });

  it('a browser navigation gets an HTML 503 page with Retry-After', async () => {
    // Prepare
    sqsMock.on(SendMessageCommand).rejects(new Error('queue down'));

    // Act
    const response = await handler(
      feedbackPostEvent(`email=${encodeURIComponent(EMAIL)}&message=Hi`, {
        headers: { accept: BROWSER_ACCEPT },
      }),
    );

    // Assess
    expect(response.statusCode).toBe(503);
    expect(response.headers).toMatchObject({
      'Content-Type': 'text/html; charset=utf-8',
      'Retry-After': '5',
    });
  });

  it('never logs the address or the message on the error path', async () => {
    // Prepare
    sqsMock.on(SendMessageCommand).rejects(new Error('queue down'));

    // Act
    await handler(feedbackPostEvent({ email: 'hidden@example.com', message: 'hidden words' }));

    // Assess
    expect(logs.text()).not.toMatch(/hidden@example\.com|hidden words/);
  });
});
