/**
 * `npm run redrive -- --aws` on a deployed stack (mocked SQS and CloudFormation): SQS's move task names
 * the feedback queue as its destination, since the messages the worker gave up it sent to the
 * dead-letter queue itself, and SQS knows no source queue for them.
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetQueueAttributesCommand, SQSClient, StartMessageMoveTaskCommand } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/feedback';
const DEAD_LETTER_QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/feedback-dlq';
const QUEUE_ARN = 'arn:aws:sqs:eu-west-1:123456789012:feedback';
const DEAD_LETTER_QUEUE_ARN = 'arn:aws:sqs:eu-west-1:123456789012:feedback-dlq';

const sqsMock = mockClient(SQSClient);
const cloudFormationMock = mockClient(CloudFormationClient);
const argv = process.argv;

beforeEach(() => {
  sqsMock.reset();
  cloudFormationMock.reset();
  vi.stubEnv('AWS_REGION', 'eu-west-1');
  process.argv = [argv[0] ?? 'node', 'bin/redrive.ts', '--aws'];
  cloudFormationMock.on(DescribeStacksCommand).resolves({
    Stacks: [
      {
        StackName: 'ServerlessFeedback',
        CreationTime: new Date(),
        StackStatus: 'CREATE_COMPLETE',
        Outputs: [
          { OutputKey: 'TasksTableName', OutputValue: 'tasks' },
          { OutputKey: 'FeedbackQueueUrl', OutputValue: QUEUE_URL },
          { OutputKey: 'DeadLetterQueueUrl', OutputValue: DEAD_LETTER_QUEUE_URL },
        ],
      },
    ],
  });
  sqsMock
    .on(GetQueueAttributesCommand, { QueueUrl: DEAD_LETTER_QUEUE_URL })
    .resolves({ Attributes: { QueueArn: DEAD_LETTER_QUEUE_ARN, ApproximateNumberOfMessages: '2' } })
    .on(GetQueueAttributesCommand, { QueueUrl: QUEUE_URL })
    .resolves({ Attributes: { QueueArn: QUEUE_ARN } })
    .on(StartMessageMoveTaskCommand)
    .resolves({ TaskHandle: 'move-task-1' });
});

afterEach(() => {
  process.argv = argv;
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

describe('npm run redrive -- --aws', () => {
  it('moves the dead-letter queue to the feedback queue by name', async () => {
    // Prepare
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);

    // Act
    await import('../../bin/redrive.ts');

    // Assess
    expect(sqsMock).toHaveReceivedCommandWith(StartMessageMoveTaskCommand, {
      SourceArn: DEAD_LETTER_QUEUE_ARN,
      DestinationArn: QUEUE_ARN,
    });
    expect(log.mock.calls.flat().join('\n')).toContain('Moving about 2 message(s)');
    expect(process.exitCode ?? 0).toBe(0);
  });
});
