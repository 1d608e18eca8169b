import type { APIGatewayRequestAuthorizerEventV2, Context } from 'aws-lambda';
import { beforeAll, describe, expect, it, vi } from 'vitest';

const SECRET = '3f1c2e9a-0000-4000-8000-1234567890ab';
let handler: typeof import('../../functions/origin-check.ts').handler;

beforeAll(async () => {
  vi.stubEnv('ORIGIN_SECRET', SECRET);
  ({ handler } = await import('../../functions/origin-check.ts'));
});

function request(headers: Record<string, string>): APIGatewayRequestAuthorizerEventV2 {
  return { headers } as unknown as APIGatewayRequestAuthorizerEventV2;
}

async function check(headers: Record<string, string>) {
  return handler(request(headers), {} as Context, () => undefined);
}

describe('origin-check', () => {
  it("lets through a request with CloudFront's secret", async () => {
    expect(await check({ 'x-origin-verify': SECRET })).toEqual({ isAuthorized: true });
  });

  it.each([
    ['no header', {}],
    ['another value', { 'x-origin-verify': 'guess' }],
    ['the secret with more after it', { 'x-origin-verify': `${SECRET}x` }],
  ])('refuses %s', async (_case, headers) => {
    expect(await check(headers)).toEqual({ isAuthorized: false });
  });
});
