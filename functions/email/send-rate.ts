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
 * (the records of a batch are processed in parallel). A token bucket of `burst` slots: a container
 * may use the slots it left unused (it was idle, or its tasks were still claiming or working) up to
 * `burst` of them at once, instead of losing them; so after a quiet period `burst` slots are free at
 * once. In any period it hands out no more than its share of the rate for that period plus `burst`.
 *
 * @param burst - slots that may go at once (1 when less): the worker passes the slots of one batch's time
 * @param now - the clock, replaceable in tests
 */
export function createSendRateLimiter(
  intervalMs: number,
  burst = 1,
  now: () => number = Date.now,
): SendRateLimiter {
  let nextSlot = Number.NEGATIVE_INFINITY;
  return {
    async reserve() {
      const current = now();
      const slot = Math.max(current - (Math.max(1, burst) - 1) * intervalMs, nextSlot);
      nextSlot = slot + intervalMs;
      if (slot > current) await new Promise((resolve) => setTimeout(resolve, slot - current));
    },
  };
}
