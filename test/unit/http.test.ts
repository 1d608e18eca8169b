import { describe, expect, it } from 'vitest';
import { environmentSource, parseSetting } from '../../functions/config/env.ts';
import {
  allowedOrigins as allowedOriginsSetting,
  parseAllowedOrigins,
} from '../../functions/config/table.ts';
import {
  header,
  isCrossSite,
  parseBody,
  parseMediaType,
  prefersHtml,
} from '../../functions/http/requests.ts';
import { jsonResponse } from '../../functions/http/responses.ts';
import { apiEvent, BROWSER_ACCEPT, feedbackPostEvent } from '../helpers/api-event.ts';

describe('parseBody', () => {
  it('parses a JSON object', () => {
    // Prepare
    const event = feedbackPostEvent({ email: 'a@example.com', message: 'Hi', extra: [1] });

    // Act
    const parsed = parseBody(event);

    // Assess
    expect(parsed).toEqual({
      ok: true,
      type: 'application/json',
      fields: { email: 'a@example.com', message: 'Hi', extra: [1] },
    });
  });

  it('parses a form body: + is a space, percent-escapes are UTF-8, the last repeated field wins', () => {
    // Prepare
    const event = feedbackPostEvent(
      'email=a%40example.com&message=Gr%C3%BC%C3%9Fe+aus+K%C3%B6ln&message=Hallo+%26+tsch%C3%BCss&x',
    );

    // Act
    const parsed = parseBody(event);

    // Assess
    expect(parsed).toEqual({
      ok: true,
      type: 'application/x-www-form-urlencoded',
      fields: { email: 'a@example.com', message: 'Hallo & tschüss', x: '' },
    });
  });

  it('keeps a malformed percent-escape as it is, as browsers do', () => {
    // Act
    const parsed = parseBody(feedbackPostEvent('message=100%+sure%zz'));

    // Assess
    expect(parsed).toMatchObject({ ok: true, fields: { message: '100% sure%zz' } });
  });

  it('does not let a form field named __proto__ change the prototype', () => {
    // Act
    const parsed = parseBody(feedbackPostEvent('__proto__=x&email=a%40example.com'));

    // Assess
    expect(parsed.ok && Object.getPrototypeOf(parsed.fields)).toBe(Object.prototype);
    expect(parsed).toMatchObject({ ok: true, fields: { email: 'a@example.com' } });
  });

  it('decodes a base64 JSON body', () => {
    // Prepare
    const event = feedbackPostEvent({ email: 'a@example.com', message: 'Grüße 😀' }, { base64: true });

    // Act
    const parsed = parseBody(event);

    // Assess
    expect(parsed).toMatchObject({ ok: true, fields: { message: 'Grüße 😀' } });
  });

  it('decodes a base64 form body in its charset (ISO-8859-1)', () => {
    // Prepare
    const latin1 = Buffer.concat([
      Buffer.from('email=a%40example.com&message=Gr'),
      Buffer.from([0xfc]),
      Buffer.from('%DFe'),
    ]);
    const event = apiEvent({
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded; charset=ISO-8859-1' },
      body: latin1.toString('base64'),
      isBase64Encoded: true,
    });

    // Act
    const parsed = parseBody(event);

    // Assess
    expect(parsed).toMatchObject({ ok: true, fields: { email: 'a@example.com', message: 'Grüße' } });
  });

  it('decodes a base64 JSON body in UTF-16LE when the charset says so', () => {
    // Prepare
    const event = feedbackPostEvent(
      { email: 'a@example.com', message: 'Привет' },
      { base64: true, encoding: 'utf16le', contentType: 'application/json; charset="utf-16le"' },
    );

    // Act
    const parsed = parseBody(event);

    // Assess
    expect(parsed).toMatchObject({ ok: true, fields: { message: 'Привет' } });
  });

  it('applies the charset to the percent-escapes of a text form body', () => {
    // Prepare
    const event = feedbackPostEvent('message=Gr%FC%DFe', {
      contentType: 'application/x-www-form-urlencoded;charset=windows-1252',
    });

    // Act
    const parsed = parseBody(event);

    // Assess
    expect(parsed).toMatchObject({ ok: true, fields: { message: 'Grüße' } });
  });

  it('accepts a UTF-8 byte order mark before JSON', () => {
    // Act
    const text = parseBody(feedbackPostEvent('\uFEFF{"message":"Hi"}', { contentType: 'application/json' }));
    const base64 = parseBody(
      feedbackPostEvent('\uFEFF{"message":"Hi"}', { contentType: 'application/json', base64: true }),
    );

    // Assess
    expect(text).toMatchObject({ ok: true, fields: { message: 'Hi' } });
    expect(base64).toMatchObject({ ok: true, fields: { message: 'Hi' } });
  });

  it.each([
    ['invalid JSON', '{"email": ', 'The body is not valid JSON.'],
    ['an empty JSON body', '', 'The body is not valid JSON.'],
    ['a JSON array', '[1, 2]', 'The body must be a JSON object.'],
    ['a JSON string', '"hello"', 'The body must be a JSON object.'],
    ['JSON null', 'null', 'The body must be a JSON object.'],
  ])('answers 400 malformed_body for %s', (_case, body, message) => {
    // Act
    const parsed = parseBody(feedbackPostEvent(body, { contentType: 'application/json' }));

    // Assess
    expect(parsed).toEqual({ ok: false, statusCode: 400, error: 'malformed_body', message });
  });

  it('answers 400 malformed_body for bytes that are not valid in the charset', () => {
    // Prepare
    const json = apiEvent({
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]).toString('base64'),
      isBase64Encoded: true,
    });
    const form = feedbackPostEvent('message=%FF%FE');

    // Act
    const parsedJson = parseBody(json);
    const parsedForm = parseBody(form);

    // Assess
    expect(parsedJson).toEqual({
      ok: false,
      statusCode: 400,
      error: 'malformed_body',
      message: 'The body is not valid utf-8.',
    });
    expect(parsedForm).toMatchObject({ ok: false, statusCode: 400, error: 'malformed_body' });
  });

  it('answers 413 for a body over 64 KiB, counted in decoded bytes', () => {
    // Prepare
    const over = feedbackPostEvent(`message=${'x'.repeat(64 * 1024 - 7)}`);
    const atLimit = feedbackPostEvent(`message=${'x'.repeat(64 * 1024 - 8)}`);
    const multiByte = feedbackPostEvent({ message: 'é'.repeat(33_000) }, { base64: true });

    // Act
    const results = [parseBody(over), parseBody(atLimit), parseBody(multiByte)];

    // Assess
    expect(results.map((result) => (result.ok ? 'ok' : result.statusCode))).toEqual([413, 'ok', 413]);
    expect(results[0]).toEqual({
      ok: false,
      statusCode: 413,
      error: 'body_too_large',
      message: 'The body is larger than 65536 bytes.',
    });
  });

  it.each([
    ['text/plain', 'text/plain'],
    ['multipart/form-data', 'multipart/form-data; boundary=x'],
    ['no content type', null],
    ['a look-alike', 'application/json5'],
  ])('answers 415 for %s', (_case, contentType) => {
    // Act
    const parsed = parseBody(feedbackPostEvent('{}', { contentType }));

    // Assess
    expect(parsed).toEqual({
      ok: false,
      statusCode: 415,
      error: 'unsupported_media_type',
      message: 'Send the feedback as application/json or application/x-www-form-urlencoded.',
    });
  });

  it('answers 415 for a charset the runtime does not know', () => {
    // Act
    const parsed = parseBody(feedbackPostEvent('{}', { contentType: 'application/json; charset=klingon' }));

    // Assess
    expect(parsed).toEqual({
      ok: false,
      statusCode: 415,
      error: 'unsupported_media_type',
      message: 'The charset "klingon" is not supported.',
    });
  });

  it('accepts content types in any case and with extra parameters', () => {
    // Act
    const parsed = parseBody(
      feedbackPostEvent('{}', { contentType: 'Application/JSON; Charset=UTF-8; foo=bar' }),
    );

    // Assess
    expect(parsed).toEqual({ ok: true, type: 'application/json', fields: {} });
  });
});

