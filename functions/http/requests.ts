/**
 * What the API handlers read of a request (API Gateway HTTP API, payload 2.0): headers, content
 * negotiation, the body (JSON and HTML form posts, base64 bodies, charsets, the size limit) and the
 * cross-site check. Their answers are built in `responses.ts`, the HTML in `views.ts`.
 */
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { limits, VIEWER_HOST_HEADER } from '../config/settings.ts';
import { originOf } from '../config/table.ts';

/** The value of a request header, whatever the case of its name (API Gateway lower-cases them; others may not). */
export function header(event: APIGatewayProxyEventV2, name: string): string | undefined {
  const headers = event.headers ?? {};
  const wanted = name.toLowerCase();
  for (const key of Object.keys(headers)) {
    if (key.toLowerCase() === wanted) return headers[key];
  }
  return undefined;
}

/** A media type without its parameters, and its lower-cased `charset` parameter if any. */
export interface MediaType {
  type: string;
  charset: string | undefined;
}

/** Parses a `Content-Type` value (`type/subtype; charset="utf-8"`). */
export function parseMediaType(value: string): MediaType {
  const [type = '', ...parameters] = value.split(';');
  let charset: string | undefined;
  for (const parameter of parameters) {
    const eq = parameter.indexOf('=');
    if (eq < 0 || parameter.slice(0, eq).trim().toLowerCase() !== 'charset') continue;
    charset = parameter
      .slice(eq + 1)
      .trim()
      .replace(/^"(.*)"$/, '$1')
      .toLowerCase();
  }
  return { type: type.trim().toLowerCase(), charset };
}

/**
 * The quality an `Accept` header gives a media type: that of its most specific matching range
 * (`text/html` before `text/*` before `*\/*`), 0 when none matches.
 */
function acceptQuality(accept: string, type: string): number {
  const [major] = type.split('/');
  let best = -1;
  let quality = 0;
  for (const entry of accept.split(',')) {
    const [range = '', ...parameters] = entry.split(';').map((part) => part.trim().toLowerCase());
    const specificity = range === type ? 2 : range === `${major}/*` ? 1 : range === '*/*' ? 0 : -1;
    if (specificity <= best) continue;
    best = specificity;
    const q = parameters.find((parameter) => parameter.startsWith('q='));
    const parsed = q === undefined ? 1 : Number(q.slice(2));
    quality = Number.isFinite(parsed) ? Math.min(Math.max(parsed, 0), 1) : 0;
  }
  return quality;
}

/**
 * Whether the request's `Accept` header prefers `text/html` to `application/json`: true for a browser's
 * navigation (`text/html,…,*\/*;q=0.8`), false for `fetch`, curl (`*\/*`) and API clients.
 */
export function prefersHtml(event: APIGatewayProxyEventV2): boolean {
  const accept = header(event, 'accept');
  if (accept === undefined) return false;
  const html = acceptQuality(accept, 'text/html');
  return html > 0 && html > acceptQuality(accept, 'application/json');
}

/** JSON, one of the two media types `POST /api/feedback` accepts. */
export const JSON_TYPE = 'application/json';
/** An HTML form post, the other media type `POST /api/feedback` accepts. */
export const FORM_TYPE = 'application/x-www-form-urlencoded';

/** The `error` of an answer to a body that could not be read. */
export type BodyError = 'malformed_body' | 'body_too_large' | 'unsupported_media_type';

/** A parsed request body, or the error answer's status and texts. */
export type ParsedBody =
  | { ok: true; type: typeof JSON_TYPE | typeof FORM_TYPE; fields: Record<string, unknown> }
  | { ok: false; statusCode: 400 | 413 | 415; error: BodyError; message: string };

function malformed(message: string): ParsedBody {
  return { ok: false, statusCode: 400, error: 'malformed_body', message };
}

function unsupported(message: string): ParsedBody {
  return { ok: false, statusCode: 415, error: 'unsupported_media_type', message };
}

/** A fatal decoder for a charset label, or undefined when the runtime does not know the charset. */
function decoderFor(charset: string): TextDecoder | undefined {
  try {
    return new TextDecoder(charset, { fatal: true });
  } catch {
    return undefined;
  }
}

const HEX = /^[0-9a-fA-F]{2}$/;

/**
 * Decodes one name or value of a form body: `+` is a space, `%XX` a byte, and the bytes are decoded
 * with the body's charset. `bytewise` says that every character of `text` is itself one byte of the
 * body (a base64 body read as latin1); otherwise `text` is already text and only the percent-escapes
 * are bytes.
 */
