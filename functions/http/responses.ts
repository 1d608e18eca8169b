/**
 * The API handlers' answers (API Gateway HTTP API, payload 2.0): JSON, HTML and redirects, never cached.
 */
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

/** A handler's answer. */
export type HttpResult = APIGatewayProxyStructuredResultV2;

const NO_STORE = { 'Cache-Control': 'no-store' };

/** Seconds a client is asked to wait after a 503 before it tries again (`Retry-After`). */
export const RETRY_AFTER_SECONDS = 5;

/** A JSON answer; API answers are never cached. */
export function jsonResponse(
  statusCode: number,
  body: unknown,
  headers: Record<string, string> = {},
): HttpResult {
  return {
    statusCode,
    headers: { 'Content-Type': 'application/json; charset=utf-8', ...NO_STORE, ...headers },
    body: JSON.stringify(body),
  };
}

/** An HTML answer; API answers are never cached. */
export function htmlResponse(
  statusCode: number,
  html: string,
  headers: Record<string, string> = {},
): HttpResult {
  return {
    statusCode,
    headers: { 'Content-Type': 'text/html; charset=utf-8', ...NO_STORE, ...headers },
    body: html,
  };
}

/** An answer without a body (a redirect). */
export function emptyResponse(statusCode: number, headers: Record<string, string> = {}): HttpResult {
  return { statusCode, headers: { ...NO_STORE, ...headers }, body: '' };
}
