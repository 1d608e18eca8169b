import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  ConfigError,
  contextSource,
  environmentSource,
  parseSetting,
  readSetting,
  requireSetting,
} from '../../functions/config/env.ts';
import * as table from '../../functions/config/table.ts';
import { environmentFor, type Setting, settingEntries, settings } from '../../functions/config/table.ts';

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('the settings table', () => {
  it('holds the contract’s context keys and environment variables, each named once', () => {
    // Assess: the outside of the product (docs/CONTRACT), which the table must not change by accident.
    const contextKeys = settingEntries().flatMap(([name, entry]) => ('context' in entry ? [name] : []));
    expect(contextKeys.sort()).toEqual(
      [
        'senderEmail',
        'senderIdentity',
        'senderDomain',
        'hostedZoneId',
        'workSeconds',
        'taskTtlDays',
        'notifyEmail',
        'alarmEmail',
        'reportSchedule',
        'sesMaxSendRate',
        'apiRateLimit',
        'apiBurstLimit',
        'allowedOrigins',
        'workerConcurrency',
        'autoresponseLimit',
        'wafRateLimit',
        'notifyIdentity',
        'dataRemoval',
        'addressValidation',
      ].sort(),
    );
    const variables = settingEntries().flatMap(([, entry]) => (entry.env === undefined ? [] : [entry.env]));
    expect(new Set(variables).size).toBe(variables.length);
    expect(variables).toEqual(
      expect.arrayContaining([
        'TASKS_TABLE_NAME',
        'FEEDBACK_QUEUE_URL',
        'SENDER_EMAIL',
        'FEEDBACK_WORK_SECONDS',
        'TASK_TTL_DAYS',
        'MAX_RECEIVE_COUNT',
        'MAX_ATTEMPTS',
        'NOTIFY_EMAIL',
        'DEAD_LETTER_QUEUE_URL',
        'SES_MAX_SEND_RATE',
        'WORKER_CONCURRENCY',
        'TASK_LEASE_SECONDS',
        'REPORT_SCHEDULE',
        'SES_CONFIGURATION_SET',
        'SES_AUTORESPONSE_CONFIGURATION_SET',
        'ADDRESS_VALIDATION',
        'AUTORESPONSE_HASH_KEY',
        'AUTORESPONSE_LIMIT',
        'WAF_RATE_LIMIT',
        'ALLOWED_ORIGINS',
        'ORIGIN_SECRET',
      ]),
    );
  });

  it('lists every setting it exports, and gives a variable to each that a function or npm start reads', () => {
    // Prepare: the module's exports that are entries (they have a doc line).
    const exported = Object.entries(table).filter(
      ([, value]) => typeof value === 'object' && value !== null && 'doc' in value,
    );

    // Assess
    expect(Object.fromEntries(exported)).toEqual(settings);
    for (const [name, entry] of settingEntries()) {
      const read = (entry.functions ?? []).length > 0 || 'local' in entry;
      if (read) expect(entry.env, name).toMatch(/^[A-Z][A-Z0-9_]*$/);
      expect(entry.doc, name).not.toMatch(/\n/);
    }
  });

  it('gives each setting’s default by its own rule', () => {
    for (const [name, entry] of settingEntries() as [string, Setting][]) {
      const source = contextSource(name);
      for (const value of [entry.default, entry.localDefault]) {
        if (value === undefined) continue;
        const text = Array.isArray(value) ? value.join(',') : String(value);
        if (text !== '') expect(parseSetting(entry, text, source), name).toEqual(value);
      }
    }
  });
});

