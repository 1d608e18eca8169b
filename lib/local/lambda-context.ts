import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION } from './resources';

/**
 * Runs an in-process invocation with a Lambda context and Lambda's timeout. The handler cannot be
 * killed: after the timeout its result is ignored (as Lambda's would be) with Lambda's "Task timed
 * out", though its promise may still settle later.
 */
export async function invokeWithTimeout<T>(
  functionName: string,
  timeoutMs: number,
  invoke: (context: Context) => Promise<T>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  const context: Context = {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    const message = `${functionName}: task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`;
    timer = setTimeout(() => reject(new Error(message)), timeoutMs);
  });
  try {
    return await Promise.race([invoke(context), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
