import {
  ConditionalCheckFailedException,
  ProvisionedThroughputExceededException,
} from '@aws-sdk/client-dynamodb';
import {
  MailFromDomainNotVerifiedException,
  MessageRejected,
  SESServiceException,
} from '@aws-sdk/client-ses';
import { describe, expect, it } from 'vitest';
import { describeError, isConditionFailure } from '../../functions/commons/errors.ts';
import { RequestBuildError } from '../../functions/email/sender.ts';
import type { TaskRecord } from '../../functions/task/record.ts';
import {
  classifyError,
  decideOnError,
  givenUpError,
  InvalidPayloadError,
  isKnownTransient,
  QUOTA_ERROR,
  quotaDelaySeconds,
  quotaWaitedSeconds,
  retryDelaySeconds,
  WORKER_LOST_ERROR_TYPE,
} from '../../functions/worker/retry-policy.ts';

function sdkError(name: string, fields: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(`${name} happened`), { name, ...fields });
}

function networkError(code: string): Error {
  return Object.assign(new Error(`connect ${code} 127.0.0.1:8005`), { code });
}

describe('classifyError', () => {
  it.each([
    [
      'SES throttling',
      new SESServiceException({
        name: 'Throttling',
        message: 'Maximum sending rate exceeded.',
        $fault: 'client',
        $metadata: { httpStatusCode: 400 },
      }),
    ],
    [
      'DynamoDB ProvisionedThroughputExceeded',
      new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} }),
    ],
    ['DynamoDB ThrottlingException', sdkError('ThrottlingException')],
    ['a 5xx answer', sdkError('InternalFailure', { $fault: 'server', $metadata: { httpStatusCode: 500 } })],
    ['a 503 of unknown name', sdkError('Weird', { $metadata: { httpStatusCode: 503 } })],
    ['a server fault', sdkError('Whatever', { $fault: 'server' })],
    ['an SDK timeout', sdkError('TimeoutError')],
    ['ECONNREFUSED', networkError('ECONNREFUSED')],
    ['ECONNRESET', networkError('ECONNRESET')],
    ['ETIMEDOUT', networkError('ETIMEDOUT')],
  ])('retries %s (a known transient error)', (_label, error) => {
    // Prepare / Act
    const kind = classifyError(error);

    // Assess
    expect(kind).toBe('transient');
    expect(isKnownTransient(error)).toBe(true);
  });

  it.each([
    [
      'SES MessageRejected',
      new MessageRejected({ message: 'Email address is not verified.', $metadata: {} }),
    ],
    [
      'MailFromDomainNotVerified',
      new MailFromDomainNotVerifiedException({ message: 'not verified', $metadata: {} }),
    ],
    ['an invalid address', sdkError('InvalidParameterValue')],
    ['an invalid payload', new InvalidPayloadError('bad message')],
    ['a request that cannot be built', new RequestBuildError('URI malformed')],
    ['a URIError of a serializer', new URIError('URI malformed')],
  ])('does not retry %s (permanent)', (_label, error) => {
    // Prepare / Act
    const kind = classifyError(error);

    // Assess
    expect(kind).toBe('permanent');
  });

  it('retries an unknown error to be safe, without calling it a known transient one', () => {
    // Prepare
    const error = sdkError('AccessDeniedException', { $fault: 'client', $metadata: { httpStatusCode: 400 } });

    // Act
    const kind = classifyError(error);

    // Assess
    expect(kind).toBe('transient');
    expect(isKnownTransient(error)).toBe(false);
    expect(classifyError('a string')).toBe('transient');
  });
});

describe('describeError', () => {
  it('masks addresses in the message and keeps the type', () => {
    // Prepare
    const error = new MessageRejected({
      message:
        'The following identities failed the check in region US-EAST-1: someone@example.com, <x.y@z.org>',
      $metadata: {},
    });

    // Act
    const description = describeError(error);

    // Assess
    expect(description).toEqual({
      type: 'MessageRejected',
      message: 'The following identities failed the check in region US-EAST-1: <address>, <<address>>',
    });
  });

  it('names network errors by their code and bounds the message length', () => {
    // Prepare
    const long = Object.assign(new Error('x'.repeat(1000)), { code: 'ECONNRESET' });

    // Act
    const description = describeError(long);

    // Assess
    expect(description.type).toBe('ECONNRESET');
    expect(description.message).toHaveLength(300);
    expect(describeError(undefined)).toEqual({ type: 'Error', message: 'undefined' });
  });
});

