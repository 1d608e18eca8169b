/**
 * The local stack invokes every handler as Lambda does (`lib/local/lambda.ts`): one invocation at a time
 * per execution environment, so that a handler's module state (its logger's keys) is never shared by two
 * invocations at once, as it was when the API's handlers were one module instance for all requests.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { type Handler, lambdaFunction } from '../../lib/local/lambda.ts';

/** A handler of its own environment, that records which environment ran which event, and how many at once. */
function environmentsOf() {
  const runs: string[] = [];
  let running = 0;
  let mostAtOnce = 0;
  const coldStart = (environment: number): Handler<string, string> => {
    let busy = false;
    return async (event) => {
      expect(busy, `environment ${environment} runs one invocation at a time`).toBe(false);
      busy = true;
      running += 1;
      mostAtOnce = Math.max(mostAtOnce, running);
      await sleep(50);
      running -= 1;
      busy = false;
      runs.push(`${event}@${environment}`);
      return `${event} done`;
    };
  };
  return { coldStart, runs, mostAtOnce: () => mostAtOnce };
}

describe('lambdaFunction', () => {
  it('runs concurrent invocations in environments of their own, and reuses the idle ones', async () => {
    // Prepare
    const environments = environmentsOf();
    const target = lambdaFunction('f', 1000, environments.coldStart);

    // Act
    const first = await Promise.all(['a', 'b', 'c'].map((event) => target.invoke(event)));
    const later = await target.invoke('d');

    // Assess
    expect(first).toEqual(['a done', 'b done', 'c done']);
    expect(later).toBe('d done');
    expect(environments.mostAtOnce()).toBe(3);
    expect(environments.runs.slice(0, 3).sort()).toEqual(['a@1', 'b@2', 'c@3']);
    expect(environments.runs[3]).toMatch(/^d@[123]$/);
  });

  it('gives each invocation a Lambda context with its name and the time it has left', async () => {
    // Prepare
    const target = lambdaFunction('named', 3000, () => async (_event: unknown, context) => ({
      name: context.functionName,
      arn: context.invokedFunctionArn,
      left: context.getRemainingTimeInMillis(),
    }));

    // Act
    const seen = await target.invoke({});

    // Assess
    expect(seen.name).toBe('named');
    expect(seen.arn).toBe('arn:aws:lambda:us-east-1:000000000000:function:named');
    expect(seen.left).toBeGreaterThan(2000);
    expect(seen.left).toBeLessThanOrEqual(3000);
  });

  it("times out with Lambda's message, and keeps that environment busy until its handler settles", async () => {
    // Prepare
    const coldStarts: number[] = [];
    const target = lambdaFunction('slow', 100, (environment): Handler<number, number> => {
      coldStarts.push(environment);
      return async (ms) => {
        await sleep(ms);
        return ms;
      };
    });

    // Act
    const timedOut = await target.invoke(300).catch((error: Error) => error.message);
    const meanwhile = await target.invoke(0);
    await sleep(400);
    const afterwards = await Promise.all([target.invoke(0), target.invoke(0)]);

    // Assess
    expect(timedOut).toBe('slow: task timed out after 0.10 seconds');
    expect(meanwhile).toBe(0);
    expect(afterwards).toEqual([0, 0]);
    expect(coldStarts).toEqual([1, 2]);
  });
});
