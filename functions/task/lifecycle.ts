/**
 * What the holder of a task writes (its claim is `claim.ts`): each email the moment SES answers, and the
 * `RETRY` / `SUCCESS` / `FAILURE` transitions, each conditional on the claim, so that a worker whose
 * lease ran out changes nothing. Each recorded transition is counted in the per-day counters
 * (`daily-counters.ts`).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { type AttributeValue, type DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { isConditionFailure, type TaskError } from '../commons/errors.ts';
import type { ClaimedTask } from './claim.ts';
import type { Counter } from './daily-counters.ts';
import {
  type EmailState,
  EmailStatus,
  type Recipient,
  type TaskRecord,
  TaskStatus,
  utcDay,
} from './record.ts';
import { HELD_BY_US, N, S, type TaskTableOptions, taskUpdate, updateIfHolds } from './updates.ts';

/** A transition's subject: the task, and this worker's claim on it when it holds one. */
export interface TransitionTarget {
  taskId: string;
  /** The claim; absent when there is none (an invalid message, a claim that failed): then only a task nobody holds changes. */
  claim?: ClaimedTask | undefined;
  error: TaskError;
}

/** A `RETRY`'s subject. */
export interface RetryTarget extends TransitionTarget {
  /** The attempt ended in a deferral (SES's send rate or daily quota): it does not count toward the limit. */
  deferral?: boolean;
}

/** A `FAILURE`'s subject. */
export interface FailureTarget extends TransitionTarget {
  /**
   * The id of the message that goes to the dead-letter queue: the task ran out of retries, and a redrive
   * (another message) may claim it again.
   */
  givenUpMessageId?: string;
}

/** A give-up of a task nobody holds, decided from its record as it was read. */
export interface GiveUpTarget {
  record: TaskRecord;
  error: TaskError;
  /** The message that goes to the dead-letter queue. */
  messageId: string;
}

/** Writes of an email's outcome, at most. */
export const RECORD_EMAIL_ATTEMPTS = 4;
/** The wait before the second write of an email's outcome; doubled before each next one. */
const RECORD_EMAIL_BACKOFF_MS = 200;

/** The daily counter of each email the worker decided not to send. */
const NOT_SENT_COUNTERS: Partial<Record<EmailStatus, Counter>> = {
  [EmailStatus.SKIPPED]: 'skipped',
  [EmailStatus.PAUSED]: 'paused',
};

/** Nobody holds the task (for the writes of a worker whose claim itself failed). */
const UNCLAIMED = '#status IN (:pending, :retry)';

/** The holder's writes to a task's record. */
export class TaskLifecycle {
  readonly #dynamodb: DynamoDBClient;
  readonly #tableName: string;
  readonly #counters: TaskTableOptions['counters'];

