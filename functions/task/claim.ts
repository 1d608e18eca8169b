/**
 * Who holds a task: the worker's claim, with a lease, and its renewal before each SES call. The claim is
 * one conditional write, so two holders of the same message can never both send; what the holder then
 * writes is in `lifecycle.ts`.
 */
import { type DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { isConditionFailure } from '../commons/errors.ts';
import {
  type EmailState,
  isFinal,
  type Recipient,
  type TaskRecord,
  type TaskStatus,
  utcDay,
} from './record.ts';
import { readTask } from './store.ts';
import { HELD_BY_US, N, type TaskTableOptions, taskUpdate } from './updates.ts';

/** A task this worker holds: its attempt number is the proof of the claim in every later write. */
export interface ClaimedTask {
  taskId: string;
  /** The attempt this claim started (the record's `attempts` after the claim). */
  attempts: number;
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

/** What a claim found. */
export type ClaimResult =
  /** This worker now holds the task until its lease expires. */
  | { outcome: 'claimed'; task: ClaimedTask }
  /** The task is `SUCCESS` or `FAILURE` already: nothing to do. */
  | { outcome: 'finished'; status: TaskStatus }
  /**
   * Another worker holds a live lease on it, or released it an instant ago: look again in
   * `freeInSeconds`, when the lease has run out (the holder has finished, or crashed and freed it).
   */
  | { outcome: 'held'; status: TaskStatus; freeInSeconds: number }
  /** No record: its submit answered 503 after all, or the record expired. */
  | { outcome: 'missing' };

/** The lease was lost: another worker claimed the task after this one's lease ran out. */
export class LeaseLostError extends Error {
  override name = 'LeaseLost';
}

/** Settings of {@link TaskClaims}. */
export interface TaskClaimsOptions extends TaskTableOptions {
  /** How long a claim holds a task; must outlast the worker's timeout. */
  leaseSeconds: number;
}

/**
 * The conditions of the claim: a new or retried task, a `STARTED` one whose holder's lease ran out
 * (it crashed or timed out), or a `FAILURE` that ran out of retries and was redriven from the
 * dead-letter queue.
 */
const CLAIMABLE =
  'attribute_exists(#taskId) AND (#status IN (:pending, :retry) OR (#status = :started AND #leaseExpiresAt < :now) OR (#status = :failure AND #retriesExhausted = :true))';

/** The worker's claims on tasks. */
export class TaskClaims {
  readonly #dynamodb: DynamoDBClient;
  readonly #tableName: string;
  readonly #leaseMs: number;
  readonly #counters: TaskTableOptions['counters'];

  constructor(options: TaskClaimsOptions) {
    this.#dynamodb = options.dynamodb;
    this.#tableName = options.tableName;
    this.#leaseMs = options.leaseSeconds * 1000;
    this.#counters = options.counters;
  }

  /**
   * Claims a task: `STARTED`, attempts + 1, startedAt, leaseExpiresAt = now + lease, in one
   * conditional write. Counts the task as accepted on its first claim.
   */
  async claim(taskId: string): Promise<ClaimResult> {
    const now = Date.now();
    try {
      const { Attributes } = await this.#dynamodb.send(
        new UpdateItemCommand({
          ...taskUpdate(
            this.#tableName,
            taskId,
            'SET #status = :started, #startedAt = :nowIso, #leaseExpiresAt = :leaseUntil, #updatedAt = :nowIso, #emails = if_not_exists(#emails, :noEmails) ADD #attempts :one REMOVE #error, #finishedAt, #runtimeMs, #retriesExhausted',
            CLAIMABLE,
            now,
            { ':leaseUntil': N(now + this.#leaseMs), ':noEmails': { M: {} }, ':one': N(1) },
          ),
          ReturnValues: 'ALL_NEW',
        }),
      );
      const record = unmarshall(Attributes ?? {}) as TaskRecord;
      const task: ClaimedTask = {
        taskId,
        attempts: record.attempts,
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
    if (record === undefined) return { outcome: 'missing' };
    if (isFinal(record.status)) return { outcome: 'finished', status: record.status };
    const leaseLeftMs = (record.leaseExpiresAt ?? 0) - Date.now();
    return {
      outcome: 'held',
      status: record.status,
      freeInSeconds: Math.max(1, Math.ceil(leaseLeftMs / 1000) + 1),
    };
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

function dayOf(isoTime: string, fallback: number): string {
  const time = new Date(isoTime);
  return utcDay(Number.isNaN(time.getTime()) ? new Date(fallback) : time);
}
