import { describe, expect, it } from 'vitest';
import { consumer } from '../../functions/config/settings.ts';
import { costPerMillion, pollsUntil } from '../bench/cost.ts';
import prices from '../bench/prices.json' with { type: 'json' };

describe('benchmark cost model', () => {
  it('counts the page polls of its backoff (a quarter second doubling, at most 5 s) until the task is done', () => {
    // 0.25 + 0.5 + 1 + 2 + 4 + 5 + 5 + 5 = 22.75 s ≥ 21 s
    expect(pollsUntil(21)).toBe(8);
    // 0.25 + 0.5 + 1 = 1.75 s ≥ 1 s
    expect(pollsUntil(1)).toBe(3);
  });

  it('bills the worker for the simulated work at its memory, and SES per email', () => {
    // Act
    const cost = costPerMillion({
      workSeconds: 20,
      submitMs: 3,
      getTaskMs: 2,
      workerOverheadMs: 0,
      emailsPerTask: 2,
      addressValidation: false,
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

  it("counts each email's SES event: three SQS requests, one invocation of record-email-event and one more write", () => {
    // Prepare
    const inputs = {
      workSeconds: 20,
      submitMs: 3,
      getTaskMs: 2,
      workerOverheadMs: 0,
      addressValidation: false,
    };

    // Act
    const one = costPerMillion({ ...inputs, emailsPerTask: 1 });
    const two = costPerMillion({ ...inputs, emailsPerTask: 2 });

    // Assess: the second email adds its event's queue requests (EventBridge's send, the event source's
    // receive and delete) and invocation, and its state, lease renewal and event writes.
    const lambdaRequests = (two.lines['Lambda requests'] ?? 0) - (one.lines['Lambda requests'] ?? 0);
    const sqsRequests = (two.lines.SQS ?? 0) - (one.lines.SQS ?? 0);
    const writes = (two.lines['DynamoDB writes'] ?? 0) - (one.lines['DynamoDB writes'] ?? 0);
    expect(sqsRequests).toBeCloseTo(3 * prices.sqs.standardRequestsPerMillionUsd, 6);
    expect(one.lines.SQS).toBeCloseTo(2 * 3 * prices.sqs.standardRequestsPerMillionUsd, 6);
    expect(lambdaRequests).toBeCloseTo(prices.lambda.requestsPerMillionUsd, 6);
    expect(writes).toBeCloseTo(3 * prices.dynamodbOnDemand.writeRequestUnitsPerMillionUsd, 6);
    expect(two.lines['Lambda compute (email events)']).toBeCloseTo(
      2 * (one.lines['Lambda compute (email events)'] ?? 0),
      6,
    );
  });

  it("bills SES's address validation once per task (the visitor's address), on top of the rest, only when on", () => {
    // Prepare
    const inputs = { workSeconds: 20, submitMs: 3, getTaskMs: 2, workerOverheadMs: 0, emailsPerTask: 2 };

    // Act
    const off = costPerMillion({ ...inputs, addressValidation: false });
    const on = costPerMillion({ ...inputs, addressValidation: true });

    // Assess
    expect(off.validation).toBe(0);
    expect(on.validation).toBeCloseTo(prices.sesAutoValidation.recipientsPerThousandUsd * 1000, 6);
    expect(on.total - off.total).toBeCloseTo(on.validation, 6);
    expect(on.infrastructure).toBeCloseTo(off.infrastructure, 6);
  });
});
