/**
 * The per-recipient limit on the visitor's autoresponse ("Your Feedback"): anyone can type a stranger's
 * address into the form, so one address gets at most `maxPerWindow` autoresponses per window. The owner's
 * notification is not limited (the feedback is still accepted and still reaches the owner), nor are
 * SES's mailbox simulator's addresses, which reach no one and are what a site owner tests bounces with.
 *
 * The counter lives in the task table (one table is the contract) as `taskId = "limit#<hex>"`, where hex is
 * an HMAC-SHA256 of the lower-cased address under a secret key: the table never holds the address, and
 * without the key nobody can test a list of known addresses against the stored hashes. The item expires by
 * the table's TTL (`expiresAt`) at the end of its window; TTL deletes lazily, so the conditions compare
 * `expiresAt` with the clock themselves.
 */
import { createHmac } from 'node:crypto';
import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { MAILBOX_SIMULATOR } from './messages.ts';

/** What {@link createAutoresponseLimit} needs. */
export interface AutoresponseLimitOptions {
  dynamodb: DynamoDBClient;
  tableName: string;
  /** The HMAC key (`AUTORESPONSE_HASH_KEY`). */
  key: string;
  /** Autoresponses to one address per window, at most (at least 1). */
  maxPerWindow: number;
  windowSeconds: number;
  /** The clock, for tests. */
  now?: () => Date;
}

/** The limit: `take` counts one autoresponse to an address, or refuses it. */
export interface AutoresponseLimit {
  /**
   * Counts one autoresponse to `address` and answers true, or answers false (counting nothing) when the
   * address has had `maxPerWindow` in its current window.
   */
  take(address: string): Promise<boolean>;
}

/** The counter's key in the task table: never the address itself. */
export function limitKey(key: string, address: string): string {
  return `limit#${createHmac('sha256', key).update(address.trim().toLowerCase()).digest('hex')}`;
}

/** A per-recipient limit backed by conditional writes to the task table. */
export function createAutoresponseLimit(options: AutoresponseLimitOptions): AutoresponseLimit {
  const { dynamodb, tableName, key, maxPerWindow, windowSeconds, now = () => new Date() } = options;
  if (!(Number.isInteger(maxPerWindow) && maxPerWindow >= 1)) {
    throw new Error(`The autoresponse limit must be an integer of at least 1, got ${maxPerWindow}`);
  }
  if (key === '') throw new Error('The autoresponse limit needs a hash key');

  /** Runs a conditional update; false when its condition failed. */
  const attempt = async (command: UpdateItemCommand): Promise<boolean> => {
    try {
      await dynamodb.send(command);
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  };

  return {
    async take(address) {
      if (MAILBOX_SIMULATOR.test(address.trim())) return true;
      const Key = { taskId: { S: limitKey(key, address) } };
      const nowSeconds = Math.floor(now().getTime() / 1000);
      const names = { '#count': 'autoresponses', '#expiresAt': 'expiresAt' };
      // A new window, when there is no counter or its window has ended (whether or not TTL removed it).
      const opened = await attempt(
        new UpdateItemCommand({
          TableName: tableName,
          Key,
          UpdateExpression: 'SET #count = :one, #expiresAt = :end',
          ConditionExpression: 'attribute_not_exists(taskId) OR #expiresAt <= :now',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: {
            ':one': { N: '1' },
            ':end': { N: String(nowSeconds + windowSeconds) },
            ':now': { N: String(nowSeconds) },
          },
        }),
      );
      if (opened) return true;
      // The window is open (a window's end only moves forward, so it still is at the same `now`): count
      // one more unless it is full.
      return attempt(
        new UpdateItemCommand({
          TableName: tableName,
          Key,
          UpdateExpression: 'ADD #count :one',
          ConditionExpression: '#count < :max AND #expiresAt > :now',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: {
            ':one': { N: '1' },
            ':max': { N: String(maxPerWindow) },
            ':now': { N: String(nowSeconds) },
          },
        }),
      );
    },
  };
}