describe('isConditionFailure', () => {
  it("recognizes DynamoDB's refused condition, and nothing else", () => {
    // Prepare
    const refused = new ConditionalCheckFailedException({
      message: 'The conditional request failed',
      $metadata: {},
    });
    const throttled = new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} });

    // Act / Assess
    expect(isConditionFailure(refused)).toBe(true);
    expect(isConditionFailure(sdkError('ConditionalCheckFailedException'))).toBe(true);
    expect(isConditionFailure(throttled)).toBe(false);
    expect(isConditionFailure(new Error('ConditionalCheckFailedException'))).toBe(false);
    expect(isConditionFailure(undefined)).toBe(false);
  });
});

const dailyQuota = () =>
  new SESServiceException({
    name: 'Throttling',
    message: 'Daily message quota exceeded.',
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
  });

describe('classifyError: SES daily quota', () => {
  it("tells SES's daily quota from its per-second rate", () => {
    // Prepare
    const rate = new SESServiceException({
      name: 'Throttling',
      message: 'Maximum sending rate exceeded.',
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
    });

    // Act / Assess
    expect(classifyError(dailyQuota())).toBe('quota');
    expect(classifyError(rate)).toBe('transient');
    expect(classifyError(sdkError('ThrottlingException', { message: 'Daily message quota exceeded.' }))).toBe(
      'transient',
    );
  });
});

describe('retryDelaySeconds', () => {
  it('grows exponentially with full jitter, capped, and never under a second', () => {
    // Prepare / Act
    const delays = [1, 2, 3, 4, 10].map((receiveCount) => retryDelaySeconds(receiveCount, () => 1));

    // Assess
    expect(delays).toEqual([5, 10, 20, 40, 300]);
    expect(retryDelaySeconds(4, () => 0)).toBe(1);
  });
});

describe('quotaDelaySeconds', () => {
  it("waits hours, up to SQS's 12 h, and more than a whole day before the fifth receive", () => {
    // Prepare / Act
    const delays = [1, 2, 3, 4, 5, 9].map(quotaDelaySeconds);

    // Assess
    expect(delays).toEqual([3600, 10_800, 32_400, 43_200, 43_200, 43_200]);
    expect(delays.slice(0, 4).reduce((sum, delay) => sum + delay, 0)).toBeGreaterThan(24 * 3600);
  });
});

