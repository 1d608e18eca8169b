/**
 * The baseline of a handler's cold start: a module that creates the same SDK clients and replays the
 * SDK calls the handler made for the same event (recorded by capture.ts), with nothing else: no
 * validation, batching library, logging or metrics. Its source is generated, then bundled like the
 * handler.
 */

/** Stands for the task id in the recorded calls. */
export const TASK_ID_PLACEHOLDER = '00000000-0000-4000-8000-000000000000';

/** One SDK call a handler made. */
export interface CapturedCall {
  client: 'dynamodb' | 'sqs' | 'ses';
  command: string;
  input: unknown;
  /** Calls of one group were in flight together. */
  group: number;
}

const PACKAGES = {
  dynamodb: { module: '@aws-sdk/client-dynamodb', client: 'DynamoDBClient' },
  sqs: { module: '@aws-sdk/client-sqs', client: 'SQSClient' },
  ses: { module: '@aws-sdk/client-ses', client: 'SESClient' },
} as const;

/** How the replay finds the task id of the event it answers. */
export type TaskIdSource = 'new' | 'path' | 'sqs-body' | 'none';

/** The baseline module's TypeScript source. */
export function baselineSource(
  calls: CapturedCall[],
  placeholder: string,
  taskIdFrom: TaskIdSource,
  clientNames: (keyof typeof PACKAGES)[],
): string {
  const lines: string[] = [];
  for (const name of clientNames) {
    const pkg = PACKAGES[name];
    const commands = [...new Set(calls.filter((c) => c.client === name).map((c) => c.command))];
    lines.push(`import { ${[pkg.client, ...commands].join(', ')} } from '${pkg.module}';`);
    lines.push(`const ${name} = new ${pkg.client}({});`);
  }
  const commandNames = [...new Set(calls.map((c) => c.command))];
  const taskId = {
    new: 'crypto.randomUUID()',
    path: 'event.pathParameters.taskId',
    'sqs-body': 'JSON.parse(event.Records[0].body).taskId',
    none: `'${placeholder}'`,
  }[taskIdFrom];
  lines.push(
    `const commands = { ${commandNames.join(', ')} };`,
    `const clients = { ${clientNames.join(', ')} };`,
    `const recorded = ${JSON.stringify(JSON.stringify(calls))};`,
    'export async function handler(event) {',
    `  const calls = JSON.parse(recorded.replaceAll('${placeholder}', ${taskId}));`,
    '  const groups = [...new Set(calls.map((c) => c.group))];',
    '  for (const group of groups) {',
    '    await Promise.all(calls.filter((c) => c.group === group).map((c) => clients[c.client].send(new commands[c.command](c.input))));',
    '  }',
    "  return { statusCode: 200, body: '{}' };",
    '}',
  );
  return lines.join('\n');
}
