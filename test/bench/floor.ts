/**
 * The submit's floor: the two SDK calls the handler must make (the PENDING record and the queue
 * message), made directly with the same SDK clients against the same emulators, from the same process
 * as the handler, so that both pay the clients' CPU on the same core.
 */
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';

export interface FloorTarget {
  dynamodbEndpoint: string;
  sqsEndpoint: string;
  tableName: string;
  queueUrl: string;
}

const config = { region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };

/** Latency of each of `amount` submissions' calls, ms, `connections` at a time. */
export async function floorLatencies(
  target: FloorTarget,
  connections: number,
  amount: number,
  overlapped: boolean,
): Promise<number[]> {
  const dynamodb = new DynamoDBClient({ ...config, endpoint: target.dynamodbEndpoint });
  const sqs = new SQSClient({ ...config, endpoint: target.sqsEndpoint });
  const body = JSON.stringify({ email: 'visitor@example.com', message: 'Benchmark feedback.' });
  const times: number[] = [];
  let next = 0;
  const one = async () => {
    const taskId = crypto.randomUUID();
    const put = () =>
      dynamodb.send(
        new PutItemCommand({
          TableName: target.tableName,
          Item: {
            taskId: { S: taskId },
            status: { S: 'PENDING' },
            createdAt: { S: new Date().toISOString() },
            attempts: { N: '0' },
            expiresAt: { N: String(Math.floor(Date.now() / 1000) + 3600) },
          },
          ConditionExpression: 'attribute_not_exists(taskId)',
        }),
      );
    const send = () => sqs.send(new SendMessageCommand({ QueueUrl: target.queueUrl, MessageBody: body }));
    const start = performance.now();
    if (overlapped) await Promise.all([put(), send()]);
    else {
      await put();
      await send();
    }
    times.push(performance.now() - start);
  };
  try {
    await Promise.all(
      Array.from({ length: connections }, async () => {
        while (next++ < amount) await one();
      }),
    );
  } finally {
    dynamodb.destroy();
    sqs.destroy();
  }
  return times;
}
