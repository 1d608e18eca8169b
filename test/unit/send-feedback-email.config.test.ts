import { afterEach, describe, expect, it, vi } from 'vitest';
import { readWorkerConfig } from '../../functions/worker/config.ts';
import { TEST_ENV } from '../helpers/handlers.ts';

function withEnv(env: Record<string, string | undefined>): void {
  for (const [name, value] of Object.entries({ ...TEST_ENV, ...env })) vi.stubEnv(name, value);
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('readWorkerConfig', () => {
  it('paces each container at its share of the SES rate and leases a task for the derived timeout', () => {
    // Prepare
    withEnv({
      SES_MAX_SEND_RATE: '10',
      WORKER_CONCURRENCY: '4',
      FEEDBACK_WORK_SECONDS: '20',
      TASK_LEASE_SECONDS: undefined,
    });

    // Act
    const config = readWorkerConfig();

    // Assess: 4 containers share 10/s, so each sends every 400 ms; 20 s work + 5 sends × 0.4 s + 20 s headroom.
    expect(config.sendIntervalMs).toBe(400);
    expect(config.leaseSeconds).toBe(42);
    expect(config.recipients).toEqual(['visitor']);
  });

  it('takes TASK_LEASE_SECONDS over the derived lease, and the owner as a second recipient', () => {
    // Prepare
    withEnv({ TASK_LEASE_SECONDS: '90', NOTIFY_EMAIL: 'owner@example.com' });

    // Act
    const config = readWorkerConfig();

    // Assess
    expect(config.leaseSeconds).toBe(90);
    expect(config.recipients).toEqual(['visitor', 'owner']);
    expect(config.notifyEmail).toBe('owner@example.com');
  });

  it('reads its attempt limit, the backstop above it, and where it moves what it gives up', () => {
    // Prepare
    withEnv({ MAX_ATTEMPTS: '3', MAX_RECEIVE_COUNT: '5' });

    // Act
    const config = readWorkerConfig();

    // Assess: it works up to the receive before the last two, on which it only gives up.
    expect(config).toMatchObject({
      maxAttempts: 3,
      maxReceiveCount: 5,
      lastWorkReceive: 3,
      deadLetterQueueUrl: TEST_ENV.DEAD_LETTER_QUEUE_URL,
    });
  });

  it('refuses a backstop that leaves no room for the attempts and the give-up, and an attempt limit under 1', () => {
    // Prepare / Act / Assess
    withEnv({ MAX_ATTEMPTS: '5', MAX_RECEIVE_COUNT: '6' });
    expect(() => readWorkerConfig()).toThrow(
      'Environment variable MAX_RECEIVE_COUNT must be at least MAX_ATTEMPTS + 2 (7), got "6"',
    );
    withEnv({ MAX_ATTEMPTS: '0' });
    expect(() => readWorkerConfig()).toThrow(
      'Environment variable MAX_ATTEMPTS must be an integer of at least 1, got "0"',
    );
  });

  it('names a missing variable', () => {
    // Prepare
    withEnv({ SENDER_EMAIL: undefined });

    // Act / Assess
    expect(() => readWorkerConfig()).toThrow('Missing required environment variable SENDER_EMAIL');
  });
});

describe('readWorkerConfig: reputation', () => {
  it('reads the configuration set, and the autoresponse limit with its key, by default 3 per day', () => {
    // Prepare
    withEnv({ SES_CONFIGURATION_SET: 'feedback-emails', AUTORESPONSE_HASH_KEY: 'secret' });

    // Act
    const config = readWorkerConfig();

    // Assess
    expect(config.configurationSet).toBe('feedback-emails');
    expect(config.autoresponseLimit).toEqual({ key: 'secret', maxPerWindow: 3, windowSeconds: 86_400 });
  });

  it('takes AUTORESPONSE_LIMIT, and has no limit and no configuration set when unset', () => {
    // Prepare
    withEnv({ AUTORESPONSE_HASH_KEY: 'secret', AUTORESPONSE_LIMIT: '5' });
    const limited = readWorkerConfig();
    withEnv({ AUTORESPONSE_HASH_KEY: undefined, SES_CONFIGURATION_SET: undefined });

    // Act
    const unlimited = readWorkerConfig();

    // Assess
    expect(limited.autoresponseLimit?.maxPerWindow).toBe(5);
    expect(unlimited.autoresponseLimit).toBeUndefined();
    expect(unlimited.configurationSet).toBeUndefined();
  });

  it('names an AUTORESPONSE_LIMIT that is not a whole number of at least 1', () => {
    // Prepare
    withEnv({ AUTORESPONSE_HASH_KEY: 'secret', AUTORESPONSE_LIMIT: '0' });

    // Act / Assess
    expect(() => readWorkerConfig()).toThrow('AUTORESPONSE_LIMIT');
  });
});
