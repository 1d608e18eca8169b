/**
 * The HTTP API's Lambda authorizer (simple responses): only requests that came through the site's
 * CloudFront distribution, which adds the `x-origin-verify` header with this stack's secret, reach the
 * handlers. Anyone calling the `execute-api` endpoint directly would skip CloudFront's security headers
 * (and a web ACL on it); API Gateway caches each answer, so this runs about once an hour per value.
 */
import { timingSafeEqual } from 'node:crypto';
import type { APIGatewayRequestSimpleAuthorizerHandlerV2 } from 'aws-lambda';
import { requireSetting } from './config/env.ts';
import { ORIGIN_VERIFY_HEADER } from './config/settings.ts';
import * as setting from './config/table.ts';

const expected = Buffer.from(requireSetting(setting.originSecret));

export const handler: APIGatewayRequestSimpleAuthorizerHandlerV2 = async (event) => {
  const given = Buffer.from(event.headers?.[ORIGIN_VERIFY_HEADER] ?? '');
  return { isAuthorized: given.length === expected.length && timingSafeEqual(given, expected) };
};
