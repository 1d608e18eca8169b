/**
 * The submit's floor: the three SDK calls the handler must make (the PENDING record, the queue
 * message and the record's mark that it is queued), made directly with the same SDK clients against the same emulators, from the same process
 * as the handler, so that both pay the clients' CPU on the same core.
 */
import { createServer, type Server } from 'node:http';
import { DynamoDBClient, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';

export interface FloorTarget {
  dynamodbEndpoint: string;
  sqsEndpoint: string;
  tableName: string;
  queueUrl: string;
}

const config = { region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };

/** The record's PutItem, the message's SendMessage and the mark's UpdateItem, as the submit handler makes them. */
function submitCalls(target: FloorTarget, dynamodb: DynamoDBClient, sqs: SQSClient) {
  return (body: string, overlapped: boolean) => {
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
    const mark = () =>
      dynamodb.send(
        new UpdateItemCommand({
          TableName: target.tableName,
          Key: { taskId: { S: taskId } },
          UpdateExpression: 'SET #queuedAt = :queuedAt',
          ConditionExpression: 'attribute_exists(taskId)',
          ExpressionAttributeNames: { '#queuedAt': 'queuedAt' },
          ExpressionAttributeValues: { ':queuedAt': { S: new Date().toISOString() } },
        }),
      );
    return overlapped ? Promise.all([put(), send()]).then(mark) : put().then(send).then(mark);
  };
}

/**
 * The floor behind HTTP: the smallest server that makes the submit's calls, so that the load tool
 * measures it exactly as it measures the local gateway and the handler (same HTTP hop, same client).
 */
export async function startHttpFloor(target: FloorTarget): Promise<{ url: string; close(): Promise<void> }> {
  const dynamodb = new DynamoDBClient({ ...config, endpoint: target.dynamodbEndpoint });
  const sqs = new SQSClient({ ...config, endpoint: target.sqsEndpoint });
  const calls = submitCalls(target, dynamodb, sqs);
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      calls(Buffer.concat(chunks).toString('utf8'), true).then(
        () => {
          response.writeHead(202, { 'content-type': 'application/json' });
          response.end('{"status":"PENDING"}');
        },
        () => {
          response.writeHead(503);
          response.end();
        },
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        dynamodb.destroy();
        sqs.destroy();
        server.close(() => resolve());
      }),
  };
}

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
  const calls = submitCalls(target, dynamodb, sqs);
  const times: number[] = [];
  let next = 0;
  const one = async () => {
    const start = performance.now();
    await calls(body, overlapped);
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
