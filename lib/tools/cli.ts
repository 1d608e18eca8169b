import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { localPorts, STACK_NAME } from '../../functions/config/settings.ts';
import { LOCAL_CLIENT_CONFIG, localResourceNames } from '../local/resources.ts';
import { LOCAL_DATA_DIR, type LocalStackState, readStackState } from '../local/state.ts';

/**
 * What the command-line tools (`npm run task`, `tasks`, `redrive`, `report`) work on: the running
 * local stack by default, or a deployed stack with `--aws` (its outputs) or `--table NAME`.
 */
export interface Target {
  kind: 'local' | 'aws';
  /** For messages: "the local stack" or "stack ServerlessFeedback". */
  description: string;
  dynamodb: DynamoDBClient;
  sqs: SQSClient;
  tableName: string;
  /** Resolved when first asked: the tools that need no queue never look it up. */
  queueUrls(): Promise<{ queueUrl: string; deadLetterQueueUrl: string }>;
}

/** Options every tool takes. */
export interface TargetOptions {
  aws?: boolean;
  table?: string;
  stack?: string;
}

/** Thrown for a problem the user can fix; the tools print its message alone, without a stack trace. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** What the running `npm start` wrote about itself, or undefined when none is running (or it is still starting). */
export function runningStackState(): LocalStackState | undefined {
  const state = readStackState(LOCAL_DATA_DIR);
  return state?.ports && state.senderEmail !== undefined ? (state as LocalStackState) : undefined;
}

/** A port from its variable (bin/local.ts reads them the same way), or the contract's. */
export function localPort(part: keyof typeof localPorts): number {
  const { port, variable } = localPorts[part];
  const raw = process.env[variable]?.trim();
  const value = raw ? Number(raw) : port;
  if (!Number.isInteger(value) || value < 0 || value > 65535) {
    throw new UsageError(`${variable} must be a port number, got "${raw}"`);
  }
  return value;
}

/**
 * Where the local stack's emulators listen: the ports the running `npm start` wrote down, else the
 * ports it would use (same variables).
 */
export function localEndpoints(running = runningStackState()): Record<keyof typeof localPorts, string> {
  const parts = Object.keys(localPorts) as (keyof typeof localPorts)[];
  return Object.fromEntries(
    parts.map((part) => [part, `http://127.0.0.1:${running ? running.ports[part] : localPort(part)}`]),
  ) as Record<keyof typeof localPorts, string>;
}

/** The target the options name. */
export async function resolveTarget(options: TargetOptions): Promise<Target> {
  if (!options.aws && options.table === undefined) {
    const endpoints = localEndpoints();
    const sqs = new SQSClient({ ...LOCAL_CLIENT_CONFIG, endpoint: endpoints.sqs });
    return {
      kind: 'local',
      description: 'the local stack',
      dynamodb: new DynamoDBClient({ ...LOCAL_CLIENT_CONFIG, endpoint: endpoints.dynamodb }),
      sqs,
      tableName: localResourceNames.table,
      queueUrls: async () => ({
        queueUrl: await queueUrlOf(sqs, localResourceNames.queue),
        deadLetterQueueUrl: await queueUrlOf(sqs, localResourceNames.deadLetterQueue),
      }),
    };
  }
  // The SDK's own chain: AWS_PROFILE / AWS_REGION / credentials, as `cdk deploy` used them.
  const dynamodb = new DynamoDBClient({});
  const sqs = new SQSClient({});
  const stackName = options.stack ?? STACK_NAME;
  let outputs: Promise<Record<string, string>> | undefined;
  const stackOutputs = () => {
    outputs ??= readStackOutputs(stackName);
    return outputs;
  };
  const tableName = options.table ?? (await stackOutputs()).TasksTableName;
  if (!tableName) throw new UsageError(`Stack ${stackName} has no output TasksTableName; pass --table NAME`);
  return {
    kind: 'aws',
    description: options.table === undefined ? `stack ${stackName}` : `table ${options.table}`,
    dynamodb,
    sqs,
    tableName,
    queueUrls: async () => {
      const { FeedbackQueueUrl, DeadLetterQueueUrl } = await stackOutputs();
      if (!FeedbackQueueUrl || !DeadLetterQueueUrl) {
        throw new UsageError(`Stack ${stackName} has no outputs FeedbackQueueUrl and DeadLetterQueueUrl`);
      }
      return { queueUrl: FeedbackQueueUrl, deadLetterQueueUrl: DeadLetterQueueUrl };
    },
  };
}

/** The outputs of a deployed stack, by key; a {@link UsageError} saying what to check when they cannot be read. */
export async function readStackOutputs(stackName: string): Promise<Record<string, string>> {
  // Only `--aws` needs it: the local path (and every handler) goes without loading it.
  const { CloudFormationClient, DescribeStacksCommand } = await import('@aws-sdk/client-cloudformation');
  const cloudFormation = new CloudFormationClient({});
  try {
    const { Stacks = [] } = await cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }));
    const outputs: Record<string, string> = {};
    for (const output of Stacks[0]?.Outputs ?? []) {
      if (output.OutputKey && output.OutputValue) outputs[output.OutputKey] = output.OutputValue;
    }
    return outputs;
  } catch (error) {
    throw new UsageError(
      `Could not read the outputs of stack ${stackName} (${error instanceof Error ? error.message : String(error)}). ` +
        'Is it deployed in this account and region (AWS_PROFILE, AWS_REGION)? Or pass --table NAME.',
    );
  } finally {
    cloudFormation.destroy();
  }
}

async function queueUrlOf(sqs: SQSClient, queueName: string): Promise<string> {
  const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: queueName }));
  if (!QueueUrl) throw new Error(`No URL for queue ${queueName}`);
  return QueueUrl;
}

/** A failure as one line a person can act on: above all, "the local stack is not running". */
export function explain(error: unknown, target: Target | undefined): string {
  if (error instanceof UsageError) return error.message;
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  const code = (error as { code?: string } | undefined)?.code;
  if (target?.kind === 'local' && (code === 'ECONNREFUSED' || /ECONNREFUSED|connect/i.test(text))) {
    const endpoints = localEndpoints();
    return (
      `The local stack is not running: nothing answers at ${endpoints.dynamodb} (DynamoDB) / ${endpoints.sqs} (SQS). ` +
      'Start it with `npm start` in another terminal (give this tool the same LOCAL_DATA_DIR if it runs with one), ' +
      'or read a deployed stack with --aws.'
    );
  }
  if (/ResourceNotFound|NonExistentQueue|QueueDoesNotExist/.test(text)) {
    return `${text}\nDoes ${target?.description ?? 'the stack'} exist${target?.kind === 'local' ? ' (is `npm start` running)' : ''}?`;
  }
  return text;
}

/** Runs a tool's main: prints a failure as one line on stderr and exits 1. */
export async function runTool(main: (targetRef: { target?: Target }) => Promise<void>): Promise<void> {
  const ref: { target?: Target } = {};
  try {
    await main(ref);
  } catch (error) {
    console.error(explain(error, ref.target));
    process.exitCode = 1;
  } finally {
    ref.target?.dynamodb.destroy();
    ref.target?.sqs.destroy();
  }
}
