import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createSendRateLimiter } from '../../functions/email/send-rate.ts';

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
async function runBatch(
  records: number,
  intervalMs: number,
  workMs: number,
  limiter = createSendRateLimiter(intervalMs),
): Promise<number[]> {
  const start = Date.now();
  const times: number[] = [];
  for (let n = 0; n < records; n++) {
    const slot = limiter.reserve();
    void new Promise((resolve) => setTimeout(resolve, workMs))
      .then(() => slot)
      .then(() => times.push(Date.now() - start));
  }
  // Until the batch's last send, as an invocation ends with its batch.
  while (times.length < records) await vi.advanceTimersByTimeAsync(100);
  return times;
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

  it("lets a batch's sends go at once after a quiet period, then keeps the pace", async () => {
    // Prepare
    const limiter = createSendRateLimiter(1000, 3);
    const start = Date.now();

    // Act: 5 sends reserved at once, with a burst of 3.
    const all = Array.from({ length: 5 }, () => limiter.reserve().then(() => Date.now() - start));
    await vi.advanceTimersByTimeAsync(2000);

    // Assess
    expect(await Promise.all(all)).toEqual([0, 0, 0, 1000, 2000]);
  });

  it('lets a container catch up on the slots its work left unused, up to the burst', async () => {
    // Prepare: one send every second, 2 s of work, two batches of 5 one after the other.
    const paced = createSendRateLimiter(1000);
    const bucket = createSendRateLimiter(1000, 5);

    // Act
    const pacedBatches = [await runBatch(5, 1000, 2000, paced), await runBatch(5, 1000, 2000, paced)];
    const bucketBatches = [await runBatch(5, 1000, 2000, bucket), await runBatch(5, 1000, 2000, bucket)];

    // Assess: with no burst, the slots that came due before a batch started are lost; with a bucket of
    // a batch, the first batch sends after its work, and the second uses the slots the first one's work left.
    expect(pacedBatches).toEqual([
      [2000, 2000, 2000, 3000, 4000],
      [2000, 2000, 3000, 4000, 5000],
    ]);
    expect(bucketBatches).toEqual([
      [2000, 2000, 2000, 2000, 2000],
      [2000, 2000, 2000, 2000, 3000],
    ]);
  });

  it('never hands out more than its share of the rate plus the burst', async () => {
    // Prepare: 300 ms apart, a burst of 4, reservations at random moments over 30 s.
    const limiter = createSendRateLimiter(300, 4);
    const start = Date.now();
    const granted: number[] = [];
    for (let i = 0; i < 200; i++) {
      void limiter.reserve().then(() => granted.push(Date.now() - start));
      await vi.advanceTimersByTimeAsync((i * 7919) % 311);
    }
    await vi.advanceTimersByTimeAsync(200 * 300);

    // Assess: in every window, at most window / 300 ms + 4 slots.
    for (const from of granted) {
      for (const length of [0, 1000, 5000]) {
        const inWindow = granted.filter((at) => at >= from && at <= from + length).length;
        expect(inWindow).toBeLessThanOrEqual(Math.floor(length / 300) + 4);
      }
    }
  });
});
