import type { CloudWatchAlarmEvent } from 'aws-lambda';
import { autoresponseBreaker } from '../../functions/config/settings.ts';
import { emailEventOf, type SesEmailEvent } from '../../functions/email/events.ts';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION } from './resources.ts';
import type { SentEmail } from './ses-events.ts';

/** The autoresponses' figures as the local breaker sees them, and its alarm's state. */
export interface LocalReputation {
  /** Autoresponses SES attempted (not those suppressed by address validation). */
  sent: number;
  bounced: number;
  complained: number;
  /** `bounced / sent`, or 0 below the representative volume, as SES reports no rate before it has one. */
  bounceRate: number;
  complaintRate: number;
  alarm: 'OK' | 'ALARM';
}

/**
 * The deployed breaker's alarms, locally: SES's `Reputation.BounceRate` and `Reputation.ComplaintRate` of
 * the autoresponses' configuration set, computed from the emails sent through it and their events (hard
 * bounces and complaints; not the suppression list's or the validation's, which SES never attempted), from
 * `localMinimumVolume` emails on. When a rate passes its level (`autoresponseBreaker`) the alarm goes into
 * ALARM and `onAlarm` gets CloudWatch's alarm event, once per change of state, as CloudWatch invokes an
 * alarm's Lambda action; the alarm goes back to OK when both rates are under their levels again.
 */
export function localBreaker({
  configurationSet,
  onAlarm,
}: {
  configurationSet: string;
  onAlarm: (event: CloudWatchAlarmEvent) => void;
}) {
  const counts = { sent: 0, bounced: 0, complained: 0 };
  let alarm: LocalReputation['alarm'] = 'OK';
  const rate = (count: number) =>
    counts.sent < autoresponseBreaker.localMinimumVolume ? 0 : count / counts.sent;
  const reputation = (): LocalReputation => ({
    ...counts,
    bounceRate: rate(counts.bounced),
    complaintRate: rate(counts.complained),
    alarm,
  });
  const evaluate = () => {
    const { bounceRate, complaintRate } = reputation();
    const breached =
      bounceRate > autoresponseBreaker.bounceRate
        ? `bounce rate ${percent(bounceRate)} over ${percent(autoresponseBreaker.bounceRate)}`
        : complaintRate > autoresponseBreaker.complaintRate
          ? `complaint rate ${percent(complaintRate)} over ${percent(autoresponseBreaker.complaintRate)}`
          : undefined;
    const next = breached === undefined ? 'OK' : 'ALARM';
    if (next === alarm) return;
    const previous = alarm;
    alarm = next;
    if (breached !== undefined) onAlarm(alarmEvent(configurationSet, breached, previous));
  };
  return {
    /** An email SES accepted: counted when it went through the autoresponses' set and was attempted. */
    sent(email: SentEmail) {
      if (email.configurationSet !== configurationSet || email.validated) return;
      counts.sent += 1;
      evaluate();
    },
    /** One of SES's events of an email. */
    event(event: SesEmailEvent) {
      if (!(event.detail.mail.tags?.['ses:configuration-set'] ?? []).includes(configurationSet)) return;
      const status = emailEventOf(event.detail)?.status;
      if (status === 'BOUNCED') counts.bounced += 1;
      else if (status === 'COMPLAINED') counts.complained += 1;
      else return;
      evaluate();
    },
    reputation,
  };
}

function percent(rate: number): string {
  return `${(rate * 100).toFixed(2).replace(/\.?0+$/, '')} %`;
}

/** CloudWatch's event for an alarm's Lambda action, as the deployed breaker's function gets it. */
function alarmEvent(configurationSet: string, reason: string, previous: string): CloudWatchAlarmEvent {
  const time = new Date().toISOString();
  const alarmName = 'AutoresponseBreaker';
  return {
    source: 'aws.cloudwatch',
    alarmArn: `arn:aws:cloudwatch:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:alarm:${alarmName}`,
    accountId: LOCAL_ACCOUNT_ID,
    time,
    region: LOCAL_REGION,
    alarmData: {
      alarmName,
      state: {
        value: 'ALARM',
        reason: `The autoresponses' ${reason} (configuration set ${configurationSet}).`,
        timestamp: time,
      },
      previousState: { value: previous, reason: '', timestamp: time },
      configuration: { metrics: [] },
    },
  };
}