describe('parseMediaType', () => {
  it('splits type and charset', () => {
    expect(parseMediaType('text/HTML; charset="ISO-8859-1"')).toEqual({
      type: 'text/html',
      charset: 'iso-8859-1',
    });
    expect(parseMediaType('application/json')).toEqual({ type: 'application/json', charset: undefined });
  });
});

describe('prefersHtml', () => {
  it.each([
    [BROWSER_ACCEPT, true],
    ['text/html', true],
    ['application/json', false],
    ['*/*', false],
    ['application/json, text/html;q=0.5', false],
    ['text/html;q=0.9, application/json;q=0.8', true],
    ['text/*, application/json;q=0.5', true],
    ['text/html;q=0', false],
    ['text/html;q=abc', false],
  ])('%s → %s', (accept, expected) => {
    expect(prefersHtml(apiEvent({ headers: { accept } }))).toBe(expected);
  });

  it('is false without an Accept header', () => {
    expect(prefersHtml(apiEvent())).toBe(false);
  });
});

describe('header', () => {
  it('finds a header whatever the case of its name', () => {
    // Prepare
    const event = apiEvent();
    event.headers = { 'Content-Type': 'application/json' };

    // Act & Assess
    expect(header(event, 'content-type')).toBe('application/json');
    expect(header(event, 'accept')).toBeUndefined();
  });
});