function decodeFormComponent(text: string, decoder: TextDecoder, bytewise: boolean): string {
  const bytes: number[] = [];
  let out = '';
  const flush = () => {
    if (bytes.length === 0) return;
    out += decoder.decode(Uint8Array.from(bytes));
    bytes.length = 0;
  };
  for (let i = 0; i < text.length; i++) {
    const char = text.charAt(i);
    if (char === '%' && HEX.test(text.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (bytewise) {
      bytes.push(char === '+' ? 0x20 : text.charCodeAt(i));
    } else {
      flush();
      out += char === '+' ? ' ' : char;
    }
  }
  flush();
  return out;
}

/**
 * Parses an `application/x-www-form-urlencoded` body as the WHATWG URL standard does, but with the
 * body's charset. A repeated field keeps its last value, as Django's `QueryDict` does.
 */
function parseForm(text: string, decoder: TextDecoder, bytewise: boolean): Record<string, string> {
  const fields = new Map<string, string>();
  for (const pair of text.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const name = eq < 0 ? pair : pair.slice(0, eq);
    const value = eq < 0 ? '' : pair.slice(eq + 1);
    fields.set(decodeFormComponent(name, decoder, bytewise), decodeFormComponent(value, decoder, bytewise));
  }
  return Object.fromEntries(fields);
}

/**
 * Reads the body of a `POST`: JSON (an object) or an HTML form post, plain or base64-encoded (API
 * Gateway encodes non-text bodies), decoded with the `charset` of its `Content-Type` (UTF-8 when none).
 * Over `limits.maxBodyBytes` decoded bytes → 413; another media type or an unknown charset → 415;
 * a body that cannot be parsed (bad JSON, not an object, bytes invalid in the charset) → 400.
 * A body that arrives as text (not base64) is taken as the text API Gateway decoded; its charset then
 * only applies to the form body's percent-escapes.
 */
export function parseBody(event: APIGatewayProxyEventV2): ParsedBody {
  const body = event.body ?? '';
  const encoding = event.isBase64Encoded ? 'base64' : 'utf8';
  if (Buffer.byteLength(body, encoding) > limits.maxBodyBytes) {
    return {
      ok: false,
      statusCode: 413,
      error: 'body_too_large',
      message: `The body is larger than ${limits.maxBodyBytes} bytes.`,
    };
  }
  const contentType = header(event, 'content-type');
  const { type, charset = 'utf-8' } = parseMediaType(contentType ?? '');
  if (type !== JSON_TYPE && type !== FORM_TYPE) {
    return unsupported(`Send the feedback as ${JSON_TYPE} or ${FORM_TYPE}.`);
  }
  const decoder = decoderFor(charset);
  if (decoder === undefined) return unsupported(`The charset "${charset}" is not supported.`);
  const bytes = event.isBase64Encoded ? Buffer.from(body, 'base64') : undefined;
  try {
    if (type === FORM_TYPE) {
      const fields =
        bytes === undefined
          ? parseForm(body, decoder, false)
          : parseForm(bytes.toString('latin1'), decoder, true);
      return { ok: true, type, fields };
    }
    const text = bytes === undefined ? body.replace(/^\uFEFF/, '') : decoder.decode(bytes);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return malformed('The body is not valid JSON.');
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      return malformed('The body must be a JSON object.');
    }
    return { ok: true, type, fields: parsed as Record<string, unknown> };
  } catch {
    return malformed(`The body is not valid ${charset}.`);
  }
}

/**
 * Whether a request comes from another site's page (its form post or `fetch`), which must not be able
 * to make this API send mail in a visitor's name. Allowed: an `Origin` in `allowedOrigins`; otherwise
 * `Sec-Fetch-Site: same-origin` or `none` (typed or bookmarked) where the browser sends it; otherwise
 * an `Origin` whose host is the request's own (as CloudFront saw it, `X-Viewer-Host`, else
 * `X-Forwarded-Host` or `Host`); and a request with
 * neither header (curl, servers: no visitor's browser is abused). A page cannot forge these headers: a
 * browser sets them, and a script's custom headers would need a CORS preflight this API does not grant.
 */
export function isCrossSite(event: APIGatewayProxyEventV2, allowedOrigins: readonly string[]): boolean {
  const originHeader = header(event, 'origin');
  const origin = originHeader === undefined ? undefined : originOf(originHeader);
  if (origin !== undefined && allowedOrigins.includes(origin)) return false;
  const site = header(event, 'sec-fetch-site')?.trim().toLowerCase();
  if (site !== undefined) return site !== 'same-origin' && site !== 'none';
  if (originHeader === undefined) return false;
  if (origin === undefined) return true;
  const forwarded =
    header(event, VIEWER_HOST_HEADER) ?? header(event, 'x-forwarded-host') ?? header(event, 'host');
  const host = (forwarded ?? '').split(',')[0]?.trim() ?? '';
  const { protocol } = new URL(origin);
  // Through the scheme of the origin, so that `example.com:443` and `example.com` compare equal.
  return host === '' || originOf(`${protocol}//${host}`) !== origin;
}
