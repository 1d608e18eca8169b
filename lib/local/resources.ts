import { CreateTableCommand, type DynamoDBClient, ResourceInUseException } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { emailEventsQueue, queue } from '../../functions/config/settings.ts';

/**
 * Names of the local resources. On AWS, CloudFormation names them; locally they are fixed so that
 * `npm run task` and a second `npm start` find them.
 */
export const localResourceNames = {
  table: 'feedback-tasks',
  queue: 'feedback-queue',
  deadLetterQueue: 'feedback-dead-letter-queue',
  emailEventQueue: 'email-event-queue',
  emailEventDeadLetterQueue: 'email-event-dead-letter-queue',
  configurationSet: 'feedback-emails',
  autoresponseConfigurationSet: 'feedback-autoresponses',
} as const;

export const LOCAL_REGION = 'us-east-1';
export const LOCAL_ACCOUNT_ID = '000000000000';

/** What an SDK client needs to reach an emulator, beside its endpoint: the emulators accept any credentials. */
export const LOCAL_CLIENT_CONFIG = {
  region: LOCAL_REGION,
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
};

/** Creates the task table as the stack does, unless it exists (kept data). dynalite does not emulate TTL. */
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

/** A queue's visibility timeout and receives before its dead-letter queue. */
type Redrive = { visibilityTimeoutSeconds: number; maxReceiveCount: number };

/**
 * Creates the feedback queue and the email-event queue as the stack does, each after its dead-letter
 * queue, with the stack's redrive policies, timeouts and retentions (the settings' unless overridden).
 */
export async function ensureQueues(sqs: SQSClient, settings: Redrive & { emailEvents: Redrive }) {
  const arn = (name: string) => `arn:aws:sqs:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:${name}`;
  const create = async (QueueName: string, Attributes: Record<string, string>) =>
    (await sqs.send(new CreateQueueCommand({ QueueName, Attributes }))).QueueUrl ?? '';
  const withDeadLetters = async (
    name: string,
    deadLetterName: string,
    config: Redrive & { retentionSeconds: number; deadLetterRetentionSeconds: number },
  ) => {
    const deadLetterQueueUrl = await create(deadLetterName, {
      MessageRetentionPeriod: String(config.deadLetterRetentionSeconds),
    });
    const queueUrl = await create(name, {
      VisibilityTimeout: String(config.visibilityTimeoutSeconds),
      MessageRetentionPeriod: String(config.retentionSeconds),
      RedrivePolicy: JSON.stringify({
        deadLetterTargetArn: arn(deadLetterName),
        maxReceiveCount: config.maxReceiveCount,
      }),
    });
    return { queueUrl, queueArn: arn(name), deadLetterQueueUrl };
  };
  const { queue: feedback, deadLetterQueue, emailEventQueue, emailEventDeadLetterQueue } = localResourceNames;
  return {
    ...(await withDeadLetters(feedback, deadLetterQueue, { ...queue, ...settings })),
    emailEvents: await withDeadLetters(emailEventQueue, emailEventDeadLetterQueue, {
      ...emailEventsQueue,
      ...settings.emailEvents,
    }),
  };
}
