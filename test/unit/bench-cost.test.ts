import { describe, expect, it } from 'vitest';
import { consumer } from '../../functions/commons/settings';
import { costPerMillion, pollsUntil } from '../bench/cost';
import prices from '../bench/prices.json' with { type: 'json' };

describe('benchmark cost model', () => {
  it('counts the page polls of its backoff (1 s growing by half, at most 5 s) until the task is done', () => {
    // 1 + 1.5 + 2.25 + 3.375 + 5 + 5 + 5 = 23.1 s ≥ 21 s
    expect(pollsUntil(21)).toBe(7);
    expect(pollsUntil(1)).toBe(1);
  });

  it('bills the worker for the simulated work at its memory, and SES per email', () => {
    // Act
    const cost = costPerMillion({
      workSeconds: 20,
      submitMs: 3,
      getTaskMs: 2,
      workerOverheadMs: 0,
      emailsPerTask: 2,
    });

    // Assess
    const workerGbSeconds = (consumer.memoryMb / 1024) * 20;
    expect(cost.lines['Lambda compute (worker)']).toBeCloseTo(
      workerGbSeconds * prices.lambda.arm64GbSecondUsd * 1e6,
      6,
    );
    expect(cost.ses).toBeCloseTo(200, 6);
    expect(cost.total).toBeCloseTo(cost.infrastructure + cost.ses, 6);
    expect(cost.infrastructure).toBeGreaterThan(cost.lines['Lambda compute (worker)'] ?? 0);
  });
});
