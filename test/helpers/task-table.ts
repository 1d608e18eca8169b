/**
 * A real DynamoDB implementation for the tests of the task record's writes (their conditions are the
 * whole point): dynalite, in memory, on a free port, with the task table created.
 */
import { CreateTableCommand, DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { TaskRecord } from '../../functions/task/record.ts';
import { startDynamoDb } from '../../lib/local/emulators.ts';

/** A running dynalite with the task table, and a client for it. */
export interface TaskTable {
  tableName: string;
  /** The endpoint, for `AWS_ENDPOINT_URL_DYNAMODB`. */
  endpoint: string;
  dynamodb: DynamoDBClient;
  /** Writes a record as the submit handler does (PENDING, attempts 0) unless overridden; returns its id. */
  put(overrides?: Partial<TaskRecord>): Promise<string>;
  /** An item as stored, or undefined. */
  get(taskId: string): Promise<Record<string, unknown> | undefined>;
  stop(): Promise<void>;
}

/** The environment a handler needs to reach the table. */
export function taskTableEnv(table: TaskTable): Record<string, string> {
  return {
    TASKS_TABLE_NAME: table.tableName,
    AWS_ENDPOINT_URL_DYNAMODB: table.endpoint,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
  };
}

/** Starts dynalite and creates the table (call in `beforeAll`). */
export async function startTaskTable(tableName = 'Tasks'): Promise<TaskTable> {
  const server = await startDynamoDb({ host: '127.0.0.1', port: 0 }, undefined);
  const { endpoint } = server;
  const dynamodb = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  await dynamodb.send(
    new CreateTableCommand({
      TableName: tableName,
      KeySchema: [{ AttributeName: 'taskId', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'taskId', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  return {
    tableName,
    endpoint,
    dynamodb,
    async put(overrides = {}) {
      const record: TaskRecord = {
        taskId: crypto.randomUUID(),
        status: 'PENDING',
        createdAt: new Date().toISOString(),
        attempts: 0,
        expiresAt: 1_800_000_000,
        ...overrides,
      };
      await dynamodb.send(new PutItemCommand({ TableName: tableName, Item: marshall(record) }));
      return record.taskId;
    },
    async get(taskId) {
      const { Item } = await dynamodb.send(
        new GetItemCommand({ TableName: tableName, Key: { taskId: { S: taskId } }, ConsistentRead: true }),
      );
      return Item === undefined ? undefined : unmarshall(Item);
    },
    async stop() {
      dynamodb.destroy();
      await server.close();
    },
  };
}
