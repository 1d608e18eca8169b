import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceNotFoundException,
} from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { queue } from '../../functions/commons/settings';

/**
 * Names of the local resources. On AWS, CloudFormation names them (no hard-coded physical names);
 * locally they are fixed so that `npm run task` and a second `npm start` find them.
 */
export const localResourceNames = {
  table: 'feedback-tasks',
  queue: 'feedback-queue',
  deadLetterQueue: 'feedback-dead-letter-queue',
} as const;

/** The region the local stack and its clients use. */
export const LOCAL_REGION = 'us-east-1';

/** The account id in the local queues' ARNs and URLs. */
export const LOCAL_ACCOUNT_ID = '000000000000';

/**
 * Creates the task table as the stack does (partition key `taskId`, on demand) unless it exists,
 * which it does on a second `npm start` with kept data. TTL is not emulated by dynalite.
 */
export async function ensureTable(dynamodb: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await dynamodb.send(new DescribeTableCommand({ TableName: tableName }));
    return;
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
  }
  await dynamodb.send(
    new CreateTableCommand({
      TableName: tableName,
      AttributeDefinitions: [{ AttributeName: 'taskId', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'taskId', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
}

/** The feedback queue and its dead-letter queue, as created. */
export interface LocalQueues {
  queueUrl: string;
  queueArn: string;
  deadLetterQueueUrl: string;
  deadLetterQueueArn: string;
}

/** Settings of the queues that tests may shrink; the defaults are the stack's (functions/commons/settings.ts). */
export interface QueueSettings {
  visibilityTimeoutSeconds: number;
  maxReceiveCount: number;
}

/** Creates the dead-letter queue, then the feedback queue with the stack's redrive policy and timeouts. */
export async function ensureQueues(sqs: SQSClient, settings: QueueSettings): Promise<LocalQueues> {
  const deadLetter = await sqs.send(
    new CreateQueueCommand({
      QueueName: localResourceNames.deadLetterQueue,
      Attributes: { MessageRetentionPeriod: String(queue.deadLetterRetentionSeconds) },
    }),
  );
  const deadLetterQueueUrl = required(deadLetter.QueueUrl, 'dead-letter queue URL');
  const deadLetterQueueArn = await queueArn(sqs, deadLetterQueueUrl);
  const feedback = await sqs.send(
    new CreateQueueCommand({
      QueueName: localResourceNames.queue,
      Attributes: {
        VisibilityTimeout: String(settings.visibilityTimeoutSeconds),
        MessageRetentionPeriod: String(queue.retentionSeconds),
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: deadLetterQueueArn,
          maxReceiveCount: settings.maxReceiveCount,
        }),
      },
    }),
  );
  const queueUrl = required(feedback.QueueUrl, 'queue URL');
  return { queueUrl, queueArn: await queueArn(sqs, queueUrl), deadLetterQueueUrl, deadLetterQueueArn };
}

async function queueArn(sqs: SQSClient, queueUrl: string): Promise<string> {
  const answer = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
  );
  return required(answer.Attributes?.QueueArn, 'queue ARN');
}

function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`The SQS emulator answered without a ${what}`);
  return value;
}
