import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { consumer, LAMBDA_MAX_TIMEOUT_SECONDS, queue } from '../../functions/config/settings.ts';
import { SizingError, workerSizing } from '../../functions/config/table.ts';

const OWNER = 'owner@example.com';

describe('workerSizing', () => {
  it('derives the concurrency that keeps SES busy: rate × (work + overhead) / emails per batch', () => {
    // Act
    const sandbox = workerSizing({ workSeconds: 20, sesMaxSendRate: 1 });
    const withOwner = workerSizing({ workSeconds: 5, sesMaxSendRate: 14, notifyEmail: OWNER });

    // Assess
    expect(sandbox).toEqual({
      batchSize: consumer.batchSize,
      maxConcurrency: 5,
      sendIntervalMs: 5000,
      timeoutSeconds: 20 + 25 + consumer.headroomSeconds,
      visibilityTimeoutSeconds: queue.visibilityTimeoutFactor * 65,
    });
    // 14/s × (5 s + 2 s) / 10 emails a batch = 9.8.
    expect(withOwner.maxConcurrency).toBe(10);
  });

  it("keeps the concurrency within the event source's bounds", () => {
    expect(workerSizing({ workSeconds: 0, sesMaxSendRate: 0.1 }).maxConcurrency).toBe(
      consumer.minConcurrency,
    );
    expect(workerSizing({ workSeconds: 20, sesMaxSendRate: 1000 }).maxConcurrency).toBe(
      consumer.maxConcurrency,
    );
  });

  it('takes a given concurrency as it is, and paces each container by it', () => {
    const sizing = workerSizing({ workSeconds: 20, sesMaxSendRate: 2, workerConcurrency: 10 });
    expect(sizing.maxConcurrency).toBe(10);
    expect(sizing.sendIntervalMs).toBe(5000);
  });

  it('sizes every setting it accepts so that a batch fits its timeout and the containers keep to the rate', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 880 }),
        fc.double({ min: 0.1, max: 1000, noNaN: true }),
        fc.constantFrom(1, 2),
        fc.option(fc.integer({ min: consumer.minConcurrency, max: consumer.maxConcurrency }), {
          nil: undefined,
        }),
        (workSeconds, sesMaxSendRate, emailsPerTask, maxConcurrency) => {
          let sizing: ReturnType<typeof workerSizing>;
          try {
            sizing = workerSizing({
              workSeconds,
              sesMaxSendRate,
              notifyEmail: emailsPerTask === 2 ? OWNER : undefined,
              workerConcurrency: maxConcurrency,
            });
          } catch (error) {
            // Refused only when the work and a full batch's paced sends do not fit in Lambda's 900 s.
            expect(error).toBeInstanceOf(SizingError);
            const concurrency =
              maxConcurrency ??
              Math.min(
                consumer.maxConcurrency,
                Math.max(
                  consumer.minConcurrency,
                  Math.ceil(
                    (sesMaxSendRate * (workSeconds + consumer.taskOverheadSeconds)) /
                      (consumer.batchSize * emailsPerTask),
                  ),
                ),
              );
            const sends = (consumer.batchSize * emailsPerTask * concurrency) / sesMaxSendRate;
            expect(workSeconds + sends + consumer.headroomSeconds).toBeGreaterThan(
              LAMBDA_MAX_TIMEOUT_SECONDS,
            );
            return;
          }
          const batchSends = sizing.batchSize * emailsPerTask;
          // The timeout covers the work and then every send of a full batch at the container's pace.
          expect(sizing.timeoutSeconds).toBeGreaterThanOrEqual(
            workSeconds + (batchSends * sizing.sendIntervalMs) / 1000,
          );
          expect(sizing.timeoutSeconds).toBeLessThanOrEqual(LAMBDA_MAX_TIMEOUT_SECONDS);
          expect(Number.isInteger(sizing.timeoutSeconds)).toBe(true);
          // Together the containers send at the SES rate, no faster.
          expect((sizing.maxConcurrency * 1000) / sizing.sendIntervalMs).toBeCloseTo(sesMaxSendRate, 6);
          expect(sizing.maxConcurrency).toBeGreaterThanOrEqual(consumer.minConcurrency);
          expect(sizing.maxConcurrency).toBeLessThanOrEqual(consumer.maxConcurrency);
          // Derived: enough containers that their paced sends, not the work, bound the drain.
          if (maxConcurrency === undefined && sizing.maxConcurrency < consumer.maxConcurrency) {
            expect((batchSends * sizing.sendIntervalMs) / 1000).toBeGreaterThanOrEqual(
              workSeconds + consumer.taskOverheadSeconds - 1e-9,
            );
          }
          expect(sizing.visibilityTimeoutSeconds).toBe(queue.visibilityTimeoutFactor * sizing.timeoutSeconds);
        },
      ),
    );
  });

  it('refuses a batch that would outrun the timeout, saying what to change', () => {
    // 2 containers sharing 0.1/s: 10 emails a batch, 200 s of sends after 700 s of work.
    expect(() => workerSizing({ workSeconds: 700, sesMaxSendRate: 0.1, notifyEmail: OWNER })).toThrow(
      SizingError,
    );
    expect(() => workerSizing({ workSeconds: 20, sesMaxSendRate: 1, workerConcurrency: 1000 })).toThrow(
      /over Lambda's 900 s: raise the send rate, lower the work time or the concurrency/,
    );
    expect(() => workerSizing({ workSeconds: 20, sesMaxSendRate: 0 })).toThrow(
      'The SES send rate must be positive',
    );
  });
});
