/**
 * Keeping the email worker under the SES sending rate. The event source runs at most
 * `WORKER_CONCURRENCY` containers at once; each spaces its own sends `sendIntervalMs` apart (from
 * `workerSizing`), so that together they stay under `SES_MAX_SEND_RATE` per second. SES throttling that
 * happens anyway is a transient error (the task is retried), so the limiter only has to be right on
 * average, not exact.
 */

/** Hands out send slots; every SES call of a container waits for one first. */
export interface SendRateLimiter {
  /**
   * Reserves the next free slot now, and resolves when it has come (at once when it is already past).
   * A task reserves its slots when it starts and waits for them after its work: the wait overlaps the
   * work, so a batch takes about the longer of its work and its paced sends, not their sum.
   */
  reserve(): Promise<void>;
}

/**
 * A limiter that spaces the slots of this container `intervalMs` apart, in the order they are reserved
 * (the records of a batch are processed in parallel). A slot reserved after a quiet period is free at once.
 *
 * @param now - the clock, replaceable in tests
 */
export function createSendRateLimiter(intervalMs: number, now: () => number = Date.now): SendRateLimiter {
  let nextSlot = 0;
  return {
    async reserve() {
      const current = now();
      const slot = Math.max(current, nextSlot);
      nextSlot = slot + intervalMs;
      if (slot > current) await new Promise((resolve) => setTimeout(resolve, slot - current));
    },
  };
}
