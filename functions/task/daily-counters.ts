/**
 * The per-day counters the daily report reads: tasks accepted, sent, retried and failed per UTC day,
 * and emails skipped by the autoresponse limit, bounced, complained of, judged invalid by SES's address
 * validation or held back by the autoresponse breaker, kept in the task table
 * beside the tasks (never a Scan to count them).
 *
 * A day's counts are spread over {@link STATS_SHARDS} items, `stats#YYYY-MM-DD#0` … `#9`, each ADD going
 * to a random one: a single item takes about 1000 writes a second, and at the highest SES rate the worker
 * allows (1000 emails/s, plus the accepted/retried/failed counts) one item per day would throttle. The
 * report sums the shards with one BatchGetItem.
 */
import {
  type AttributeValue,
  BatchGetItemCommand,
  type DynamoDBClient,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { expiresAt } from './record.ts';

/** The per-day counters, numeric attributes of a day's counter items. */
export interface DailyCounters {
  /** Tasks first claimed by a worker, counted on the day they were created (UTC). */
  accepted: number;
  /** Tasks that reached `SUCCESS` that day. */
  sent: number;
  /** Transitions to `RETRY` that day. */
  retried: number;
  /** Tasks that reached `FAILURE` that day. */
  failed: number;
  /** Visitor emails not sent that day: their address had its autoresponses for the window. */
  skipped: number;
  /** Emails SES reported bounced (or suppressed) that day. */
  bounced: number;
  /** Emails whose recipient complained (marked them as spam) that day. */
  complained: number;
  /** Visitor emails SES's Auto Validation judged unable to receive mail that day (not sent). */
  invalid: number;
  /** Visitor emails not sent that day because the circuit breaker had paused the autoresponses. */
  paused: number;
}

/** One of the per-day counters. */
export type Counter = keyof DailyCounters;

/** Every counter at zero: a day without any. */
export const NO_COUNTS: Readonly<DailyCounters> = {
  accepted: 0,
  sent: 0,
  retried: 0,
  failed: 0,
  skipped: 0,
  bounced: 0,
  complained: 0,
  invalid: 0,
  paused: 0,
};

const COUNTERS = Object.keys(NO_COUNTS) as Counter[];

/** Key prefix of the per-day counter items that share the task table (never a valid task id). */
export const STATS_KEY_PREFIX = 'stats#';

/** Items a day's counts are spread over: ten items take ten times the writes of one. */
export const STATS_SHARDS = 10;

/** Days a counter item lives: a year of daily figures, for a few bytes each. */
export const STATS_TTL_DAYS = 400;

/** The `taskId` of one of the counter items of a UTC day `YYYY-MM-DD`. */
export function statsKey(day: string, shard: number): string {
  return `${STATS_KEY_PREFIX}${day}#${shard}`;
}

/** The key of the single, unsharded item of a day counted before the counters were sharded. */
function unshardedStatsKey(day: string): string {
  return `${STATS_KEY_PREFIX}${day}`;
}

/** Settings of {@link DailyCounterStore}. */
export interface DailyCounterStoreOptions {
  dynamodb: DynamoDBClient;
  tableName: string;
  /** Told of a count that failed: counts are best effort, a task's own writes are not. */
  onError?: (error: unknown, day: string, counter: Counter) => void;
  /** The shard picker, replaceable in tests. */
  random?: () => number;
}

/** Reads and adds to the per-day counters. */
export class DailyCounterStore {
  readonly #options: DailyCounterStoreOptions;

  constructor(options: DailyCounterStoreOptions) {
    this.#options = options;
  }

  /**
   * Adds one to a counter of a day, on a random shard, creating the item (with its TTL) on its first
   * count. Never rejects: a failure goes to `onError`.
   */
  async add(day: string, counter: Counter): Promise<void> {
    const { dynamodb, tableName, onError, random = Math.random } = this.#options;
    const shard = Math.min(STATS_SHARDS - 1, Math.floor(random() * STATS_SHARDS));
    try {
      await dynamodb.send(
        new UpdateItemCommand({
          TableName: tableName,
          Key: { taskId: { S: statsKey(day, shard) } },
          UpdateExpression: 'ADD #counter :one SET #expiresAt = if_not_exists(#expiresAt, :expiresAt)',
          ExpressionAttributeNames: { '#counter': counter, '#expiresAt': 'expiresAt' },
          ExpressionAttributeValues: {
            ':one': { N: '1' },
            ':expiresAt': { N: String(expiresAt(new Date(`${day}T00:00:00Z`), STATS_TTL_DAYS)) },
          },
        }),
      );
    } catch (error) {
      onError?.(error, day, counter);
    }
  }

  /** The counters of a UTC day `YYYY-MM-DD` (zeros for a day without any): every shard, one BatchGetItem. */
  async read(day: string): Promise<DailyCounters> {
    const { dynamodb, tableName } = this.#options;
    const shards = Array.from({ length: STATS_SHARDS }, (_, shard) => statsKey(day, shard));
    let keys: Record<string, AttributeValue>[] = [unshardedStatsKey(day), ...shards].map((taskId) => ({
      taskId: { S: taskId },
    }));
    const totals: DailyCounters = { ...NO_COUNTS };
    // BatchGetItem may leave keys unprocessed under load: those are asked for again, a few times.
    for (let attempt = 1; keys.length > 0; attempt++) {
      if (attempt > 5)
        throw new Error(`Could not read the counters of ${day}: DynamoDB kept keys unprocessed`);
      if (attempt > 1) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
      const { Responses, UnprocessedKeys } = await dynamodb.send(
        new BatchGetItemCommand({ RequestItems: { [tableName]: { Keys: keys } } }),
      );
      for (const item of Responses?.[tableName] ?? []) {
        for (const counter of COUNTERS) totals[counter] += Number(item[counter]?.N ?? 0);
      }
      keys = UnprocessedKeys?.[tableName]?.Keys ?? [];
    }
    return totals;
  }
}
