/**
 * Keeping the email worker under the SES sending rate. The event source runs at most
 * `WORKER_CONCURRENCY` containers at once; each spaces its own sends so that together they stay
 * under `SES_MAX_SEND_RATE` per second. SES throttling that happens anyway is a transient error
 * (the task is retried), so the limiter only has to be right on average, not exact.
 */
/** Hands out send slots; every SES call of a container awaits one first. */
export interface SendRateLimiter {
  /** Resolves when this caller may send: at once, or after the slots already handed out. */
  acquire(): Promise<void>;
}

/**
 * Milliseconds between two sends of one container so that `concurrency` containers together send at
 * most `maxSendRate` emails per second.
 */
export function sendIntervalMs(maxSendRate: number, concurrency: number): number {
  if (!(maxSendRate > 0)) throw new Error(`The SES send rate must be positive, got ${maxSendRate}`);
  return (Math.max(1, concurrency) * 1000) / maxSendRate;
}

/**
 * A limiter that spaces the sends of this container `intervalMs` apart. Concurrent callers (the
 * records of a batch are processed in parallel) each reserve the next free slot, in call order.
 *
 * @param intervalMs - from {@link sendIntervalMs}
 * @param now - the clock, replaceable in tests
 */
export function createSendRateLimiter(intervalMs: number, now: () => number = Date.now): SendRateLimiter {
  let nextSlot = 0;
  return {
    async acquire() {
      const current = now();
      const slot = Math.max(current, nextSlot);
      nextSlot = slot + intervalMs;
      if (slot > current) await new Promise((resolve) => setTimeout(resolve, slot - current));
    },
  };
}
