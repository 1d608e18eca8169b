/**
 * The autoresponses' circuit breaker, as SES sees it: pausing and resuming sending through their
 * configuration set (`UpdateConfigurationSetSendingEnabled`, for that one set), reading whether it is
 * paused, and telling SES's answer to a send through a paused set from other failures. The alarm's
 * function (functions/pause-autoresponses.ts) and `npm run autoresponses` share it.
 */
import {
  DescribeConfigurationSetCommand,
  type SESClient,
  UpdateConfigurationSetSendingEnabledCommand,
} from '@aws-sdk/client-ses';
import { shapeOf } from '../commons/errors.ts';

/** SES's error for a send through a configuration set whose sending is disabled. */
export const SENDING_PAUSED_ERROR = 'ConfigurationSetSendingPausedException';

/** Whether SES refused a send because its configuration set is paused (not the account: that is a failure). */
export function isSendingPaused(error: unknown): boolean {
  const { name, code } = shapeOf(error);
  return name === SENDING_PAUSED_ERROR || code === SENDING_PAUSED_ERROR;
}

/** Enables or disables sending through one configuration set. */
export async function setSendingEnabled(ses: SESClient, configurationSet: string, enabled: boolean) {
  await ses.send(
    new UpdateConfigurationSetSendingEnabledCommand({
      ConfigurationSetName: configurationSet,
      Enabled: enabled,
    }),
  );
}

/** Whether sending through a configuration set is enabled (SES's reputation options of the set). */
export async function isSendingEnabled(ses: SESClient, configurationSet: string): Promise<boolean> {
  const { ReputationOptions } = await ses.send(
    new DescribeConfigurationSetCommand({
      ConfigurationSetName: configurationSet,
      ConfigurationSetAttributeNames: ['reputationOptions'],
    }),
  );
  return ReputationOptions?.SendingEnabled !== false;
}
