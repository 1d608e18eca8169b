/**
 * Answers the handlers' SDK calls in AWS's place, from a middleware at the start of each of their
 * clients' stacks: nothing is sent, and (unlike a sinon-based mock, whose argument matching would
 * dominate a CPU profile) next to nothing is spent on the stub itself.
 */
import { marshall } from '@aws-sdk/util-dynamodb';
import type { InitializeMiddleware, MetadataBearer, MiddlewareStack } from '@smithy/types';
import type { CapturedCall } from './baseline.ts';

/** Canned answers for the commands the handlers send, on their happy paths. */
export function cannedAnswers(taskId: string, createdAt: string): Record<string, object> {
  const record = { taskId, status: 'STARTED', createdAt, startedAt: createdAt, attempts: 1, emails: {} };
  return {
    PutItemCommand: {},
    DeleteItemCommand: {},
    GetItemCommand: { Item: marshall({ ...record, status: 'SUCCESS', accepted: 1, sent: 1 }) },
    UpdateItemCommand: { Attributes: marshall(record) },
    SendMessageCommand: { MessageId: 'message-1', MD5OfMessageBody: '' },
    ChangeMessageVisibilityCommand: {},
    GetQueueAttributesCommand: { Attributes: { ApproximateNumberOfMessages: '0' } },
    SendEmailCommand: { MessageId: 'ses-1' },
  };
}

/**
 * Installs the stub on the handlers' own clients (functions/commons/clients). `observe` sees each call
 * and may await before the answer (to tell concurrent calls apart).
 */
export async function stubHandlerClients(
  answers: Record<string, object>,
  observe?: (client: CapturedCall['client'], command: string, input: unknown) => Promise<void> | void,
): Promise<void> {
  const { dynamodb } = await import('../../functions/commons/clients/dynamodb.ts');
  const { sqs } = await import('../../functions/commons/clients/sqs.ts');
  const { ses } = await import('../../functions/commons/clients/ses.ts');
  const stub =
    (name: CapturedCall['client']): InitializeMiddleware<object, MetadataBearer> =>
    (_next, context) =>
    async (args) => {
      const command = String(context.commandName);
      await observe?.(name, command, args.input);
      return { output: { $metadata: {}, ...answers[command] } as MetadataBearer, response: {} };
    };
  for (const [name, client] of [
    ['dynamodb', dynamodb],
    ['sqs', sqs],
    ['ses', ses],
  ] as const) {
    (client.middlewareStack as unknown as MiddlewareStack<object, MetadataBearer>).add(stub(name), {
      step: 'initialize',
      name: 'benchStub',
    });
  }
}
