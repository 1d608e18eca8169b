/**
 * `npm run redrive [-- --aws [--stack NAME]]`: moves the messages of the dead-letter queue back to the
 * feedback queue, so that their tasks are tried again (a task that ran out of retries is `FAILURE`
 * with `retriesExhausted`, which the worker may claim again with a fresh count of attempts; an email
 * already accepted is not re-sent). Locally: receive → send → delete, one message at a time. On AWS:
 * SQS's own StartMessageMoveTask, to the feedback queue by name.
 */
import { parseArgs } from 'node:util';
import {
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { resolveTarget, runTool, UsageError } from '../lib/tools/cli.ts';

await runTool(async (ref) => {
  const { values } = parseArgs({ options: { aws: { type: 'boolean' }, stack: { type: 'string' } } });
  const target = await resolveTarget(values);
  ref.target = target;
  const { queueUrl, deadLetterQueueUrl } = await target.queueUrls();

  if (target.kind === 'aws') {
    const { Attributes } = await target.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: deadLetterQueueUrl,
        AttributeNames: ['QueueArn', 'ApproximateNumberOfMessages'],
      }),
    );
    const waiting = Number(Attributes?.ApproximateNumberOfMessages ?? 0);
    if (waiting === 0) {
      console.log(`The dead-letter queue of ${target.description} is empty: nothing to redrive.`);
      return;
    }
    const { Attributes: destination } = await target.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
    );
    if (!Attributes?.QueueArn || !destination?.QueueArn) throw new UsageError('The queues have no ARN');
    // Named, not left to SQS: the messages the worker gave up it sent there itself, and SQS knows no
    // source queue for them (only for those its redrive policy moved).
    const { TaskHandle } = await target.sqs.send(
      new StartMessageMoveTaskCommand({
        SourceArn: Attributes.QueueArn,
        DestinationArn: destination.QueueArn,
      }),
    );
    console.log(
      `Moving about ${waiting} message(s) from the dead-letter queue back to the feedback queue (move task ${TaskHandle}).\n` +
        'Follow it in the SQS console (Dead-letter queue redrive) or with `aws sqs list-message-move-tasks`.',
    );
    return;
  }

  let moved = 0;
  for (;;) {
    const { Messages = [] } = await target.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: deadLetterQueueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        VisibilityTimeout: 30,
      }),
    );
    if (Messages.length === 0) break;
    for (const message of Messages) {
      await target.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: message.Body ?? '' }));
      await target.sqs.send(
        new DeleteMessageCommand({ QueueUrl: deadLetterQueueUrl, ReceiptHandle: message.ReceiptHandle }),
      );
      moved += 1;
      console.log(`moved ${describe(message.Body)}`);
    }
  }
  console.log(
    moved === 0
      ? 'The dead-letter queue is empty: nothing to redrive.'
      : `${moved} message(s) moved back to the feedback queue; the worker picks them up now.`,
  );
});

/** A message by its task id only: never the address or the message. */
function describe(body: string | undefined): string {
  try {
    const taskId = (JSON.parse(body ?? '') as { taskId?: unknown }).taskId;
    if (typeof taskId === 'string') return `task ${taskId}`;
  } catch {
    // Not JSON: a poison message; the worker drops it again.
  }
  return 'a message that is not a feedback task';
}
