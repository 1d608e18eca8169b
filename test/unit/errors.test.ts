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
import {
  classifyError,
  describeError,
  InvalidPayloadError,
  isConditionFailure,
  isKnownTransient,
} from '../../functions/commons/errors';

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
