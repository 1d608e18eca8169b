/**
 * SQS events as the Lambda event source delivers them, for the email worker's tests.
 */
import { randomUUID } from 'node:crypto';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import type { FeedbackMessage } from '../../functions/form/queue-message.ts';
import { validFeedback } from './feedback.ts';

/** Options of {@link sqsRecord}. */
export interface SqsRecordOptions {
  messageId?: string;
  /** ApproximateReceiveCount: 1 on the first delivery. */
  receiveCount?: number;
  /** SentTimestamp, epoch milliseconds; default now. */
  sentAt?: number;
}

/** One SQS record with a raw body. */
export function sqsRecord(body: string, options: SqsRecordOptions = {}): SQSRecord {
  const messageId = options.messageId ?? randomUUID();
  const sentAt = options.sentAt ?? Date.now();
  return {
    messageId,
    receiptHandle: `receipt-${messageId}`,
    body,
    attributes: {
      ApproximateReceiveCount: String(options.receiveCount ?? 1),
      SentTimestamp: String(sentAt),
      SenderId: 'AIDAEXAMPLE',
      ApproximateFirstReceiveTimestamp: String(sentAt),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:FeedbackQueue',
    awsRegion: 'us-east-1',
  };
}

/** A feedback message (the submit handler's): {@link validFeedback}'s fields, a fresh task id unless given. */
export function feedbackMessage(overrides: Partial<FeedbackMessage> = {}): FeedbackMessage {
  return validFeedback({
    taskId: randomUUID(),
    createdAt: new Date().toISOString(),
    ...overrides,
  }) as FeedbackMessage;
}

/** An SQS record carrying a feedback message. */
export function feedbackRecord(message: FeedbackMessage, options: SqsRecordOptions = {}): SQSRecord {
  return sqsRecord(JSON.stringify(message), options);
}

/** An SQS event of the given records. */
export function sqsEvent(...records: SQSRecord[]): SQSEvent {
  return { Records: records };
}

/** A Lambda context good enough for the handlers. */
export function lambdaContext(functionName = 'SendFeedbackEmail'): Context {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'stream',
    getRemainingTimeInMillis: () => 60_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
