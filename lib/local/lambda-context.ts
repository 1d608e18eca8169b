import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION } from './resources';

/** A Lambda context for one in-process invocation, its remaining time counted from now. */
export function createLambdaContext(functionName: string, timeoutMs: number, memoryMb = 256): Context {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:function:${functionName}`,
    memoryLimitInMB: String(memoryMb),
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** Thrown when an invocation outlives its timeout, as Lambda's "Task timed out". */
export class InvocationTimeoutError extends Error {
  constructor(functionName: string, timeoutMs: number) {
    super(`${functionName}: task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`);
    this.name = 'InvocationTimeoutError';
  }
}

/**
 * Runs an invocation with Lambda's timeout. In process the handler cannot be killed: after the
 * timeout its result is ignored (as Lambda's would be), though its promise may still settle later.
 */
export async function invokeWithTimeout<T>(
  functionName: string,
  timeoutMs: number,
  invoke: (context: Context) => Promise<T>,
): Promise<T> {
  const context = createLambdaContext(functionName, timeoutMs);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new InvocationTimeoutError(functionName, timeoutMs)), timeoutMs);
  });
  try {
    return await Promise.race([invoke(context), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
