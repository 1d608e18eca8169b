/**
 * `npm run autoresponses -- --resume --aws` on a deployed stack (mocked CloudFormation, SES and
 * CloudWatch): it resumes the autoresponses' configuration set alone, reads that set's own reputation
 * metrics (the breaker's alarms' metrics and dimension), and prints the rates beside the levels.
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import {
  DescribeConfigurationSetCommand,
  SESClient,
  UpdateConfigurationSetSendingEnabledCommand,
} from '@aws-sdk/client-ses';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

const SET = 'AutoresponsesConfigurationSet-abc';

const cloudFormationMock = mockClient(CloudFormationClient);
const sesMock = mockClient(SESClient);
const cloudWatchMock = mockClient(CloudWatchClient);
const argv = process.argv;

beforeEach(() => {
  for (const mock of [cloudFormationMock, sesMock, cloudWatchMock]) mock.reset();
  vi.stubEnv('AWS_REGION', 'eu-west-1');
  process.argv = [argv[0] ?? 'node', 'bin/autoresponses.ts', '--resume', '--aws'];
  cloudFormationMock.on(DescribeStacksCommand).resolves({
    Stacks: [
      {
        StackName: 'ServerlessFeedback',
        CreationTime: new Date(),
        StackStatus: 'CREATE_COMPLETE',
        Outputs: [{ OutputKey: 'AutoresponseConfigurationSetName', OutputValue: SET }],
      },
    ],
  });
  sesMock
    .on(UpdateConfigurationSetSendingEnabledCommand)
    .resolves({})
    .on(DescribeConfigurationSetCommand)
    .resolves({ ReputationOptions: { SendingEnabled: true } });
  cloudWatchMock.on(GetMetricDataCommand).resolves({
    MetricDataResults: [
      { Id: 'bounce', Values: [0.012, 0.05] },
      { Id: 'complaint', Values: [0] },
    ],
  });
});

afterEach(() => {
  process.argv = argv;
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
});

describe('npm run autoresponses -- --resume --aws', () => {
  it("resumes the autoresponses' set and reads that set's own rates, newest first", async () => {
    // Prepare
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);

    // Act
    await import('../../bin/autoresponses.ts');

    // Assess
    expect(sesMock).toHaveReceivedCommandWith(UpdateConfigurationSetSendingEnabledCommand, {
      ConfigurationSetName: SET,
      Enabled: true,
    });
    const query = cloudWatchMock.commandCalls(GetMetricDataCommand)[0]?.args[0].input;
    expect(query?.ScanBy).toBe('TimestampDescending');
    expect(query?.MetricDataQueries?.map((item) => item.MetricStat?.Metric)).toEqual([
      {
        Namespace: 'AWS/SES',
        MetricName: 'Reputation.BounceRate',
        Dimensions: [{ Name: 'ses:configuration-set', Value: SET }],
      },
      {
        Namespace: 'AWS/SES',
        MetricName: 'Reputation.ComplaintRate',
        Dimensions: [{ Name: 'ses:configuration-set', Value: SET }],
      },
    ]);
    const printed = log.mock.calls.flat().join('\n');
    expect(printed).toContain('Resumed');
    expect(printed).toMatch(/bounce rate\s+1\.2 %/);
    expect(printed).toMatch(/complaint rate\s+0 %/);
    expect(process.exitCode ?? 0).toBe(0);
  });
});
