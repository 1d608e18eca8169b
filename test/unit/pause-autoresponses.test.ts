/**
 * The breaker's action: an alarm going off pauses the autoresponses' configuration set, that one only,
 * and tells the owner through the owner's set; anything else changes nothing.
 */
import {
  SESClient,
  SendEmailCommand,
  UpdateConfigurationSetSendingEnabledCommand,
} from '@aws-sdk/client-ses';
import type { CloudWatchAlarmEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { captureLogs, loadHandler } from '../helpers/handlers.ts';
import { lambdaContext } from '../helpers/sqs-event.ts';

const sesMock = mockClient(SESClient);
const OWNER = 'owner@example.com';
const SETS = {
  SES_AUTORESPONSE_CONFIGURATION_SET: 'feedback-autoresponses',
  SES_CONFIGURATION_SET: 'feedback-emails',
};

type PauseModule = typeof import('../../functions/pause-autoresponses.ts');

/** CloudWatch's event for an alarm's Lambda action. */
function alarmEvent(
  value: string,
  reason = 'Threshold Crossed: 1 datapoint [0.12] was greater than 0.04',
): CloudWatchAlarmEvent {
  const time = '2025-06-01T12:00:00.000+0000';
  return {
    source: 'aws.cloudwatch',
    alarmArn: 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:BounceRateBreaker',
    accountId: '123456789012',
    time,
    region: 'us-east-1',
    alarmData: {
      alarmName: 'BounceRateBreaker',
      state: { value, reason, timestamp: time },
      previousState: { value: 'OK', reason: '', timestamp: time },
      configuration: { metrics: [] },
    },
  };
}

async function loadPause(env: Record<string, string | undefined> = {}) {
  const { handler } = await loadHandler<PauseModule>('pause-autoresponses', { ...SETS, ...env });
  return (event: CloudWatchAlarmEvent) => handler(event, lambdaContext('PauseAutoresponses'));
}

beforeEach(() => {
  sesMock.reset();
  sesMock.on(UpdateConfigurationSetSendingEnabledCommand).resolves({});
  sesMock.on(SendEmailCommand).resolves({ MessageId: 'ses-notice' });
  captureLogs();
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

describe('pause-autoresponses', () => {
  it("disables sending through the autoresponses' set, and mails the owner why through the owner's set", async () => {
    // Prepare
    const pause = await loadPause({ NOTIFY_EMAIL: OWNER });

    // Act
    const result = await pause(alarmEvent('ALARM'));

    // Assess
    expect(result).toEqual({ outcome: 'paused', ownerNotified: true });
    expect(sesMock).toHaveReceivedCommandTimes(UpdateConfigurationSetSendingEnabledCommand, 1);
    expect(sesMock).toHaveReceivedCommandWith(UpdateConfigurationSetSendingEnabledCommand, {
      ConfigurationSetName: 'feedback-autoresponses',
      Enabled: false,
    });
    expect(sesMock).toHaveReceivedCommandWith(SendEmailCommand, {
      Destination: { ToAddresses: [OWNER] },
      ConfigurationSetName: 'feedback-emails',
      Message: expect.objectContaining({ Subject: { Data: 'Autoresponses paused', Charset: 'UTF-8' } }),
    });
    const body = sesMock.commandCalls(SendEmailCommand)[0]?.args[0].input.Message?.Body?.Text?.Data;
    expect(body).toContain('was greater than 0.04');
    expect(body).toContain('npm run autoresponses -- --resume --aws');
  });

  it('pauses without a notice when there is no owner address', async () => {
    // Prepare
    const pause = await loadPause();

    // Act
    const result = await pause(alarmEvent('ALARM'));

    // Assess
    expect(result).toEqual({ outcome: 'paused', ownerNotified: false });
    expect(sesMock).toHaveReceivedCommandTimes(UpdateConfigurationSetSendingEnabledCommand, 1);
    expect(sesMock).not.toHaveReceivedCommand(SendEmailCommand);
  });

  it.each(['OK', 'INSUFFICIENT_DATA'])('changes nothing for an alarm going to %s', async (state) => {
    // Prepare
    const pause = await loadPause({ NOTIFY_EMAIL: OWNER });

    // Act
    const result = await pause(alarmEvent(state));

    // Assess
    expect(result).toEqual({ outcome: 'ignored' });
    expect(sesMock).not.toHaveReceivedCommand(UpdateConfigurationSetSendingEnabledCommand);
    expect(sesMock).not.toHaveReceivedCommand(SendEmailCommand);
  });

  it('fails the invocation when SES refuses the pause, so that Lambda retries it', async () => {
    // Prepare
    const pause = await loadPause({ NOTIFY_EMAIL: OWNER });
    sesMock.on(UpdateConfigurationSetSendingEnabledCommand).rejects(new Error('ServiceUnavailable'));

    // Act
    const attempt = pause(alarmEvent('ALARM'));

    // Assess
    await expect(attempt).rejects.toThrow('ServiceUnavailable');
    expect(sesMock).not.toHaveReceivedCommand(SendEmailCommand);
  });

  it('refuses to load without the set it pauses', async () => {
    // Act
    const loading = loadHandler<PauseModule>('pause-autoresponses', {
      SES_AUTORESPONSE_CONFIGURATION_SET: undefined,
    });

    // Assess
    await expect(loading).rejects.toThrow('SES_AUTORESPONSE_CONFIGURATION_SET');
  });
});
