/**
 * The autoresponses' circuit breaker: the action of the alarms on their configuration set's bounce and
 * complaint rates (lib/constructs/autoresponse-breaker.ts; locally the stack's own rate watch). When an
 * alarm goes into ALARM it disables sending through that configuration set, and only that one
 * (`SES_AUTORESPONSE_CONFIGURATION_SET`), then mails the owner (`NOTIFY_EMAIL`, through the owner's set,
 * which stays enabled). The worker then records each visitor's email `PAUSED` and the owner keeps getting
 * every feedback. Pausing a paused set changes nothing, so a repeated invocation is harmless; an error
 * makes the invocation fail, and Lambda retries it, then keeps the event on the failure queue.
 */
import { SendEmailCommand } from '@aws-sdk/client-ses';
import type { CloudWatchAlarmEvent } from 'aws-lambda';
import { ses } from './commons/clients/ses.ts';
import { createObservability, observed } from './commons/observability.ts';
import { readSetting, requireSetting } from './config/env.ts';
import * as setting from './config/table.ts';
import { pausedNoticeEmail } from './email/messages.ts';
import { setSendingEnabled } from './email/pause.ts';

const autoresponseSet = requireSetting(setting.sesAutoresponseConfigurationSet);
const senderEmail = requireSetting(setting.senderEmail);
const notifyEmail = readSetting(setting.notifyEmail);
const ownerSet = readSetting(setting.sesConfigurationSet);
const observability = createObservability('pause-autoresponses');
const { logger } = observability;

/** What the handler did: `paused` (and whether the owner was mailed), or `ignored` (not an ALARM). */
export interface PauseResult {
  outcome: 'paused' | 'ignored';
  ownerNotified?: boolean;
}

/** The CloudWatch alarm's Lambda action. */
export const handler = observed(observability, async (event: CloudWatchAlarmEvent): Promise<PauseResult> => {
  const alarm = event?.alarmData;
  if (alarm?.state?.value !== 'ALARM') {
    logger.info('Not an alarm going off; nothing to pause', { state: alarm?.state?.value });
    return { outcome: 'ignored' };
  }
  await setSendingEnabled(ses, autoresponseSet, false);
  logger.warn('Autoresponses paused', { alarm: alarm.alarmName, configurationSet: autoresponseSet });
  if (notifyEmail === undefined) return { outcome: 'paused', ownerNotified: false };
  const email = pausedNoticeEmail(senderEmail, notifyEmail, alarm.state.reason);
  if (ownerSet !== undefined) email.ConfigurationSetName = ownerSet;
  // A failure here fails the invocation: its retry pauses again (no change) and tells the owner.
  await ses.send(new SendEmailCommand(email));
  return { outcome: 'paused', ownerNotified: true };
});
