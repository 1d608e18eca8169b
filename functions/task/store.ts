/**
 * Access to task records outside the worker's lifecycle: create one when feedback is accepted, mark it
 * queued once its message is, take it back when the queue refused the message, read one (the one way a record is read by id, for the
 * status API, the worker and the command-line tools). Low-level DynamoDB commands on the shared client
 * keep the handlers' bundles small.
 */
import {
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { dynamodb } from '../commons/clients/dynamodb.ts';
import { isConditionFailure } from '../commons/errors.ts';
import { type TaskRecord, TaskStatus } from './record.ts';

/**
 * Writes a new task record. Conditional on no record with this id existing, so that a task id is
 * never reused and an existing record is never overwritten. Rejects with the SDK's error.
 */
export async function createTask(tableName: string, record: TaskRecord): Promise<void> {
  await dynamodb.send(
    new PutItemCommand({
      TableName: tableName,
      Item: marshall(record, { removeUndefinedValues: true }),
      ConditionExpression: 'attribute_not_exists(taskId)',
    }),
  );
}

/**
 * Deletes a task whose queue message could not be sent, so that no record claims `PENDING` for a task
 * nobody will work on. Conditional on the status still being `PENDING`: if a worker got the message
 * after all (a send that failed only on the way back) and moved the task on, the record stays.
 * Resolves to whether the record was deleted; rejects with other SDK errors.
 */
export async function removeUnqueuedTask(tableName: string, taskId: string): Promise<boolean> {
  try {
    await dynamodb.send(
      new DeleteItemCommand({
        TableName: tableName,
        Key: { taskId: { S: taskId } },
        ConditionExpression: '#status = :pending',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':pending': { S: TaskStatus.PENDING } },
      }),
    );
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

/**
 * Marks a task's message queued (`queuedAt`), once SQS took it: a `PENDING` record without the mark was
 * never queued (its submit ended in between; see `isUnqueued`). Conditional on the record existing, so
 * that it never brings back one that expired; whatever a worker wrote meanwhile stays.
 */
export async function markQueued(tableName: string, taskId: string, queuedAt: string): Promise<void> {
  await dynamodb.send(
    new UpdateItemCommand({
      TableName: tableName,
      Key: { taskId: { S: taskId } },
      UpdateExpression: 'SET #queuedAt = :queuedAt',
      ConditionExpression: 'attribute_exists(taskId)',
      ExpressionAttributeNames: { '#queuedAt': 'queuedAt' },
      ExpressionAttributeValues: { ':queuedAt': { S: queuedAt } },
    }),
  );
}

/**
 * Reads a task record with a strongly consistent read (the status a visitor sees is never stale, and
 * the worker decides on the latest state), through the given client; undefined when there is none.
 */
export async function readTask(
  client: DynamoDBClient,
  tableName: string,
  taskId: string,
): Promise<TaskRecord | undefined> {
  const { Item } = await client.send(
    new GetItemCommand({ TableName: tableName, Key: { taskId: { S: taskId } }, ConsistentRead: true }),
  );
  return Item === undefined ? undefined : (unmarshall(Item) as TaskRecord);
}

/** {@link readTask} through the handlers' shared client. */
export async function getTask(tableName: string, taskId: string): Promise<TaskRecord | undefined> {
  return readTask(dynamodb, tableName, taskId);
}
