/**
 * The email worker's side of the task record: claiming a task with a lease, recording each email the
 * moment SES answers, and the `RETRY` / `SUCCESS` / `FAILURE` transitions — every write conditional,
 * so that two holders of the same message can never both send. Each recorded transition is counted
 * in the per-day counters (`daily-counters.ts`).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type AttributeValue,
  type DynamoDBClient,
  UpdateItemCommand,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { Counter } from './daily-counters.ts';
import { isConditionFailure } from './errors.ts';
import {
  type EmailState,
  EmailStatus,
  isFinal,
  type Recipient,
  type TaskError,
  type TaskRecord,
  TaskStatus,
  utcDay,
} from './task-record.ts';
import { readTask } from './task-store.ts';

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

/** Settings of {@link TaskLifecycle}. */
export interface TaskLifecycleOptions {
  dynamodb: DynamoDBClient;
  tableName: string;
  /** How long a claim holds a task; must outlast the worker's timeout. */
  leaseSeconds: number;
  /** Counts each recorded transition (best effort: it must not reject), e.g. a `DailyCounterStore`. */
  counters?: { add(day: string, counter: Counter): Promise<void> };
}

/** A transition's subject: the task, and this worker's claim on it when it holds one. */
export interface TransitionTarget {
  taskId: string;
  /** The claim; absent when there is none (an invalid message, a claim that failed): then only a task nobody holds changes. */
  claim?: ClaimedTask | undefined;
  error: TaskError;
}

/** A `FAILURE`'s subject. */
export interface FailureTarget extends TransitionTarget {
  /** The message goes to the dead-letter queue: a redrive may claim the task again. */
  retriesExhausted?: boolean;
}

/** Writes of an email's outcome, at most. */
export const RECORD_EMAIL_ATTEMPTS = 4;
/** The wait before the second write of an email's outcome; doubled before each next one. */
const RECORD_EMAIL_BACKOFF_MS = 200;

const S = (value: string): AttributeValue => ({ S: value });
const N = (value: number): AttributeValue => ({ N: String(value) });

/**
 * The conditions of the claim: a new or retried task, a `STARTED` one whose holder's lease ran out
 * (it crashed or timed out), or a `FAILURE` that ran out of retries and was redriven from the
 * dead-letter queue.
 */
const CLAIMABLE =
  'attribute_exists(#taskId) AND (#status IN (:pending, :retry) OR (#status = :started AND #leaseExpiresAt < :now) OR (#status = :failure AND #retriesExhausted = :true))';
/** This worker still holds the task: nobody claimed it since. */
const HELD_BY_US = '#status = :started AND #attempts = :attempts';
/** Nobody holds the task (for the writes of a worker whose claim itself failed). */
const UNCLAIMED = '#status IN (:pending, :retry)';

/** The worker's writes to the task table. */
export class TaskLifecycle {
  readonly #dynamodb: DynamoDBClient;
  readonly #tableName: string;
  readonly #leaseMs: number;
  readonly #counters: TaskLifecycleOptions['counters'];