describe('decideOnError', () => {
  const attempt = { receiveCount: 2, attempt: 2, maxAttempts: 5, lastWorkReceive: 8, random: () => 1 };

  it('fails a permanent error at once, whatever the receive', () => {
    // Prepare / Act
    const decision = decideOnError(new MessageRejected({ message: 'no', $metadata: {} }), attempt);

    // Assess
    expect(decision).toEqual({ action: 'fail', error: { type: 'MessageRejected', message: 'no' } });
  });

  it("retries a transient error after the backoff, and gives up on the task's last attempt", () => {
    // Prepare
    const error = sdkError('ServiceUnavailable', { $fault: 'server' });
    const reason = { type: 'ServiceUnavailable', message: 'ServiceUnavailable happened' };

    // Act
    const retried = decideOnError(error, attempt);
    const lastAttempt = decideOnError(error, { ...attempt, attempt: 5, receiveCount: 5 });
    const lastReceive = decideOnError(error, { ...attempt, receiveCount: 8 });

    // Assess
    expect(retried).toEqual({
      action: 'retry',
      error: reason,
      delaySeconds: 10,
      expected: true,
      deferral: false,
    });
    expect(lastAttempt).toEqual({ action: 'give-up', error: reason });
    expect(lastReceive).toEqual({ action: 'give-up', error: reason });
  });

  it("counts no attempt for SES's send rate or DynamoDB throttling: they give up only on the last working receive", () => {
    // Prepare
    const sesRate = sdkError('Throttling', { message: 'Maximum sending rate exceeded.' });
    const dynamodb = new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} });

    // Act
    const atTheLimit = [sesRate, dynamodb].map((error) => decideOnError(error, { ...attempt, attempt: 5 }));
    const lastReceive = decideOnError(sesRate, { ...attempt, attempt: 5, receiveCount: 8 });

    // Assess
    for (const decision of atTheLimit) expect(decision).toMatchObject({ action: 'retry', deferral: true });
    expect(lastReceive).toMatchObject({ action: 'give-up' });
  });

  it("gives up on the claim's own failure only on the last working receive (no attempt was made)", () => {
    // Prepare
    const error = sdkError('InternalServerError', { $fault: 'server' });
    const { attempt: _, ...claimFailed } = attempt;

    // Act / Assess
    expect(decideOnError(error, { ...claimFailed, receiveCount: 7 })).toMatchObject({ action: 'retry' });
    expect(decideOnError(error, { ...claimFailed, receiveCount: 8 })).toMatchObject({ action: 'give-up' });
  });

  it("defers the daily quota for hours with a plain message, and gives up with SES's own once a day has passed", () => {
    // Prepare / Act
    const deferred = decideOnError(dailyQuota(), { ...attempt, attempt: 5 });
    const fourth = decideOnError(dailyQuota(), { ...attempt, receiveCount: 4 });
    const fifth = decideOnError(dailyQuota(), { ...attempt, receiveCount: 5 });

    // Assess
    expect(deferred).toEqual({
      action: 'retry',
      error: QUOTA_ERROR,
      delaySeconds: 10_800,
      expected: true,
      deferral: true,
    });
    expect(QUOTA_ERROR).toEqual({
      type: 'DailyQuotaExceeded',
      message: 'The daily sending quota of SES is used up; the email is sent once it frees up.',
    });
    expect(fourth).toMatchObject({ action: 'retry', delaySeconds: 43_200 });
    expect(quotaWaitedSeconds(5)).toBe(25 * 3600);
    expect(fifth).toEqual({
      action: 'give-up',
      error: { type: 'Throttling', message: 'Daily message quota exceeded.' },
    });
  });

  it('marks an unknown error as unexpected', () => {
    // Prepare / Act
    const decision = decideOnError(sdkError('AccessDeniedException'), attempt);

    // Assess
    expect(decision).toMatchObject({ action: 'retry', expected: false, deferral: false });
  });
});

describe('givenUpError', () => {
  const record = (overrides: Partial<TaskRecord>): TaskRecord => ({
    taskId: 'task',
    status: 'STARTED',
    createdAt: '2025-06-01T12:00:00.000Z',
    attempts: 5,
    expiresAt: 0,
    ...overrides,
  });

  it('says in plain words that the worker stopped, and how often, for a task left STARTED', () => {
    // Prepare / Act
    const allLost = givenUpError(record({ countedAttempts: 5, lostAttempts: 5 }), 6);
    const lastLost = givenUpError(record({ countedAttempts: 5, lostAttempts: 1 }), 6);
    const once = givenUpError(record({ attempts: 1, countedAttempts: 1, lostAttempts: 1 }), 9);

    // Assess
    expect(allLost).toEqual({
      type: WORKER_LOST_ERROR_TYPE,
      message: 'The worker stopped 5 times without finishing (worker lost)',
    });
    expect(lastLost.message).toBe('The worker stopped once without finishing (worker lost), in 5 attempts');
    expect(once.message).toBe('The worker stopped once without finishing (worker lost)');
  });

  it("keeps a RETRY's last error, SES's own words for the quota, and names a task never started", () => {
    // Prepare
    const throttled = { type: 'Throttling', message: 'Maximum sending rate exceeded.' };

    // Act / Assess
    expect(givenUpError(record({ status: 'RETRY', error: throttled }), 9)).toEqual(throttled);
    expect(givenUpError(record({ status: 'RETRY', error: QUOTA_ERROR }), 9)).toEqual({
      type: 'Throttling',
      message: 'Daily message quota exceeded.',
    });
    expect(givenUpError(record({ status: 'PENDING', attempts: 0 }), 9)).toEqual({
      type: 'NotStarted',
      message: 'The message was received 9 times without the worker starting the task',
    });
  });
});
