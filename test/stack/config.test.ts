import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { queue } from '../../functions/config/settings.ts';
import * as setting from '../../functions/config/table.ts';
import { workerSizing } from '../../functions/config/table.ts';
import { ConfigError, type ContextKey, PLACEHOLDER_SENDER_EMAIL, readConfig } from '../../lib/config.ts';

const MIN_TASK_TTL_DAYS = setting.taskTtlDays.min;

function read(context: Partial<Record<ContextKey, unknown>>) {
  return readConfig((key) => context[key]);
}

describe('readConfig', () => {
  it('falls back to the defaults, with the sender marked as a placeholder', () => {
    // Act
    const config = read({});

    // Assess
    expect(config).toEqual({
      senderEmail: PLACEHOLDER_SENDER_EMAIL,
      senderEmailIsPlaceholder: true,
      senderIdentity: 'create',
      senderDomain: undefined,
      hostedZoneId: undefined,
      workSeconds: 20,
      taskTtlDays: 15,
      notifyEmail: undefined,
      notifyIdentity: 'create',
      dataRemoval: 'destroy',
      alarmEmail: undefined,
      reportSchedule: 'cron(0 8 * * ? *)',
      sesMaxSendRate: 1,
      apiRateLimit: 10,
      apiBurstLimit: 20,
      allowedOrigins: [],
      autoresponseLimit: 3,
      addressValidation: 'managed',
      worker: workerSizing({ workSeconds: 20, sesMaxSendRate: 1 }),
    });
  });

  it.each(['managed', 'high', 'medium', 'off', 'HIGH'])('takes addressValidation=%s', (level) => {
    expect(read({ addressValidation: level }).addressValidation).toBe(level.toLowerCase());
  });

  it('refuses an addressValidation that is none of the levels, naming them', () => {
    expect(() => read({ addressValidation: 'strict' })).toThrow(
      'Context addressValidation must be one of managed, high, medium, off',
    );
  });

  it('keeps every task record longer than the queue, or its dead-letter queue, can hold its message', () => {
    expect(MIN_TASK_TTL_DAYS * 86_400).toBeGreaterThan(queue.retentionSeconds);
    expect(MIN_TASK_TTL_DAYS * 86_400).toBeGreaterThan(queue.deadLetterRetentionSeconds);
    expect(setting.taskTtlDays.default).toBeGreaterThanOrEqual(MIN_TASK_TTL_DAYS);
    expect(() => read({ taskTtlDays: String(MIN_TASK_TTL_DAYS - 1) })).toThrow(
      `Context taskTtlDays must be an integer from ${MIN_TASK_TTL_DAYS} to 365`,
    );
  });

  it("sizes the worker for the owner's second email, or at the given concurrency", () => {
    expect(read({ notifyEmail: 'owner@example.com', sesMaxSendRate: 14, workSeconds: 5 }).worker).toEqual(
      workerSizing({ workSeconds: 5, sesMaxSendRate: 14, notifyEmail: 'owner@example.com' }),
    );
    expect(read({ workerConcurrency: '3' }).worker.maxConcurrency).toBe(3);
  });

  it('reads -c strings and cdk.json numbers alike', () => {
    // Act
    const config = read({
      senderEmail: ' me@example.com ',
      workSeconds: '0',
      taskTtlDays: 30,
      sesMaxSendRate: '14.5',
      apiRateLimit: 100,
      apiBurstLimit: '200',
      notifyEmail: 'owner@example.com',
      alarmEmail: 'ops@example.com',
      reportSchedule: 'rate(12 hours)',
      allowedOrigins: 'https://a.example.com , http://localhost:8080,',
    });

    // Assess
    expect(config).toMatchObject({
      senderEmail: 'me@example.com',
      senderEmailIsPlaceholder: false,
      workSeconds: 0,
      taskTtlDays: 30,
      sesMaxSendRate: 14.5,
      apiRateLimit: 100,
      apiBurstLimit: 200,
      notifyEmail: 'owner@example.com',
      alarmEmail: 'ops@example.com',
      reportSchedule: 'rate(12 hours)',
      allowedOrigins: ['https://a.example.com', 'http://localhost:8080'],
    });
  });

  it('reads where the sender identity comes from: an existing one, or a domain with its hosted zone', () => {
    expect(read({ senderEmail: 'me@example.com', senderIdentity: 'existing' })).toMatchObject({
      senderIdentity: 'existing',
      senderDomain: undefined,
      hostedZoneId: undefined,
    });
    expect(
      read({
        senderEmail: 'me@mail.example.com',
        senderDomain: ' Example.COM ',
        hostedZoneId: 'Z0123456789ABC',
      }),
    ).toMatchObject({
      senderEmail: 'me@mail.example.com',
      senderIdentity: 'create',
      senderDomain: 'example.com',
      hostedZoneId: 'Z0123456789ABC',
    });
  });

  it('does not hold the placeholder sender to senderDomain: that synth warns, and its deploy is refused', () => {
    expect(read({ senderDomain: 'example.org' })).toMatchObject({
      senderEmail: PLACEHOLDER_SENDER_EMAIL,
      senderEmailIsPlaceholder: true,
      senderDomain: 'example.org',
    });
  });

  it('treats an empty value as unset', () => {
    expect(read({ notifyEmail: '', senderEmail: '  ' })).toMatchObject({
      notifyEmail: undefined,
      senderEmailIsPlaceholder: true,
    });
  });

  it.each([
    [{ senderEmail: 'not-an-address' }, /Context senderEmail must be an email address/],
    [{ notifyEmail: 'owner@' }, /Context notifyEmail must be an email address/],
    [{ alarmEmail: 'ops example.com' }, /Context alarmEmail must be an email address/],
    [{ workSeconds: '-1' }, /Context workSeconds must be an integer from 0 to 880/],
    [{ workSeconds: '881' }, /Context workSeconds must be an integer from 0 to 880/],
    [{ workSeconds: '880' }, /Context workSeconds=880, sesMaxSendRate=1 cannot work: .*over Lambda's 900 s/],
    [{ workerConcurrency: '1' }, /Context workerConcurrency must be an integer from 2 to 1000/],
    [{ workerConcurrency: '2.5' }, /Context workerConcurrency must be an integer/],
    [{ workSeconds: 'twenty' }, /Context workSeconds must be an integer/],
    [{ taskTtlDays: '0' }, /Context taskTtlDays must be an integer from 15 to 365/],
    [{ apiBurstLimit: '2.5' }, /Context apiBurstLimit must be an integer/],
    [{ apiRateLimit: '0' }, /Context apiRateLimit must be a number from 1/],
    [{ sesMaxSendRate: 'fast' }, /Context sesMaxSendRate must be a number/],
    [{ reportSchedule: 'every day' }, /Context reportSchedule must be an EventBridge Scheduler expression/],
    [
      { allowedOrigins: 'https://a.example.com/' },
      /Context allowedOrigins must be a comma-separated list of origins/,
    ],
    [{ allowedOrigins: '*' }, /Context allowedOrigins must be a comma-separated list of origins/],
    [{ senderEmail: { address: 'me@example.com' } }, /Context senderEmail must be a string/],
    [
      { notifyEmail: 'owner@example.com', notifyIdentity: 'verified' },
      /Context notifyIdentity must be "create" .* or "existing" .*got "verified"/,
    ],
    [{ dataRemoval: 'keep' }, /Context dataRemoval must be "destroy" .* or "retain" .*got "keep"/],
    [{ senderIdentity: 'import' }, /Context senderIdentity must be "create" .* or "existing" .*got "import"/],
    [{ senderIdentity: 'Existing' }, /Context senderIdentity must be "create"/],
    [{ senderDomain: 'https://example.com' }, /Context senderDomain must be a domain name/],
    [{ senderDomain: 'me@example.com' }, /Context senderDomain must be a domain name/],
    [{ senderDomain: 'example.com.' }, /Context senderDomain must be a domain name/],
    [{ senderDomain: 'localhost' }, /Context senderDomain must be a domain name/],
    [{ senderDomain: '-bad.example.com' }, /Context senderDomain must be a domain name/],
    [{ senderDomain: '192.0.2.1' }, /Context senderDomain must be a domain name/],
    [
      { senderDomain: 'example.com', hostedZoneId: '/hostedzone/Z0123' },
      /Context hostedZoneId must be a Route 53/,
    ],
    [{ senderDomain: 'example.com', hostedZoneId: 'z0123abc' }, /Context hostedZoneId must be a Route 53/],
  ])('rejects %o with an error naming the key', (context, message) => {
    expect(() => read(context)).toThrow(message);
  });

  it.each([
    [
      { senderEmail: 'me@example.com', senderIdentity: 'existing', senderDomain: 'example.com' },
      /senderIdentity=existing cannot go with senderDomain=example\.com/,
    ],
    [
      { senderEmail: 'me@example.com', senderIdentity: 'existing', hostedZoneId: 'Z0123456789ABC' },
      /senderIdentity=existing cannot go with hostedZoneId=Z0123456789ABC/,
    ],
    [
      { senderEmail: 'me@example.com', hostedZoneId: 'Z0123456789ABC' },
      /hostedZoneId=Z0123456789ABC needs senderDomain/,
    ],
    [
      { senderEmail: 'me@example.org', senderDomain: 'example.com' },
      /senderEmail=me@example\.org must be at senderDomain=example\.com/,
    ],
    [
      { senderEmail: 'me@notexample.com', senderDomain: 'example.com' },
      /senderEmail=me@notexample\.com must be at senderDomain=example\.com/,
    ],
    [
      { senderEmail: 'me@example.com', senderDomain: 'mail.example.com' },
      /senderEmail=me@example\.com must be at senderDomain=mail\.example\.com/,
    ],
    [{ notifyIdentity: 'existing' }, /notifyIdentity=existing needs notifyEmail/],
    [
      {
        senderEmail: 'me@example.com',
        notifyEmail: 'Me@Example.com',
        senderIdentity: 'existing',
        notifyIdentity: 'create',
      },
      /notifyIdentity=create cannot go with senderIdentity=existing when notifyEmail is senderEmail/,
    ],
  ])('refuses the sender settings %o, which cannot work together, naming the keys', (context, message) => {
    expect(() => read(context)).toThrow(ConfigError);
    expect(() => read(context)).toThrow(message);
  });
});

describe('notifyIdentity and dataRemoval', () => {
  it("follow the sender's identity mode by default, and can be set apart from it", () => {
    expect(read({ notifyEmail: 'o@example.com' })).toMatchObject({ notifyIdentity: 'create' });
    expect(
      read({ senderEmail: 'me@example.com', senderIdentity: 'existing', notifyEmail: 'o@example.com' }),
    ).toMatchObject({ notifyIdentity: 'existing' });
    expect(read({ notifyEmail: 'o@example.com', notifyIdentity: 'existing' })).toMatchObject({
      senderIdentity: 'create',
      notifyIdentity: 'existing',
    });
    expect(read({ dataRemoval: 'retain' })).toMatchObject({ dataRemoval: 'retain' });
  });
});

describe('cdk.json', () => {
  it('sets every feature flag aws-cdk-lib recommends, so that synth lists none as unconfigured', () => {
    // Prepare
    const recommended = createRequire(import.meta.url)(
      'aws-cdk-lib/recommended-feature-flags.json',
    ) as Record<string, unknown>;
    const cdkJson = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'cdk.json'), 'utf8')) as {
      context: Record<string, unknown>;
    };

    // Assess
    expect(cdkJson.context).toMatchObject(recommended);
  });
});
