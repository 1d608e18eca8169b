/**
 * The worker's conditional writes to a task record, shared by the claim (`claim.ts`) and the state
 * changes (`lifecycle.ts`). Every `#name` in an expression stands for the attribute of that name, and
 * only the values the expressions use are sent (DynamoDB refuses unused ones).
 */
import {
  type AttributeValue,
  type DynamoDBClient,
  UpdateItemCommand,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import { isConditionFailure } from '../commons/errors.ts';
import type { Counter } from './daily-counters.ts';
import { TaskStatus } from './record.ts';

/** Where the writes go, and where the recorded transitions are counted. */
export interface TaskTableOptions {
  dynamodb: DynamoDBClient;
  tableName: string;
  /** Counts each recorded transition (best effort: it must not reject), e.g. a `DailyCounterStore`. */
  counters?: { add(day: string, counter: Counter): Promise<void> };
}

export const S = (value: string): AttributeValue => ({ S: value });
export const N = (value: number): AttributeValue => ({ N: String(value) });

/** This worker still holds the task: nobody claimed it since (`:attempts` is its claim's). */
export const HELD_BY_US = '#status = :started AND #attempts = :attempts';

/** An UpdateItem on a task, with the values every expression may name (statuses, now, true). */
export function taskUpdate(
  tableName: string,
  taskId: string,
  updateExpression: string,
  conditionExpression: string,
  now: number,
  values: Record<string, AttributeValue>,
): UpdateItemCommandInput {
  const expressions = `${updateExpression} ${conditionExpression}`;
  const names: Record<string, string> = {};
  for (const [placeholder, name] of expressions.matchAll(/#(\w+)/g)) {
    if (name !== undefined) names[placeholder] = name;
  }
  const allValues: Record<string, AttributeValue> = {
    ':pending': S(TaskStatus.PENDING),
    ':retry': S(TaskStatus.RETRY),
    ':started': S(TaskStatus.STARTED),
    ':success': S(TaskStatus.SUCCESS),
    ':failure': S(TaskStatus.FAILURE),
    ':true': { BOOL: true },
    ':minusOne': N(-1),
    ':now': N(now),
    ':nowIso': S(new Date(now).toISOString()),
    ...values,
  };
  const used = new Set(expressions.match(/:\w+/g));
  return {
    TableName: tableName,
    Key: { taskId: S(taskId) },
    UpdateExpression: updateExpression,
    ConditionExpression: conditionExpression,
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: Object.fromEntries(
      Object.entries(allValues).filter(([placeholder]) => used.has(placeholder)),
    ),
  };
}

/** Sends a conditional update; false when its condition did not hold (someone else moved the task). */
export async function updateIfHolds(
  dynamodb: DynamoDBClient,
  input: UpdateItemCommandInput,
): Promise<boolean> {
  try {
    await dynamodb.send(new UpdateItemCommand(input));
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}