describe('parseSetting', () => {
  it('words a refusal by where the value came from', () => {
    // Act / Assess
    expect(() => parseSetting(table.notifyEmail, 'owner@', contextSource('notifyEmail'))).toThrow(
      'Context notifyEmail must be an email address (-c notifyEmail=you@example.com), got "owner@"',
    );
    expect(() =>
      parseSetting(table.notifyEmail, ' owner@ ', environmentSource('NOTIFY_EMAIL', true)),
    ).toThrow(
      'Environment variable NOTIFY_EMAIL must be an email address (NOTIFY_EMAIL=you@example.com), got "owner@"',
    );
    expect(() =>
      parseSetting(table.workSeconds, '881', environmentSource('FEEDBACK_WORK_SECONDS', true)),
    ).toThrow(ConfigError);
  });

  it('holds a handler’s value to the least only: the most is a deployment’s limit', () => {
    // Act / Assess
    expect(parseSetting(table.sesMaxSendRate, '100000', environmentSource('SES_MAX_SEND_RATE', false))).toBe(
      100_000,
    );
    expect(() =>
      parseSetting(table.sesMaxSendRate, '100000', environmentSource('SES_MAX_SEND_RATE', true)),
    ).toThrow('must be a number from 0.1 to 1000, got "100000"');
    expect(() =>
      parseSetting(table.autoresponseLimit, '0', environmentSource('AUTORESPONSE_LIMIT', false)),
    ).toThrow('Environment variable AUTORESPONSE_LIMIT must be an integer of at least 1, got "0"');
  });
});

describe('readSetting and requireSetting', () => {
  it('read a handler’s variable, trimmed, with the default when it is unset or blank', () => {
    // Prepare
    vi.stubEnv('FEEDBACK_WORK_SECONDS', ' 7 ');
    vi.stubEnv('NOTIFY_EMAIL', '   ');
    vi.stubEnv('TASK_TTL_DAYS', undefined);

    // Act / Assess
    expect(readSetting(table.workSeconds)).toBe(7);
    expect(readSetting(table.notifyEmail)).toBeUndefined();
    expect(readSetting(table.taskTtlDays)).toBe(15);
    for (const invalid of ['-1', 'abc', 'Infinity', '2.5']) {
      vi.stubEnv('FEEDBACK_WORK_SECONDS', invalid);
      expect(() => readSetting(table.workSeconds)).toThrow(
        `Environment variable FEEDBACK_WORK_SECONDS must be an integer of at least 0, got "${invalid}"`,
      );
    }
  });

  it('name a missing or blank required variable', () => {
    // Prepare
    vi.stubEnv('TASKS_TABLE_NAME', 'Tasks');

    // Act / Assess
    expect(requireSetting(table.tasksTableName)).toBe('Tasks');
    vi.stubEnv('TASKS_TABLE_NAME', '  ');
    expect(() => requireSetting(table.tasksTableName)).toThrow(
      'Missing required environment variable TASKS_TABLE_NAME',
    );
  });
});

describe('environmentFor', () => {
  it('gives a function exactly the settings the table gives it, in their variables', () => {
    // Prepare
    const values = {
      tasksTableName: 'Tasks',
      feedbackQueueUrl: 'https://queue',
      taskTtlDays: 30,
      workSeconds: 5,
      allowedOrigins: ['https://a.example', 'https://b.example'],
      notifyEmail: undefined,
    };

    // Act / Assess
    expect(environmentFor('submit-feedback', values)).toEqual({
      TASKS_TABLE_NAME: 'Tasks',
      FEEDBACK_QUEUE_URL: 'https://queue',
      TASK_TTL_DAYS: '30',
      ALLOWED_ORIGINS: 'https://a.example,https://b.example',
    });
    expect(environmentFor('submit-feedback', { ...values, allowedOrigins: [] })).not.toHaveProperty(
      'ALLOWED_ORIGINS',
    );
    expect(environmentFor('get-task', values)).toEqual({ TASKS_TABLE_NAME: 'Tasks' });
    expect(environmentFor('send-feedback-email', values)).toEqual({
      TASKS_TABLE_NAME: 'Tasks',
      FEEDBACK_QUEUE_URL: 'https://queue',
      FEEDBACK_WORK_SECONDS: '5',
    });
  });
});
