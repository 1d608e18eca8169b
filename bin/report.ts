/**
 * `npm run report [-- --date YYYY-MM-DD]`: runs the daily report handler now against the local stack
 * (as its schedule does), mailing the owner (`NOTIFY_EMAIL`) a UTC day's figures — yesterday by
 * default. The mail shows in the local mailbox. On AWS the schedule runs it; to run it at once there,
 * use the function's Test button in the Lambda console.
 */
import { parseArgs } from 'node:util';
import * as setting from '../functions/config/table.ts';
import { setHandlerEnvironment } from '../lib/local/handler-env.ts';
import { readLocalSettings } from '../lib/local/settings.ts';
import { localEndpoints, resolveTarget, runningStackState, runTool, UsageError } from '../lib/tools/cli.ts';

await runTool(async (ref) => {
  const { values } = parseArgs({ options: { date: { type: 'string' }, aws: { type: 'boolean' } } });
  if (values.aws) {
    throw new UsageError(
      "npm run report runs against the local stack; on AWS the schedule runs the report (or use the Lambda console's Test button).",
    );
  }
  if (values.date !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(values.date)) {
    throw new UsageError(`--date must be YYYY-MM-DD, got ${values.date}`);
  }
  const target = await resolveTarget({});
  ref.target = target;
  const { queueUrl, deadLetterQueueUrl } = await target.queueUrls();
  // The running stack's ports and addresses (its addresses unless given here).
  const running = runningStackState();
  const endpoints = localEndpoints(running);
  const shell = readLocalSettings(process.env, ['senderEmail', 'notifyEmail']);
  const notifyEmail = shell.notifyEmail ?? running?.notifyEmail;
  setHandlerEnvironment(
    {
      tasksTableName: target.tableName,
      feedbackQueueUrl: queueUrl,
      deadLetterQueueUrl,
      senderEmail: shell.senderEmail ?? running?.senderEmail ?? setting.senderEmail.localDefault,
      notifyEmail,
    },
    // Without an owner address the handler's warning says what the last line below says in words.
    { endpoints, logLevel: process.env.POWERTOOLS_LOG_LEVEL || (notifyEmail ? 'WARN' : 'ERROR') },
  );
  const { handler } = await import('../functions/daily-report.ts');
  const report = await handler(values.date === undefined ? {} : { date: values.date });
  console.log(JSON.stringify(report, null, 2));
  if (values.date === undefined) {
    const today = new Date().toISOString().slice(0, 10);
    console.log(
      `These are yesterday's figures (${report.date}, UTC), as the daily schedule mails them. For today's so far: npm run report -- --date ${today}`,
    );
  }
  console.log(
    notifyEmail
      ? `Mailed to the owner: see ${endpoints.ses.replace('127.0.0.1', 'localhost')}`
      : `No owner address: the report was made but not mailed (start the stack with NOTIFY_EMAIL=owner@example.com, or run NOTIFY_EMAIL=owner@example.com npm run report).`,
  );
});
