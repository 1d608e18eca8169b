import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createSendRateLimiter, sendIntervalMs } from '../../functions/commons/send-rate';

describe('sendIntervalMs', () => {
  it('spreads the SES rate over the worker containers', () => {
    // Prepare / Act / Assess
    expect(sendIntervalMs(1, 2)).toBe(2000);
    expect(sendIntervalMs(14, 2)).toBeCloseTo(142.857, 2);
    expect(sendIntervalMs(10, 0)).toBe(100);
  });

  it('refuses a rate that is not positive', () => {
    // Prepare / Act / Assess
    expect(() => sendIntervalMs(0, 2)).toThrow('The SES send rate must be positive, got 0');
  });
});

describe('createSendRateLimiter', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2025-06-01T12:00:00Z'));
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it('lets the first send through at once and spaces the next ones by the interval', async () => {
    // Prepare
    const limiter = createSendRateLimiter(2000);
    const granted: number[] = [];
    const start = Date.now();

    // Act
    const all = [1, 2, 3].map((n) => limiter.acquire().then(() => granted.push(n) && Date.now() - start));
    await vi.advanceTimersByTimeAsync(0);
    const afterNone = [...granted];
    await vi.advanceTimersByTimeAsync(2000);
    const afterOne = [...granted];
    await vi.advanceTimersByTimeAsync(2000);
    const times = await Promise.all(all);

    // Assess
    expect(afterNone).toEqual([1]);
    expect(afterOne).toEqual([1, 2]);
    expect(times).toEqual([0, 2000, 4000]);
  });

  it('does not wait after a quiet period', async () => {
    // Prepare
    const limiter = createSendRateLimiter(1000);
    await limiter.acquire();
    vi.setSystemTime(Date.now() + 5000);

    // Act
    const before = Date.now();
    await limiter.acquire();

    // Assess
    expect(Date.now() - before).toBe(0);
  });
});
