import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION } from './resources.ts';

/** A Lambda handler: an event and a context in, a result out. */
export type Handler<E, R> = (event: E, context: Context) => Promise<R>;

/** A function as the local stack invokes it: by name, with its timeout, in its execution environments. */
export interface LambdaFunction<E, R> {
  name: string;
  invoke(event: E): Promise<R>;
  /** Loads a first execution environment, if there is none yet. */
  warm(): Promise<void>;
}

/**
 * A Lambda function in process, invoked as Lambda does: each invocation runs alone in an execution
 * environment, an idle one reused, a new one loaded by `coldStart` (numbered from 1) while all are busy.
 * So a handler's module state (its logger's keys, its send pace) is never shared by two invocations at
 * once. An invocation gets a Lambda context and times out with Lambda's "Task timed out"; its handler
 * cannot be killed, so its result is ignored and its environment stays busy until it settles.
 */
export function lambdaFunction<E, R>(
  name: string,
  timeoutMs: number,
  coldStart: (environment: number) => Handler<E, R> | Promise<Handler<E, R>>,
): LambdaFunction<E, R> {
  const idle: Handler<E, R>[] = [];
  let environments = 0;
  return {
    name,
    async warm() {
      if (environments === 0) idle.push(await coldStart(++environments));
    },
    async invoke(event) {
      const handler = idle.pop() ?? (await coldStart(++environments));
      const deadline = Date.now() + timeoutMs;
      const context: Context = {
        callbackWaitsForEmptyEventLoop: true,
        functionName: name,
        functionVersion: '$LATEST',
        invokedFunctionArn: `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:function:${name}`,
        memoryLimitInMB: '256',
        awsRequestId: randomUUID(),
        logGroupName: `/aws/lambda/${name}`,
        logStreamName: 'local',
        getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
        done: () => undefined,
        fail: () => undefined,
        succeed: () => undefined,
      };
      const running = Promise.resolve().then(() => handler(event, context));
      // The environment is free again once its handler has settled, even after a timeout.
      const release = () => idle.push(handler);
      running.then(release, release);
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<never>((_, reject) => {
        const message = `${name}: task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`;
        timer = setTimeout(() => reject(new Error(message)), timeoutMs);
      });
      return Promise.race([running, timedOut]).finally(() => clearTimeout(timer));
    },
  };
}

/** The handlers the local stack runs, by their file in `functions/`. */
interface Handlers {
  'submit-feedback': typeof import('../../functions/submit-feedback.ts')['handler'];
  'get-task': typeof import('../../functions/get-task.ts')['handler'];
  'send-feedback-email': typeof import('../../functions/send-feedback-email.ts')['handler'];
  'record-email-event': typeof import('../../functions/record-email-event.ts')['handler'];
  'daily-report': typeof import('../../functions/daily-report.ts')['handler'];
  'pause-autoresponses': typeof import('../../functions/pause-autoresponses.ts')['handler'];
}

/**
 * The function of `functions/<file>.ts`, loaded once per execution environment: an import with its own
 * query is a module instance of its own, with its own module state, as each of Lambda's containers loads it.
 */
export function handlerFunction<F extends keyof Handlers>(file: F, timeoutMs: number) {
  type Event = Parameters<Handlers[F]>[0];
  type Result = Awaited<ReturnType<Handlers[F]>>;
  const url = new URL(`../../functions/${file}.ts`, import.meta.url).href;
  return lambdaFunction<Event, Result>(file, timeoutMs, async (environment) => {
    const module = (await import(`${url}?environment=${environment}`)) as { handler: Handler<Event, Result> };
    return module.handler;
  });
}
