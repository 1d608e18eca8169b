import { afterEach, describe, expect, it, vi } from 'vitest';
import { readWorkerConfig } from '../../functions/commons/worker-config';
import { TEST_ENV } from '../helpers/handlers';

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

  it('names a missing variable', () => {
    // Prepare
    withEnv({ SENDER_EMAIL: undefined });

    // Act / Assess
    expect(() => readWorkerConfig()).toThrow('Missing required environment variable SENDER_EMAIL');
  });
});
