/**
 * Property-based test of `POST /api/feedback`: over arbitrary bodies, content types,
 * encodings and headers, with the SDK calls succeeding, the handler always answers 2xx, 3xx or 4xx with a
 * body of the contract's shape, and never queues feedback that breaks a rule.
 */
import { DeleteItemCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { FIELD_NAMES, validateFeedback } from '../../functions/form/fields.ts';
import { characterCount } from '../../functions/form/text-rules.ts';
import { TASK_ID_PATTERN } from '../../functions/task/record.ts';
import { apiEvent, BROWSER_ACCEPT, feedbackPostEvent } from '../helpers/api-event.ts';
import { validFeedback } from '../helpers/feedback.ts';
import { captureLogs, loadHandler } from '../helpers/handlers.ts';

type Handler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;
let handler: Handler;

beforeAll(async () => {
  ({ handler } = await loadHandler<{ handler: Handler }>('submit-feedback'));
});

const dynamodbMock = mockClient(DynamoDBClient);
const sqsMock = mockClient(SQSClient);

/** Percent-encodes every byte outside the unreserved set (lone surrogates become U+FFFD, as in browsers). */
function percentEncode(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const char = String.fromCharCode(byte);
    out += /[A-Za-z0-9*_.-]/.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function formBody(fields: Record<string, unknown>): string {
  return Object.entries(fields)
    .filter(([, value]) => value !== undefined)
    .map(
      ([name, value]) =>
        `${percentEncode(name)}=${percentEncode(typeof value === 'string' ? value : JSON.stringify(value))}`,
    )
    .join('&');
}

const text = fc.oneof(
  { weight: 4, arbitrary: fc.emailAddress() },
  { weight: 4, arbitrary: fc.string({ minLength: 1 }) },
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.string({ unit: 'grapheme', maxLength: 30 }),
  fc.emailAddress(),
  fc.constantFrom(
    '',
    '   ',
    'visitor@example.com',
    ' visitor@example.com\n',
    'visitor@example.com\r\nBcc: victim@example.org',
    'a\u0000b',
    '"quoted"@example.com',
    'user@bücher.de',
    '\uFFFF\ud800',
  ),
  fc.nat(5_100).map((n) => 'x'.repeat(n)),
  fc.nat(300).map((n) => `${'a'.repeat(n)}@example.com`),
);

const fieldValue = fc.oneof(
  { weight: 6, arbitrary: text },
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string(), { maxLength: 2 }),
  fc.dictionary(fc.string(), fc.string(), { maxKeys: 2 }),
);

const fields = fc.record(
  {
    email: fieldValue,
    message: fieldValue,
    website: fc.oneof({ weight: 4, arbitrary: fc.constantFrom('', '   ') }, fieldValue),
    extra: fieldValue,
  },
  { requiredKeys: [] },
);

/** Fields that often pass: a real-looking address and some text, with the adversarial values mixed in. */
const plausibleFields = fc.record(
  {
    email: fc.oneof({ weight: 4, arbitrary: fc.emailAddress() }, text),
    message: fc.oneof(
      { weight: 4, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 200 }) },
      text,
    ),
    website: fc.oneof({ weight: 6, arbitrary: fc.constantFrom('', '   ') }, fieldValue),
  },
  { requiredKeys: ['email', 'message'] },
);

/** A body as the client sent it: built from fields as JSON or a form, or arbitrary text or bytes. */
const anyFields = fc
  .oneof(fields, { weight: 2, arbitrary: plausibleFields })
  .map((value) => validFeedback({ email: undefined, message: undefined, ...value }));
const body = fc.oneof(
  {
    weight: 3,
    arbitrary: anyFields.map((value) => ({
      kind: 'json' as const,
      text: JSON.stringify(value),
      fields: value,
    })),
  },
  {
    weight: 3,
    arbitrary: anyFields.map((value) => ({ kind: 'form' as const, text: formBody(value), fields: value })),
  },
  fc.oneof(fc.string({ unit: 'binary' }), fc.json()).map((value) => ({ kind: 'raw' as const, text: value })),
  fc.nat(70_000).map((n) => ({ kind: 'raw' as const, text: `{"message":"${'y'.repeat(n)}"}` })),
);

const contentType = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.constantFrom(
      'application/json',
      'application/x-www-form-urlencoded',
      'application/json; charset=utf-8',
      'Application/JSON; Charset="UTF-8"',
      'application/x-www-form-urlencoded; charset=iso-8859-1',
      'application/x-www-form-urlencoded;charset=UTF-8',
      'application/json; charset=utf-16le',
    ),
  },
  fc.constantFrom(
    'application/json; charset=bogus',
    'text/plain',
    'multipart/form-data; boundary=x',
    'text/html',
  ),
  fc.string(),
  fc.constant(undefined),
);