describe('responses', () => {
  it('JSON answers are never cached', () => {
    // Act
    const response = jsonResponse(200, { a: 1 }, { Location: '/x' });

    // Assess
    expect(response).toEqual({
      statusCode: 200,
      headers: {
        'Content-Type': 'application/json; charset=utf-8',
        'Cache-Control': 'no-store',
        Location: '/x',
      },
      body: '{"a":1}',
    });
  });
});

describe('isCrossSite', () => {
  const HOST = 'feedback.example.com';
  const post = (headers: Record<string, string>) =>
    feedbackPostEvent({ email: 'a@example.com', message: 'Hi' }, { headers: { host: HOST, ...headers } });

  it.each([
    ['same-origin fetch (Sec-Fetch-Site)', { 'sec-fetch-site': 'same-origin', origin: `https://${HOST}` }],
    ['a request the visitor typed (Sec-Fetch-Site: none)', { 'sec-fetch-site': 'none' }],
    ['curl or a server: neither Origin nor Sec-Fetch-Site', {}],
    ["an older browser: Origin of the request's own host", { origin: `https://${HOST}` }],
    ['the default port written out', { origin: `https://${HOST}`, host: `${HOST}:443` }],
    [
      'behind a proxy: Origin of the forwarded host',
      { origin: 'https://www.example.org', 'x-forwarded-host': 'www.example.org' },
    ],
    [
      'an older browser behind CloudFront: Origin of the viewer host CloudFront set, Host the API',
      {
        origin: `https://${HOST}`,
        host: 'abc123.execute-api.eu-west-1.amazonaws.com',
        'x-viewer-host': HOST,
      },
    ],
    [
      'the local stack (http://localhost:3000)',
      { origin: 'http://localhost:3000', host: 'localhost:3000', 'sec-fetch-site': 'same-origin' },
    ],
  ])('allows %s', (_case, headers) => {
    expect(isCrossSite(post(headers), [])).toBe(false);
  });

  it.each([
    ["another site's form post", { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' }],
    ["another site's no-cors fetch", { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' }],
    [
      'a sibling subdomain (same-site is not same-origin)',
      { 'sec-fetch-site': 'same-site', origin: 'https://blog.example.com' },
    ],
    ['an older browser with a foreign Origin', { origin: 'https://evil.example' }],
    [
      'an older browser behind CloudFront with a foreign Origin',
      {
        origin: 'https://evil.example',
        host: 'abc123.execute-api.eu-west-1.amazonaws.com',
        'x-viewer-host': HOST,
        'x-forwarded-host': 'evil.example',
      },
    ],
    ['an opaque origin (sandboxed frame, data: URL)', { origin: 'null' }],
    ['another port of the same host', { origin: `https://${HOST}:8443` }],
    ['another scheme of the same host', { origin: `http://${HOST}`, host: `${HOST}:443` }],
  ])('refuses %s', (_case, headers) => {
    expect(isCrossSite(post(headers), [])).toBe(true);
  });

  it('allows a cross-site post from an allowed origin, whatever the case of its host', () => {
    // Prepare
    const event = post({ 'sec-fetch-site': 'cross-site', origin: 'https://Partner.example' });

    // Act
    const allowed = parseAllowedOrigins(' https://partner.example , ,https://other.example');

    // Assess
    expect(allowed).toEqual(['https://partner.example', 'https://other.example']);
    expect(isCrossSite(event, allowed)).toBe(false);
    expect(
      isCrossSite(post({ 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' }), allowed),
    ).toBe(true);
  });

  it.each([['partner.example'], ['https://partner.example/path'], ['*']])(
    'refuses the setting entry %s, which is no origin',
    (entry) => {
      expect(() =>
        parseSetting(allowedOriginsSetting, entry, environmentSource('ALLOWED_ORIGINS', false)),
      ).toThrow(`Environment variable ALLOWED_ORIGINS must be a comma-separated list of origins`);
    },
  );

  it('reads an empty setting as no allowed origins', () => {
    expect(parseAllowedOrigins('')).toEqual([]);
  });
});
