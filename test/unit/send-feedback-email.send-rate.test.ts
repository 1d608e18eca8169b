import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createSendRateLimiter } from '../../functions/commons/send-rate';

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(new Date('2025-06-01T12:00:00Z'));
});

afterEach(() => {
  vi.useRealTimers();
});

/**
 * A batch as the worker runs it: each record reserves its send slot when it starts, does `workMs` of
 * work, then waits for the slot and sends. Resolves to each send's time after the start.
 */
async function runBatch(records: number, intervalMs: number, workMs: number): Promise<number[]> {
  const limiter = createSendRateLimiter(intervalMs);
  const start = Date.now();
  const sends = Array.from({ length: records }, async () => {
    const slot = limiter.reserve();
    await new Promise((resolve) => setTimeout(resolve, workMs));
    await slot;
    return Date.now() - start;
  });
  await vi.advanceTimersByTimeAsync(Math.max(workMs, records * intervalMs) + 1);
  return Promise.all(sends);
}

describe('createSendRateLimiter', () => {
  it('lets the first send through at once and spaces the next ones by the interval', async () => {
    // Prepare
    const limiter = createSendRateLimiter(2000);
    const granted: number[] = [];
    const start = Date.now();

    // Act
    const all = [1, 2, 3].map((n) => limiter.reserve().then(() => granted.push(n) && Date.now() - start));
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
    await limiter.reserve();
    vi.setSystemTime(Date.now() + 5000);

    // Act
    const before = Date.now();
    await limiter.reserve();

    // Assess
    expect(Date.now() - before).toBe(0);
  });

  it('overlaps the slots of a batch with its work: the batch takes the work, not work + sends', async () => {
    // Prepare / Act: 5 records, one send each every 2 s, 20 s of work.
    const times = await runBatch(5, 2000, 20_000);

    // Assess: every slot (0, 2, 4, 6, 8 s) has come by the end of the work.
    expect(times).toEqual([20_000, 20_000, 20_000, 20_000, 20_000]);
  });

  it('keeps the interval when the sends take longer than the work', async () => {
    // Prepare / Act: 5 records, one send every 5 s, 10 s of work.
    const times = await runBatch(5, 5000, 10_000);

    // Assess: the slots past the work are 5 s apart; the batch takes 20 s, not 10 + 25.
    expect(times).toEqual([10_000, 10_000, 10_000, 15_000, 20_000]);
  });
});