const request = fc.record({
  body,
  contentType,
  contentTypeName: fc.constantFrom('content-type', 'Content-Type', 'CONTENT-TYPE'),
  base64: fc.boolean(),
  encoding: fc.constantFrom<BufferEncoding>('utf8', 'latin1', 'utf16le'),
  accept: fc.option(
    fc.oneof(fc.constantFrom(BROWSER_ACCEPT, 'application/json', '*/*', 'text/html'), fc.string()),
  ),
  headers: fc.dictionary(
    fc
      .string({ minLength: 1, maxLength: 20 })
      .filter((name) => !/^(content-type|accept|origin|sec-fetch-site|host|x-forwarded-host)$/i.test(name)),
    fc.string(),
    { maxKeys: 3 },
  ),
});

type Request = typeof request extends fc.Arbitrary<infer T> ? T : never;

function toEvent(input: Request) {
  const headers: Record<string, string> = { ...input.headers };
  if (input.contentType !== undefined) headers[input.contentTypeName] = input.contentType;
  if (input.accept !== null) headers.Accept = input.accept;
  const event = apiEvent({
    method: 'POST',
    path: '/api/feedback',
    body: input.base64 ? Buffer.from(input.body.text, input.encoding).toString('base64') : input.body.text,
    isBase64Encoded: input.base64,
  });
  event.headers = headers;
  return event;
}

const KNOWN_TEXT =
  /^(This field is required\.|Enter a valid email address\.|Enter a valid value\.|Null characters are not allowed\.|Ensure this value has at most (254|5000) characters \(it has \d+\)\.)$/;

/** The contract's shape of each answer. */
function assertContractShape(response: APIGatewayProxyStructuredResultV2): void {
  const headers = response.headers ?? {};
  expect(headers['Cache-Control']).toBe('no-store');
  const isHtml = String(headers['Content-Type']).startsWith('text/html');
  switch (response.statusCode) {
    case 202: {
      const answer = JSON.parse(response.body ?? '');
      expect(Object.keys(answer).sort()).toEqual(['status', 'statusUrl', 'taskId']);
      expect(answer.taskId).toMatch(TASK_ID_PATTERN);
      expect(answer).toEqual({
        taskId: answer.taskId,
        status: 'PENDING',
        statusUrl: `/api/tasks/${answer.taskId}`,
      });
      expect(headers.Location).toBe(answer.statusUrl);
      return;
    }
    case 303:
      expect(String(headers.Location).slice('/api/tasks/'.length)).toMatch(TASK_ID_PATTERN);
      expect(String(headers.Location).startsWith('/api/tasks/')).toBe(true);
      return;
    case 400: {
      if (isHtml) {
        expect(response.body).toMatch(/^<!doctype html>/);
        expect(response.body).not.toMatch(/<script|<style/i);
        return;
      }
      const answer = JSON.parse(response.body ?? '');
      if (answer.error === 'malformed_body') {
        expect(answer).toEqual({ error: 'malformed_body', message: expect.any(String) });
        return;
      }
      expect(answer.error).toBe('invalid_feedback');
      expect(Object.keys(answer).sort()).toEqual(['error', 'fields']);
      const names = Object.keys(answer.fields);
      expect(names.length).toBeGreaterThan(0);
      for (const name of names) {
        expect(FIELD_NAMES).toContain(name);
        expect(answer.fields[name].length).toBeGreaterThan(0);
        for (const message of answer.fields[name]) expect(message).toMatch(KNOWN_TEXT);
      }
      return;
    }
    case 413:
      expect(JSON.parse(response.body ?? '')).toEqual({
        error: 'body_too_large',
        message: expect.any(String),
      });
      return;
    case 415:
      expect(JSON.parse(response.body ?? '')).toEqual({
        error: 'unsupported_media_type',
        message: expect.any(String),
      });
      return;
    default:
      throw new Error(`Unexpected status ${response.statusCode}`);
  }
}

/** An oracle independent of the schema module for what may be queued. */
function assertQueueable(message: { email: unknown; message: unknown }): void {
  expect(typeof message.email).toBe('string');
  expect(typeof message.message).toBe('string');
  const email = message.email as string;
  const text = message.message as string;
  expect(email).not.toMatch(/[\p{Cc}\s]/u);
  expect(email).toMatch(/^[^@]+@[^@]+\.[^@.]+$/);
  expect(characterCount(email)).toBeLessThanOrEqual(254);
  expect(text).toBe(text.trim());
  expect(text).not.toBe('');
  expect(text).not.toContain('\u0000');
  expect(`${email}${text}`).not.toMatch(/\p{Cs}/u);
  expect(characterCount(text)).toBeLessThanOrEqual(5000);
  expect(validateFeedback(validFeedback({ email, message: text }))).toEqual({
    success: true,
    data: validFeedback({ email, message: text }),
  });
}