  constructor(options: TaskTableOptions) {
    this.#dynamodb = options.dynamodb;
    this.#tableName = options.tableName;
    this.#counters = options.counters;
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
            taskUpdate(
              this.#tableName,
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
        const counter = NOT_SENT_COUNTERS[state.status];
        if (counter !== undefined) await this.#counters?.add(utcDay(new Date()), counter);
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
        taskUpdate(
          this.#tableName,
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
    const recorded = await updateIfHolds(
      this.#dynamodb,
      taskUpdate(
        this.#tableName,
        task.taskId,
        `SET #status = :success, #finishedAt = :nowIso, #runtimeMs = :runtimeMs, #updatedAt = :nowIso REMOVE ${SETTLED}`,
        HELD_BY_US,
        now,
        { ':runtimeMs': N(runtimeMs), ':attempts': N(task.attempts) },
      ),
    );
    if (recorded) await this.#counters?.add(utcDay(new Date(now)), 'sent');
    return { runtimeMs, recorded };
  }

  /**
   * `RETRY` with the error, releasing the lease.
   *
   * @returns whether the record was written
   */
  async retry({ taskId, claim, error, deferral = false }: RetryTarget): Promise<boolean> {
    const now = Date.now();
    // The holder's outcome: its attempt was not lost, and a deferral gives its attempt back.
    const add =
      claim === undefined
        ? ''
        : ` ADD #lostAttempts :minusOne${deferral ? ', #countedAttempts :minusOne' : ''}`;
    const recorded = await updateIfHolds(
      this.#dynamodb,
      taskUpdate(
        this.#tableName,
        taskId,
        `SET #status = :retry, #error = :error, #updatedAt = :nowIso REMOVE #leaseExpiresAt${add}`,
        claim === undefined ? UNCLAIMED : HELD_BY_US,
        now,
        { ':error': errorValue(error), ...(claim === undefined ? {} : { ':attempts': N(claim.attempts) }) },
      ),
    );
    if (recorded) await this.#counters?.add(utcDay(new Date(now)), 'retried');
    return recorded;
  }

  /**
   * `FAILURE` with the error and finishedAt, releasing the lease. With `givenUpMessageId`, the task ran
   * out of retries and that message goes to the dead-letter queue: its attempts' count starts over, for
   * a redrive.
   *
   * @returns whether the record was written
   */
  async fail({ taskId, claim, error, givenUpMessageId }: FailureTarget): Promise<boolean> {
    const now = Date.now();
    const set = ['#status = :failure', '#error = :error', '#finishedAt = :nowIso', '#updatedAt = :nowIso'];
    if (claim !== undefined) set.push('#runtimeMs = :runtimeMs');
    if (givenUpMessageId !== undefined)
      set.push('#retriesExhausted = :true', '#givenUpMessageId = :messageId');
    const recorded = await updateIfHolds(
      this.#dynamodb,
      taskUpdate(
        this.#tableName,
        taskId,
        `SET ${set.join(', ')} REMOVE ${SETTLED}`,
        claim === undefined ? UNCLAIMED : HELD_BY_US,
        now,
        {
          ':error': errorValue(error),
          ...(givenUpMessageId === undefined ? {} : { ':messageId': S(givenUpMessageId) }),
          ...(claim === undefined
            ? {}
            : { ':attempts': N(claim.attempts), ':runtimeMs': N(now - claim.startedAtMs) }),
        },
      ),
    );
    if (recorded) await this.#counters?.add(utcDay(new Date(now)), 'failed');
    return recorded;
  }

  /**
   * `FAILURE` of a task given up without a claim (its attempts or its message's receives used up), if
   * its record is still as it was read: nobody claimed it since, and a `STARTED` one's lease has run out.
   * Written before its message moves to the dead-letter queue; its attempts' count starts over, for a
   * redrive.
   *
   * @returns whether the record was written
   */
  async giveUp({ record, error, messageId }: GiveUpTarget): Promise<boolean> {
    const now = Date.now();
    const unchanged = `#status = :seen AND #attempts = :attempts${record.status === TaskStatus.STARTED ? ' AND #leaseExpiresAt < :now' : ''}`;
    const recorded = await updateIfHolds(
      this.#dynamodb,
      taskUpdate(
        this.#tableName,
        record.taskId,
        `SET #status = :failure, #error = :error, #finishedAt = :nowIso, #updatedAt = :nowIso, #retriesExhausted = :true, #givenUpMessageId = :messageId REMOVE ${SETTLED}`,
        unchanged,
        now,
        {
          ':error': errorValue(error),
          ':messageId': S(messageId),
          ':seen': S(record.status),
          ':attempts': N(record.attempts),
        },
      ),
    );
    if (recorded) await this.#counters?.add(utcDay(new Date(now)), 'failed');
    return recorded;
  }
}

/** What an outcome removes: the lease, and the count of attempts toward the limit (a redrive starts over). */
const SETTLED = '#leaseExpiresAt, #countedAttempts, #lostAttempts';

function errorValue(error: TaskError): AttributeValue {
  return { M: { type: S(error.type), message: S(error.message) } };
}
