import { type DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { SQSRecord } from 'aws-lambda';
import { TASK_ID_PATTERN, type TaskRecord } from '../../functions/commons/task-record';
import type { BatchOutcome } from './poller';

export interface TaskLogOptions {
  dynamodb: DynamoDBClient;
  tableName: string;
  /** The queue's visibility timeout: when a retried message reappears unless the worker set another. */
  visibilityTimeoutSeconds: number;
  write(line: string): void;
  /** How often a task in flight is read to see it start. */
  watchIntervalMs?: number;
}

/**
 * The worker's log in the terminal, like the seed's Celery worker: a task received, started,
 * succeeded in N s, retried or failed with the reason. Derived from the poller's batches and the task
 * records (read before, during and after each invocation), so the handlers need no local-only code.
 * Never prints an address or a message: only task ids, states, times and error reasons (with
 * anything shaped like an address masked).
 */
export class TaskLog {
  private readonly retryDelays = new Map<string, number>();

  constructor(private readonly options: TaskLogOptions) {}

  /** The worker set a message's visibility (its retry backoff), seen on the worker's SQS client. */
  noteVisibility(receiptHandle: string, seconds: number): void {
    this.retryDelays.set(receiptHandle, seconds);
  }

  /** Before an invocation: prints `received` and starts watching the tasks; call `end` afterwards. */
  async begin(records: SQSRecord[]): Promise<(outcome: BatchOutcome) => Promise<void>> {
    const tasks = await Promise.all(
      records.map(async (record) => {
        const taskId = taskIdOf(record);
        const before = taskId ? await this.read(taskId) : undefined;
        const delivery = Number(record.attributes.ApproximateReceiveCount);
        if (!taskId)
          this.write(`received a message that is not a feedback task (message ${record.messageId})`);
        else this.write(`received feedback task ${taskId}${delivery > 1 ? ` (delivery ${delivery})` : ''}`);
        return { record, taskId, before, startedAttempt: before?.attempts ?? 0 };
      }),
    );
    const interval = setInterval(() => {
      for (const task of tasks) {
        if (!task.taskId) continue;
        const taskId = task.taskId;
        this.read(taskId)
          .then((now) => this.noteStart(task, now))
          .catch(() => undefined);
      }
    }, this.options.watchIntervalMs ?? 250);

    return async (outcome) => {
      clearInterval(interval);
      if (outcome.error !== undefined) {
        this.write(`worker invocation failed: ${reason(outcome.error)}; its batch goes back to the queue`);
      }
      for (const task of tasks) {
        const retryDelay = this.retryDelays.get(task.record.receiptHandle);
        this.retryDelays.delete(task.record.receiptHandle);
        if (outcome.error !== undefined) continue;
        const failed = outcome.failedMessageIds.has(task.record.messageId);
        if (!task.taskId) {
          this.write(`message ${task.record.messageId} ${failed ? 'left on the queue' : 'dropped'}`);
          continue;
        }
        const after = await this.read(task.taskId).catch(() => undefined);
        this.noteStart(task, after);
        this.write(this.describe(task.taskId, task.before, after, failed, retryDelay));
      }
    };
  }

  private noteStart(
    task: { taskId: string | undefined; startedAttempt: number },
    now: TaskRecord | undefined,
  ): void {
    if (!now || now.attempts <= task.startedAttempt) return;
    task.startedAttempt = now.attempts;
    this.write(`task ${task.taskId} started (attempt ${now.attempts})`);
  }

  private describe(
    taskId: string,
    before: TaskRecord | undefined,
    after: TaskRecord | undefined,
    failed: boolean,
    retryDelay: number | undefined,
  ): string {
    const task = `task ${taskId}`;
    if (!after)
      return failed ? `${task}: no task record yet, retry later` : `${task}: no task record, message dropped`;
    if (before?.status === 'SUCCESS' || before?.status === 'FAILURE') {
      return `${task} was already ${before.status}: duplicate delivery, nothing sent`;
    }
    switch (after.status) {
      case 'SUCCESS':
        return `${task} succeeded in ${((after.runtimeMs ?? 0) / 1000).toFixed(2)}s`;
      case 'RETRY':
        return `${task} retry in ${retryDelay ?? this.options.visibilityTimeoutSeconds}s: ${reason(after.error?.message)}`;
      case 'FAILURE':
        return `${task} failed: ${reason(after.error?.message)}${failed ? ' (its message goes to the dead-letter queue)' : ''}`;
      case 'STARTED':
        return failed ? `${task} is held by another worker, retry later` : `${task} still STARTED`;
      default:
        return failed ? `${task} not started, retry later` : `${task} still ${after.status}`;
    }
  }

  private async read(taskId: string): Promise<TaskRecord | undefined> {
    const answer = await this.options.dynamodb.send(
      new GetItemCommand({
        TableName: this.options.tableName,
        Key: { taskId: { S: taskId } },
        ConsistentRead: true,
      }),
    );
    return answer.Item ? (unmarshall(answer.Item) as TaskRecord) : undefined;
  }

  private write(text: string): void {
    this.options.write(`[tasks] ${text}`);
  }
}

/** The task id of a feedback message, without reading anything else of it. */
function taskIdOf(record: SQSRecord): string | undefined {
  try {
    const taskId = (JSON.parse(record.body) as { taskId?: unknown }).taskId;
    return typeof taskId === 'string' && TASK_ID_PATTERN.test(taskId) ? taskId : undefined;
  } catch {
    return undefined;
  }
}

/** An error's reason for the terminal, with anything shaped like an email address masked. */
export function reason(error: unknown): string {
  const text = error instanceof Error ? error.message : error === undefined ? 'unknown error' : String(error);
  return text.replace(/[^\s<>"'(),;:]+@[^\s<>"'(),;:]+/g, '<address>');
}