/** Whether the request certainly carried a filled honeypot (its body is read exactly as generated). */
function certainlyHoneypot(input: Request): boolean {
  if (input.body.kind !== 'json' || input.contentType !== 'application/json') return false;
  if (input.base64 && input.encoding !== 'utf8') return false;
  const website = input.body.fields.website;
  return website !== undefined && website !== null && (typeof website !== 'string' || website.trim() !== '');
}

beforeEach(() => {
  captureLogs();
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('POST /api/feedback over arbitrary requests', () => {
  it('answers 2xx/3xx/4xx in the contract shape and queues only valid feedback', async () => {
    await fc.assert(
      fc.asyncProperty(request, async (input) => {
        // Prepare
        dynamodbMock.reset();
        sqsMock.reset();
        dynamodbMock.on(PutItemCommand).resolves({});
        dynamodbMock.on(DeleteItemCommand).resolves({});
        sqsMock.on(SendMessageCommand).resolves({ MessageId: 'm' });

        // Act
        const response = await handler(toEvent(input));

        // Assess
        expect([202, 303, 400, 413, 415]).toContain(response.statusCode);
        assertContractShape(response);
        const sends = sqsMock.commandCalls(SendMessageCommand);
        const puts = dynamodbMock.commandCalls(PutItemCommand);
        expect(dynamodbMock.commandCalls(DeleteItemCommand)).toHaveLength(0);
        if (response.statusCode !== 202 && response.statusCode !== 303) {
          expect(sends).toHaveLength(0);
          expect(puts).toHaveLength(0);
          return;
        }
        // Every accepted submission has its record; a bot's (honeypot) record is marked and queues nothing.
        expect(puts).toHaveLength(1);
        expect(sends.length).toBeLessThanOrEqual(1);
        const written = unmarshall(puts[0]?.args[0].input.Item ?? {});
        expect(response.headers?.Location).toBe(`/api/tasks/${written.taskId}`);
        expect(written.honeypot === true).toBe(sends.length === 0);
        if (certainlyHoneypot(input)) expect(sends).toHaveLength(0);
        for (const send of sends) {
          const queued = JSON.parse(send.args[0].input.MessageBody ?? '');
          assertQueueable(queued);
          const record = unmarshall(puts[0]?.args[0].input.Item ?? {});
          expect(record.taskId).toBe(queued.taskId);
          expect(record).not.toHaveProperty('email');
          expect(record).not.toHaveProperty('message');
          const location = response.headers?.Location;
          expect(location).toBe(`/api/tasks/${queued.taskId}`);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('never accepts ill-formed UTF-16: a lone surrogate anywhere gets the Django field error', async () => {
    const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code));
    await fc.assert(
      fc.asyncProperty(
        fc.string(),
        loneSurrogate,
        fc.string(),
        fc.constantFrom('email', 'message'),
        async (before, surrogate, after, field) => {
          // Prepare
          dynamodbMock.reset();
          sqsMock.reset();
          const value = `${before}${surrogate}${after}`;
          fc.pre(/\p{Cs}/u.test(value));
          const body = validFeedback({ [field]: value });

          // Act
          const response = await handler(feedbackPostEvent(body));

          // Assess
          expect(response.statusCode).toBe(400);
          const answer = JSON.parse(response.body ?? '');
          const text = field === 'email' ? 'Enter a valid email address.' : 'Enter a valid value.';
          expect(answer.fields[field]).toContain(text);
          expect(sqsMock).not.toHaveReceivedCommand(SendMessageCommand);
          expect(dynamodbMock).not.toHaveReceivedCommand(PutItemCommand);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('under any outage, 202 means recorded and queued, and a 503 leaves no message without its record', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.boolean(),
        fc.boolean(),
        fc.boolean(),
        async (tableDown, queueDown, deleteFails) => {
          // Prepare
          dynamodbMock.reset();
          sqsMock.reset();
          if (tableDown) dynamodbMock.on(PutItemCommand).rejects(new Error('table down'));
          else dynamodbMock.on(PutItemCommand).resolves({});
          if (deleteFails) dynamodbMock.on(DeleteItemCommand).rejects(new Error('table down'));
          else dynamodbMock.on(DeleteItemCommand).resolves({});
          if (queueDown) sqsMock.on(SendMessageCommand).rejects(new Error('queue down'));
          else sqsMock.on(SendMessageCommand).resolves({ MessageId: 'm' });

          // Act
          const response = await handler(feedbackPostEvent(validFeedback()));

          // Assess
          const sends = sqsMock.commandCalls(SendMessageCommand).length;
          const deletes = dynamodbMock.commandCalls(DeleteItemCommand).length;
          if (!tableDown && !queueDown) {
            expect(response.statusCode).toBe(202);
            expect(sends).toBe(1);
            expect(deletes).toBe(0);
            return;
          }
          expect(response.statusCode).toBe(503);
          expect(response.headers?.['Retry-After']).toBe('5');
          if (tableDown) expect(sends).toBe(0);
          else expect(deletes).toBe(1);
        },
      ),
      { numRuns: 30 },
    );
  });
});
