import { CreateTableCommand, type DynamoDBClient, ResourceInUseException } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { queue } from '../../functions/commons/settings';

/**
 * Names of the local resources. On AWS, CloudFormation names them (no hard-coded physical names);
 * locally they are fixed so that `npm run task` and a second `npm start` find them.
 */
export const localResourceNames = {
  table: 'feedback-tasks',
  queue: 'feedback-queue',
  deadLetterQueue: 'feedback-dead-letter-queue',
  configurationSet: 'feedback-emails',
} as const;

/** The region the local stack and its clients use. */
export const LOCAL_REGION = 'us-east-1';

/** The account id in the local queues' ARNs and URLs. */
export const LOCAL_ACCOUNT_ID = '000000000000';

/** What an SDK client needs to reach an emulator, beside its endpoint: the emulators accept any credentials. */
export const LOCAL_CLIENT_CONFIG = {
  region: LOCAL_REGION,
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
};

/**
 * Creates the task table as the stack does (partition key `taskId`, on demand) unless it exists,
 * which it does on a second `npm start` with kept data. TTL is not emulated by dynalite.
 */
export async function ensureTable(dynamodb: DynamoDBClient, tableName: string): Promise<void> {
  const create = new CreateTableCommand({
    TableName: tableName,
    AttributeDefinitions: [{ AttributeName: 'taskId', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'taskId', KeyType: 'HASH' }],
    BillingMode: 'PAY_PER_REQUEST',
  });
  await dynamodb.send(create).catch((error: unknown) => {
    if (!(error instanceof ResourceInUseException)) throw error;
  });
}

/** The feedback queue and its dead-letter queue, as created. */
export interface LocalQueues {
  queueUrl: string;
  queueArn: string;
  deadLetterQueueUrl: string;
}

/** Creates the dead-letter queue, then the feedback queue with the stack's redrive policy and timeouts. */
export async function ensureQueues(
  sqs: SQSClient,
  settings: { visibilityTimeoutSeconds: number; maxReceiveCount: number },
): Promise<LocalQueues> {
  const arn = (name: string) => `arn:aws:sqs:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:${name}`;
  const deadLetter = await sqs.send(
    new CreateQueueCommand({
      QueueName: localResourceNames.deadLetterQueue,
      Attributes: { MessageRetentionPeriod: String(queue.deadLetterRetentionSeconds) },
    }),
  );
  const feedback = await sqs.send(
    new CreateQueueCommand({
      QueueName: localResourceNames.queue,
      Attributes: {
        VisibilityTimeout: String(settings.visibilityTimeoutSeconds),
        MessageRetentionPeriod: String(queue.retentionSeconds),
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: arn(localResourceNames.deadLetterQueue),
          maxReceiveCount: settings.maxReceiveCount,
        }),
      },
    }),
  );
  if (!feedback.QueueUrl || !deadLetter.QueueUrl)
    throw new Error('The SQS emulator answered without a queue URL');
  return {
    queueUrl: feedback.QueueUrl,
    queueArn: arn(localResourceNames.queue),
    deadLetterQueueUrl: deadLetter.QueueUrl,
  };
}
