import { afterEach, describe, expect, it, vi } from 'vitest';
import { handlerVariables, setHandlerEnvironment } from '../../lib/local/handler-env.ts';
import { localSettingValues, readLocalSettings } from '../../lib/local/settings.ts';

const before = { ...process.env };

afterEach(() => {
  vi.unstubAllEnvs();
  // setHandlerEnvironment writes this process's environment: put it back as it was.
  for (const name of Object.keys(process.env)) if (!(name in before)) delete process.env[name];
  Object.assign(process.env, before);
});

describe('readLocalSettings', () => {
  it("reads npm start's settings from their variables, and nothing else of the shell", () => {
    // Prepare: the shell's variables, some of them the handlers' own that the stack sets itself.
    const shell = {
      NOTIFY_EMAIL: ' owner@example.com ',
      SES_MAX_SEND_RATE: '5',
      AUTORESPONSE_LIMIT: '2',
      REPORT_SCHEDULE: 'rate(1 minute)',
      WAF_RATE_LIMIT: '10',
      WORKER_CONCURRENCY: '4',
      TASK_LEASE_SECONDS: '30',
      ALLOWED_ORIGINS: 'https://partner.example',
      FEEDBACK_WORK_SECONDS: '',
      TASKS_TABLE_NAME: 'SomeoneElsesTable',
      SES_CONFIGURATION_SET: 'someone-elses-set',
      AUTORESPONSE_HASH_KEY: 'someone-elses-key',
    };

    // Act
    const settings = readLocalSettings(shell);

    // Assess
    expect(settings).toEqual({
      notifyEmail: 'owner@example.com',
      sesMaxSendRate: 5,
      autoresponseLimit: 2,
      reportSchedule: 'rate(1 minute)',
      wafRateLimit: 10,
      workerConcurrency: 4,
      leaseSeconds: 30,
      allowedOrigins: ['https://partner.example'],
    });
  });

  it.each([
    [
      { SES_MAX_SEND_RATE: '5000' },
      'Environment variable SES_MAX_SEND_RATE must be a number from 0.1 to 1000',
    ],
    [{ NOTIFY_EMAIL: 'owner@' }, '(NOTIFY_EMAIL=you@example.com), got "owner@"'],
    [{ TASK_TTL_DAYS: '1' }, 'Environment variable TASK_TTL_DAYS must be an integer from 15 to 365'],
    [{ REPORT_SCHEDULE: 'hourly' }, 'Environment variable REPORT_SCHEDULE must be an EventBridge Scheduler'],
  ])('refuses %o as a deploy refuses its context key', (shell, message) => {
    expect(() => readLocalSettings(shell)).toThrow(message);
  });

  it('reads only the settings asked for', () => {
    expect(
      readLocalSettings({ NOTIFY_EMAIL: 'o@example.com', SES_MAX_SEND_RATE: 'fast' }, ['notifyEmail']),
    ).toEqual({ notifyEmail: 'o@example.com' });
  });
});

describe('localSettingValues', () => {
  it("fills in the local stack's defaults, never the shell's", () => {
    // Prepare
    vi.stubEnv('NOTIFY_EMAIL', 'shell-owner@example.com');
    vi.stubEnv('SENDER_EMAIL', 'shell@example.com');

    // Act
    const values = localSettingValues({ workSeconds: 0, notifyEmail: '  ' });

    // Assess
    expect(values).toMatchObject({
      workSeconds: 0,
      senderEmail: 'support@example.com',
      notifyEmail: undefined,
      sesMaxSendRate: 1,
      taskTtlDays: 15,
      autoresponseLimit: 3,
      allowedOrigins: [],
    });
  });
});

describe('setHandlerEnvironment', () => {
  it("replaces every settings variable of the handlers: the shell's are gone unless given", () => {
    // Prepare
    vi.stubEnv('NOTIFY_EMAIL', 'shell-owner@example.com');
    vi.stubEnv('AUTORESPONSE_LIMIT', '1');
    vi.stubEnv('TASKS_TABLE_NAME', 'ShellTable');

    // Act
    setHandlerEnvironment({ tasksTableName: 'Tasks', workSeconds: 0 }, { logLevel: 'SILENT' });

    // Assess
    expect(process.env.TASKS_TABLE_NAME).toBe('Tasks');
    expect(process.env.FEEDBACK_WORK_SECONDS).toBe('0');
    expect(process.env.NOTIFY_EMAIL).toBeUndefined();
    expect(process.env.AUTORESPONSE_LIMIT).toBeUndefined();
    expect(handlerVariables()).toEqual(expect.arrayContaining(['NOTIFY_EMAIL', 'AUTORESPONSE_LIMIT']));
    expect(handlerVariables()).not.toContain('REPORT_SCHEDULE');
  });
});
