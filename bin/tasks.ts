/**
 * `npm run tasks [-- --limit N] [--aws | --table NAME] [--stack NAME]`: the latest tasks with their
 * state (`UNQUEUED` for a record whose message was never queued), runtime and what became of their emails. It scans the table — fine for the local stack and a small deployed table; the
 * API itself never scans.
 */
import { parseArgs } from 'node:util';
import { type AttributeValue, ScanCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { isUnqueued, type TaskRecord } from '../functions/task/record.ts';
import { resolveTarget, runTool, UsageError } from '../lib/tools/cli.ts';

/** Items read at most (a scan of a big deployed table stops there). */
const MAX_SCANNED = 10_000;

/** What the tools show instead of PENDING for a record whose message was never queued. */
const UNQUEUED = 'UNQUEUED';

/** A task's status as the tools show it: `PENDING` only when its message is queued. */
function statusOf(task: TaskRecord): string {
  return isUnqueued(task) ? UNQUEUED : task.status;
}

await runTool(async (ref) => {
  const { values } = parseArgs({
    options: {
      aws: { type: 'boolean' },
      table: { type: 'string' },
      stack: { type: 'string' },
      limit: { type: 'string', default: '20' },
    },
  });
  const limit = Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1)
    throw new UsageError(`--limit must be a positive whole number, got ${values.limit}`);
  const target = await resolveTarget(values);
  ref.target = target;

  const tasks: TaskRecord[] = [];
  let scanned = 0;
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await target.dynamodb.send(
      new ScanCommand({
        TableName: target.tableName,
        // The per-day counters and the autoresponse limit's counts share the table without a status;
        // a honeypot hit's record is a decoy for the bot, not a visitor's task.
        FilterExpression: 'attribute_exists(#status) AND attribute_not_exists(honeypot)',
        ExpressionAttributeNames: { '#status': 'status' },
        ...(startKey ? { ExclusiveStartKey: startKey } : {}),
      }),
    );
    for (const item of page.Items ?? []) tasks.push(unmarshall(item) as TaskRecord);
    scanned += page.ScannedCount ?? 0;
    startKey = page.LastEvaluatedKey;
  } while (startKey && scanned < MAX_SCANNED);

  tasks.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  const shown = tasks.slice(0, limit);
  if (shown.length === 0) {
    console.log(`No tasks in ${target.description} (table ${target.tableName}).`);
    return;
  }
  const rows = shown.map((task) => [
    task.taskId,
    statusOf(task),
    String(task.attempts ?? 0),
    task.createdAt,
    task.runtimeMs === undefined ? '' : `${(task.runtimeMs / 1000).toFixed(2)}s`,
    // What became of each email (SENT, then DELIVERED, BOUNCED, COMPLAINED…, or SKIPPED by the limit).
    Object.entries(task.emails ?? {})
      .map(([recipient, email]) => `${recipient} ${email?.status}`)
      .join(', '),
    task.error ? `${task.error.type}: ${task.error.message}` : '',
  ]);
  const header = ['TASK', 'STATUS', 'ATTEMPTS', 'CREATED (UTC)', 'RUNTIME', 'EMAILS', 'ERROR'];
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  for (const row of [header, ...rows]) {
    console.log(
      row
        .map((cell, column) => cell.padEnd(widths[column] ?? 0))
        .join('  ')
        .trimEnd(),
    );
  }
  const counts = new Map<string, number>();
  for (const task of tasks) counts.set(statusOf(task), (counts.get(statusOf(task)) ?? 0) + 1);
  const summary = [...counts].map(([status, count]) => `${count} ${status}`).join(', ');
  console.log(
    `\n${shown.length} of ${tasks.length} task(s) in ${target.description}, newest first (${summary})` +
      (startKey ? `; stopped after scanning ${scanned} items` : ''),
  );
  if (counts.has(UNQUEUED)) {
    console.log(
      `${UNQUEUED}: recorded, but its submit ended before the message was queued (no 202 was given, or the submit is still running): ` +
        'nothing will send it, and the record expires with its TTL.',
    );
  }
});
