/**
 * Who holds a task: the worker's claim, with a lease, and its renewal before each SES call. The claim is
 * one conditional write, so two holders of the same message can never both send; what the holder then
 * writes is in `lifecycle.ts`.
 */
import { type DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { isConditionFailure } from '../commons/errors.ts';
import { type EmailState, isFinal, type Recipient, type TaskRecord, TaskStatus, utcDay } from './record.ts';
import { readTask } from './store.ts';
import { HELD_BY_US, N, S, type TaskTableOptions, taskUpdate } from './updates.ts';

/** A task this worker holds: its attempt number is the proof of the claim in every later write. */
export interface ClaimedTask {
  taskId: string;
  /** The attempt this claim started (the record's `attempts` after the claim). */
  attempts: number;
  /** This attempt's number toward the worker's limit (the record's `countedAttempts` after the claim). */
  countedAttempts: number;
  /** ISO-8601 UTC, from the record. */
  createdAt: string;
  /** Epoch milliseconds when this attempt started. */
  startedAtMs: number;
  /** The emails already settled by earlier attempts: those are never sent again. */
  emails: Partial<Record<Recipient, EmailState>>;
  /** The visitor's email was already counted against its address's autoresponse limit. */
  autoresponseCounted: boolean;
  /** Epoch milliseconds until which this worker holds the task: the claim's, or the last renewal's. */
  leaseUntilMs?: number;
}

/** What a look at a task found, when it did not (or may not) claim it. */
export type Unclaimed =
  /** The task is `SUCCESS` or `FAILURE` already: nothing to do. */
  | { outcome: 'finished'; status: TaskStatus }
  /**
   * Another worker holds a live lease on it, or released it an instant ago: look again in
   * `freeInSeconds`, when the lease has run out (the holder has finished, or crashed and freed it).
   */
  | { outcome: 'held'; status: TaskStatus; freeInSeconds: number }
  /** No record: its submit answered 503 after all, or the record expired. */
  | { outcome: 'missing' }
  /**
   * The task is to be given up: it used up its attempts (or its message its receives), or this very
   * message was given up before and its move to the dead-letter queue was cut short.
   */
  | { outcome: 'give-up'; record: TaskRecord };

/** What a claim found. */
export type ClaimResult =
  /** This worker now holds the task until its lease expires. */
  { outcome: 'claimed'; task: ClaimedTask } | Unclaimed;

/** The lease was lost: another worker claimed the task after this one's lease ran out. */
export class LeaseLostError extends Error {
  override name = 'LeaseLost';
}

/** Settings of {@link TaskClaims}. */
export interface TaskClaimsOptions extends TaskTableOptions {
  /** How long a claim holds a task; must outlast the worker's timeout. */
  leaseSeconds: number;
  /** The worker's limit of a task's counted attempts (`countedAttempts`). */
  maxAttempts: number;
}

/**
 * The conditions of the claim: attempts left, and a new or retried task, a `STARTED` one whose holder's
 * lease ran out (it crashed or timed out), or a `FAILURE` that ran out of retries and was redriven from
 * the dead-letter queue (a copy, not the message the give-up moved: that one only comes back when its
 * move was cut short).
 */
const CLAIMABLE =
  'attribute_exists(#taskId) AND (attribute_not_exists(#countedAttempts) OR #countedAttempts < :maxAttempts) AND (#status IN (:pending, :retry) OR (#status = :started AND #leaseExpiresAt < :now) OR (#status = :failure AND #retriesExhausted = :true AND (attribute_not_exists(#givenUpMessageId) OR #givenUpMessageId <> :messageId)))';

/** The worker's claims on tasks. */
export class TaskClaims {
  readonly #dynamodb: DynamoDBClient;
  readonly #tableName: string;
  readonly #leaseMs: number;
  readonly #maxAttempts: number;
  readonly #counters: TaskTableOptions['counters'];

  constructor(options: TaskClaimsOptions) {
    this.#dynamodb = options.dynamodb;
    this.#tableName = options.tableName;
    this.#leaseMs = options.leaseSeconds * 1000;
    this.#maxAttempts = options.maxAttempts;
    this.#counters = options.counters;
  }

  /**
   * Claims a task for the message `messageId`: `STARTED`, attempts + 1 (and its counted and presumed-lost
   * attempts + 1: its own outcome takes the latter back), startedAt, leaseExpiresAt = now + lease, in one
   * conditional write. Counts the task as accepted on its first claim.
   */
  async claim(taskId: string, messageId: string): Promise<ClaimResult> {
    const now = Date.now();
    try {
      const { Attributes } = await this.#dynamodb.send(
        new UpdateItemCommand({
          ...taskUpdate(
            this.#tableName,
            taskId,
            'SET #status = :started, #startedAt = :nowIso, #leaseExpiresAt = :leaseUntil, #updatedAt = :nowIso, #emails = if_not_exists(#emails, :noEmails) ADD #attempts :one, #countedAttempts :one, #lostAttempts :one REMOVE #error, #finishedAt, #runtimeMs, #retriesExhausted, #givenUpMessageId',
            CLAIMABLE,
            now,
            {
              ':leaseUntil': N(now + this.#leaseMs),
              ':noEmails': { M: {} },
              ':one': N(1),
              ':maxAttempts': N(this.#maxAttempts),
              ':messageId': S(messageId),
            },
          ),
          ReturnValues: 'ALL_NEW',
        }),
      );
      const record = unmarshall(Attributes ?? {}) as TaskRecord;
      const task: ClaimedTask = {
        taskId,
        attempts: record.attempts,
        countedAttempts: record.countedAttempts ?? record.attempts,
        createdAt: record.createdAt,
        startedAtMs: now,
        emails: record.emails ?? {},
        autoresponseCounted: record.autoresponseCounted === true,
      };
      if (task.attempts === 1) await this.#counters?.add(dayOf(task.createdAt, now), 'accepted');
      return { outcome: 'claimed', task };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    const record = await readTask(this.#dynamodb, this.#tableName, taskId);
    return unclaimed(record, messageId, { givingUp: false, maxAttempts: this.#maxAttempts });
  }

  /**
   * Looks at a task without claiming it, for a message on one of its last receives, when the worker
   * does no work but gives up: every task neither finished nor held is to be given up.
   */
  async inspect(taskId: string, messageId: string): Promise<Unclaimed> {
    const record = await readTask(this.#dynamodb, this.#tableName, taskId);
    return unclaimed(record, messageId, { givingUp: true, maxAttempts: this.#maxAttempts });
  }

  /**
   * Makes sure this worker holds the task for a while yet. Called just before each SES call, so that
   * the one step that cannot be undone happens only under a live lease. While more than half of the
   * lease is left, nobody else can have claimed the task (a claim needs it expired), so nothing is
   * written; otherwise the lease is extended to a full one from now, proving the hold — one DynamoDB
   * write fewer per task in the usual case, where the slow work is short against the lease.
   *
   * @throws {LeaseLostError} when another worker claimed the task meanwhile
   */
  async renewLease(task: ClaimedTask): Promise<void> {
    const now = Date.now();
    if ((task.leaseUntilMs ?? task.startedAtMs + this.#leaseMs) - now > this.#leaseMs / 2) return;
    try {
      await this.#dynamodb.send(
        new UpdateItemCommand(
          taskUpdate(this.#tableName, task.taskId, 'SET #leaseExpiresAt = :leaseUntil', HELD_BY_US, now, {
            ':leaseUntil': N(now + this.#leaseMs),
            ':attempts': N(task.attempts),
          }),
        ),
      );
      task.leaseUntilMs = now + this.#leaseMs;
    } catch (error) {
      if (isConditionFailure(error))
        throw new LeaseLostError(`Task ${task.taskId} was claimed by another worker`);
      throw error;
    }
  }
}

/**
 * Why a task was not claimed, from its record. A message given up before (its move to the dead-letter
 * queue cut short) is given up again; a task with a live lease is held; with `givingUp`, or once its
 * attempts are used up, any other unfinished task is given up.
 */
function unclaimed(
  record: TaskRecord | undefined,
  messageId: string,
  { givingUp, maxAttempts, now = Date.now() }: { givingUp: boolean; maxAttempts: number; now?: number },
): Unclaimed {
  if (record === undefined) return { outcome: 'missing' };
  const givenUp = record.status === TaskStatus.FAILURE && record.retriesExhausted === true;
  if (givenUp && (givingUp || record.givenUpMessageId === messageId)) return { outcome: 'give-up', record };
  if (isFinal(record.status)) return { outcome: 'finished', status: record.status };
  const leaseLeftMs = (record.leaseExpiresAt ?? 0) - now;
  const held = record.status === TaskStatus.STARTED && leaseLeftMs >= 0;
  if (!held && (givingUp || (record.countedAttempts ?? 0) >= maxAttempts))
    return { outcome: 'give-up', record };
  return {
    outcome: 'held',
    status: record.status,
    freeInSeconds: Math.max(1, Math.ceil(leaseLeftMs / 1000) + 1),
  };
}

function dayOf(isoTime: string, fallback: number): string {
  const time = new Date(isoTime);
  return utcDay(Number.isNaN(time.getTime()) ? new Date(fallback) : time);
}
