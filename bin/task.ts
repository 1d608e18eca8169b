/**
 * `npm run task -- <taskId> [--aws | --table NAME] [--stack NAME]`: prints one task's record from
 * DynamoDB as JSON — the local stack's table by default, a deployed stack's with `--aws`.
 */
import { parseArgs } from 'node:util';
import { TASK_ID_PATTERN } from '../functions/task/record.ts';
import { readTask } from '../functions/task/store.ts';
import { resolveTarget, runTool, UsageError } from '../lib/tools/cli.ts';

const USAGE = 'Usage: npm run task -- <taskId> [--aws | --table NAME] [--stack NAME]';

await runTool(async (ref) => {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { aws: { type: 'boolean' }, table: { type: 'string' }, stack: { type: 'string' } },
  });
  const taskId = positionals[0];
  if (taskId === undefined || positionals.length > 1) throw new UsageError(USAGE);
  if (!TASK_ID_PATTERN.test(taskId)) throw new UsageError(`Not a task id (a v4 UUID): ${taskId}\n${USAGE}`);
  const target = await resolveTarget(values);
  ref.target = target;
  const record = await readTask(target.dynamodb, target.tableName, taskId);
  if (!record) throw new UsageError(`No task ${taskId} in ${target.description} (table ${target.tableName})`);
  console.log(JSON.stringify(record, null, 2));
});