  constructor(options: TaskLifecycleOptions) {
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
          ...this.#update(
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
      if (task.attempts === 1) await this.#count(dayOf(task.createdAt, now), 'accepted');
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
          this.#update(task.taskId, 'SET #leaseExpiresAt = :leaseUntil', HELD_BY_US, now, {
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

  /**
   * Records what SES answered for one email, right after the call: a `SENT` email is never sent again
   * for this task, whatever is redelivered. Not conditional on the lease: the email went out (or was
   * refused) whoever holds the task now, and the record must say so. Tried up to
   * {@link RECORD_EMAIL_ATTEMPTS} times (a failed write of a `SENT` email is the one window for a
   * duplicate email), then rejects with the last error.
   */
  async recordEmail(task: ClaimedTask, recipient: Recipient, outcome: Omit<EmailState, 'at'>): Promise<void> {
    const state: EmailState = { ...outcome, at: new Date().toISOString() };
    const withMessageId = recipient === 'visitor' && state.messageId !== undefined;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#dynamodb.send(
          new UpdateItemCommand(
            this.#update(
              task.taskId,
              `SET #emails.#${recipient} = :state, #updatedAt = :nowIso${withMessageId ? ', #sesMessageId = :messageId' : ''}`,
              'attribute_exists(#emails)',
              Date.now(),
              {
                ':state': { M: marshall(state, { removeUndefinedValues: true }) },
                ...(withMessageId ? { ':messageId': S(state.messageId ?? '') } : {}),
              },
            ),
          ),
        );
        task.emails[recipient] = state;
        if (state.status === EmailStatus.SKIPPED) await this.#count(utcDay(new Date()), 'skipped');
        return;
      } catch (error) {
        if (attempt >= RECORD_EMAIL_ATTEMPTS || isConditionFailure(error)) throw error;
        await sleep(RECORD_EMAIL_BACKOFF_MS * 2 ** (attempt - 1));
      }
    }
  }

  /**
   * Records that the visitor's email was counted against its address's autoresponse limit, so that a
   * retry of this task never counts it again. Not conditional on the lease, like {@link recordEmail}.
   */
  async recordAutoresponseCounted(task: ClaimedTask): Promise<void> {
    await this.#dynamodb.send(
      new UpdateItemCommand(
        this.#update(
          task.taskId,
          'SET #autoresponseCounted = :true, #updatedAt = :nowIso',
          'attribute_exists(#taskId)',
          Date.now(),
          {},
        ),
      ),
    );
    task.autoresponseCounted = true;
  }

  /**
   * `SUCCESS` with finishedAt and runtimeMs, if this worker still holds the task.
   *
   * @returns the runtime, and whether the record was written (false: the lease was lost)
   */
  async succeed(task: ClaimedTask): Promise<{ runtimeMs: number; recorded: boolean }> {
    const now = Date.now();
    const runtimeMs = now - task.startedAtMs;
    const recorded = await this.#conditional(
      this.#update(
        task.taskId,
        'SET #status = :success, #finishedAt = :nowIso, #runtimeMs = :runtimeMs, #updatedAt = :nowIso REMOVE #leaseExpiresAt',
        HELD_BY_US,
        now,
        { ':runtimeMs': N(runtimeMs), ':attempts': N(task.attempts) },
      ),
    );
    if (recorded) await this.#count(utcDay(new Date(now)), 'sent');
    return { runtimeMs, recorded };
  }

  /**
   * `RETRY` with the error, releasing the lease.
   *
   * @returns whether the record was written
   */
  async retry({ taskId, claim, error }: TransitionTarget): Promise<boolean> {
    const now = Date.now();
    const recorded = await this.#conditional(
      this.#update(
        taskId,
        'SET #status = :retry, #error = :error, #updatedAt = :nowIso REMOVE #leaseExpiresAt',
        claim === undefined ? UNCLAIMED : HELD_BY_US,
        now,
        { ':error': errorValue(error), ...(claim === undefined ? {} : { ':attempts': N(claim.attempts) }) },
      ),
    );
    if (recorded) await this.#count(utcDay(new Date(now)), 'retried');
    return recorded;
  }

  /**
   * `FAILURE` with the error and finishedAt, releasing the lease.
   *
   * @returns whether the record was written
   */
  async fail({ taskId, claim, error, retriesExhausted = false }: FailureTarget): Promise<boolean> {
    const now = Date.now();
    const set = ['#status = :failure', '#error = :error', '#finishedAt = :nowIso', '#updatedAt = :nowIso'];
    if (claim !== undefined) set.push('#runtimeMs = :runtimeMs');
    if (retriesExhausted) set.push('#retriesExhausted = :true');
    const recorded = await this.#conditional(
      this.#update(
        taskId,
        `SET ${set.join(', ')} REMOVE #leaseExpiresAt`,
        claim === undefined ? UNCLAIMED : HELD_BY_US,
        now,
        {
          ':error': errorValue(error),
          ...(claim === undefined
            ? {}
            : { ':attempts': N(claim.attempts), ':runtimeMs': N(now - claim.startedAtMs) }),
        },
      ),
    );
    if (recorded) await this.#count(utcDay(new Date(now)), 'failed');
    return recorded;
  }

  async #conditional(input: UpdateItemCommandInput): Promise<boolean> {
    try {
      await this.#dynamodb.send(new UpdateItemCommand(input));
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async #count(day: string, counter: Counter): Promise<void> {
    await this.#counters?.add(day, counter);
  }

  /**
   * An UpdateItem on a task. Every `#name` in the expressions stands for the attribute of that name;
   * only the values the expressions use are sent (DynamoDB refuses unused ones).
   */
  #update(
    taskId: string,
    updateExpression: string,
    conditionExpression: string,
    now: number,
    values: Record<string, AttributeValue>,
  ): UpdateItemCommandInput {
    return {
      TableName: this.#tableName,
      Key: { taskId: S(taskId) },
      UpdateExpression: updateExpression,
      ConditionExpression: conditionExpression,
      ...expressionParameters(`${updateExpression} ${conditionExpression}`, {
        ':pending': S(TaskStatus.PENDING),
        ':retry': S(TaskStatus.RETRY),
        ':started': S(TaskStatus.STARTED),
        ':success': S(TaskStatus.SUCCESS),
        ':failure': S(TaskStatus.FAILURE),
        ':true': { BOOL: true },
        ':now': N(now),
        ':nowIso': S(new Date(now).toISOString()),
        ...values,
      }),
    };
  }
}

function expressionParameters(
  expressions: string,
  values: Record<string, AttributeValue>,
): Pick<UpdateItemCommandInput, 'ExpressionAttributeNames' | 'ExpressionAttributeValues'> {
  const names: Record<string, string> = {};
  for (const [placeholder, name] of expressions.matchAll(/#(\w+)/g)) {
    if (name !== undefined) names[placeholder] = name;
  }
  const usedValues = new Set(expressions.match(/:\w+/g));
  const used = Object.entries(values).filter(([placeholder]) => usedValues.has(placeholder));
  return { ExpressionAttributeNames: names, ExpressionAttributeValues: Object.fromEntries(used) };
}

function errorValue(error: TaskError): AttributeValue {
  return { M: { type: S(error.type), message: S(error.message) } };
}

function dayOf(isoTime: string, fallback: number): string {
  const time = new Date(isoTime);
  return utcDay(Number.isNaN(time.getTime()) ? new Date(fallback) : time);
}
