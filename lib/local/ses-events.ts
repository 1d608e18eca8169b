import { randomUUID } from 'node:crypto';
import {
  emailEventRule,
  type SesEmailEvent,
  type SesEventRecord,
  VALIDATION_BOUNCE_SUBTYPE,
} from '../../functions/email/events.ts';
import { MAILBOX_SIMULATOR } from '../../functions/email/messages.ts';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION } from './resources.ts';
import { failsValidation, tagsOf } from './ses-sending.ts';

/** An email SES accepted through a configuration set: what its events are made of. */
export interface SentEmail {
  messageId: string;
  source: string;
  destination: string[];
  subject: string;
  configurationSet: string;
  tags: Record<string, string>;
  /** Sent through a set with Auto Validation: an address that fails it was suppressed, not delivered. */
  validated?: boolean;
}

/**
 * The events SES would publish for an email, by the mailbox simulator's addresses (with or without a
 * `+label`, as SES allows): `bounce@` a hard bounce, `suppressionlist@` a bounce for an address on the
 * suppression list, `complaint@` a delivery then a complaint; an address that fails address validation
 * (`failsValidation`: a domain under `.invalid`) a bounce of the validation when it went through a
 * validated set, else a hard bounce (its domain has no mail server); every other address (`success@`, and
 * the local mailbox's) a delivery. In SES's own format, so the handler that records them runs on what it
 * gets on AWS.
 */
export function sesEventsFor(email: SentEmail, now = new Date()): SesEmailEvent[] {
  const to = email.destination[0] ?? '';
  const simulated = MAILBOX_SIMULATOR.test(to) ? to.split('@')[0]?.split('+')[0]?.toLowerCase() : 'success';
  const invalid = failsValidation(to);
  const local = invalid ? (email.validated ? 'validation' : 'bounce') : simulated;
  const time = now.toISOString();
  const mail = {
    timestamp: time,
    source: email.source,
    sendingAccountId: LOCAL_ACCOUNT_ID,
    messageId: email.messageId,
    destination: email.destination,
    headersTruncated: false,
    commonHeaders: { from: [email.source], to: email.destination, subject: email.subject },
    tags: {
      'ses:configuration-set': [email.configurationSet],
      ...Object.fromEntries(Object.entries(email.tags).map(([name, value]) => [name, [value]])),
    },
  };
  const delivery = {
    timestamp: time,
    processingTimeMillis: 500,
    recipients: email.destination,
    smtpResponse: '250 2.6.0 Message received',
    reportingMTA: 'a8-70.smtp-out.amazonses.com',
  };
  const bounce = (bounceSubType: string, diagnosticCode: string) => ({
    bounceType: 'Permanent',
    bounceSubType,
    bouncedRecipients: [{ emailAddress: to, action: 'failed', status: '5.1.1', diagnosticCode }],
    timestamp: time,
    feedbackId: randomUUID(),
    reportingMTA: 'dns; a8-70.smtp-out.amazonses.com',
  });
  const records: Record<string, unknown>[] =
    local === 'bounce'
      ? [{ eventType: 'Bounce', mail, bounce: bounce('General', 'smtp; 550 5.1.1 user unknown') }]
      : local === 'validation'
        ? [
            {
              eventType: 'Bounce',
              mail,
              bounce: bounce(
                VALIDATION_BOUNCE_SUBTYPE,
                'Amazon SES did not send to this address: it failed validation',
              ),
            },
          ]
        : local === 'suppressionlist'
          ? [{ eventType: 'Bounce', mail, bounce: bounce('Suppressed', 'Amazon SES has suppressed sending') }]
          : local === 'complaint'
            ? [
                { eventType: 'Delivery', mail, delivery },
                {
                  eventType: 'Complaint',
                  mail,
                  complaint: {
                    complainedRecipients: [{ emailAddress: to }],
                    timestamp: time,
                    feedbackId: randomUUID(),
                    complaintFeedbackType: 'abuse',
                  },
                },
              ]
            : [{ eventType: 'Delivery', mail, delivery }];
  return records.map((detail) => ({
    version: '0' as const,
    id: randomUUID(),
    'detail-type': emailEventRule.detailTypes[detail.eventType as keyof typeof emailEventRule.detailTypes],
    source: 'aws.ses',
    account: LOCAL_ACCOUNT_ID,
    time,
    region: LOCAL_REGION,
    resources: [
      `arn:aws:ses:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:configuration-set/${email.configurationSet}`,
    ],
    detail: detail as unknown as SesEventRecord,
  }));
}

/**
 * The email of a v1 `SendEmail` query request (form-encoded, as the SDK sends it) sent through a
 * configuration set, or undefined for any other request.
 */
export function sentEmailOf(body: string, answer: string): SentEmail | undefined {
  const form = new URLSearchParams(body);
  const messageId = /<MessageId>([^<]+)<\/MessageId>/.exec(answer)?.[1];
  const configurationSet = form.get('ConfigurationSetName');
  if (form.get('Action') !== 'SendEmail' || !messageId || !configurationSet) return undefined;
  const list = (prefix: string) =>
    [...form.keys()].filter((key) => key.startsWith(prefix)).map((key) => form.get(key) ?? '');
  return {
    messageId,
    source: form.get('Source') ?? '',
    destination: list('Destination.ToAddresses.member.'),
    subject: form.get('Message.Subject.Data') ?? '',
    configurationSet,
    tags: tagsOf(form),
  };
}
