/**
 * The emails the product sends, as SES (v1) `SendEmail` inputs: the visitor's reply (exactly the
 * seed's), the owner's notification, and the owner's daily report.
 */
import type { SendEmailCommandInput } from '@aws-sdk/client-ses';
import type { QueuedFeedback } from '../form/queue-message.ts';
import type { DailyCounters } from '../task/daily-counters.ts';

const UTF8 = 'UTF-8';

function textEmail(source: string, to: string, subject: string, body: string): SendEmailCommandInput {
  return {
    Source: source,
    Destination: { ToAddresses: [to] },
    Message: {
      Subject: { Data: subject, Charset: UTF8 },
      Body: { Text: { Data: body, Charset: UTF8 } },
    },
  };
}

/**
 * SES's mailbox simulator (`success@`, `bounce@`, `complaint@`, `suppressionlist@`…): no one's inbox,
 * and sends to it count toward neither the quota nor the reputation.
 */
export const MAILBOX_SIMULATOR = /@simulator\.amazonses\.com$/i;

/** The subject of the visitor's email (the seed's). */
export const VISITOR_SUBJECT = 'Your Feedback';

/**
 * The email to the visitor, as the seed sends it: from the sender, to the submitted address, subject
 * `Your Feedback`, text body `"\t" + message + "\n\nThank you!"`, after a `Hi <name>,` line when the
 * visitor gave a name.
 */
export function visitorEmail(
  sender: string,
  { name, email, message }: QueuedFeedback,
): SendEmailCommandInput {
  const greeting = name === undefined ? '' : `Hi ${name},\n\n`;
  return textEmail(sender, email, VISITOR_SUBJECT, `${greeting}\t${message}\n\nThank you!`);
}

/**
 * The owner's notification of a feedback: subject `New feedback from <visitor address>`, Reply-To the
 * visitor (so that answering it answers them), the message as the body, after a `Name:` line when the
 * visitor gave a name.
 */
export function ownerEmail(
  sender: string,
  owner: string,
  { name, email, message }: QueuedFeedback,
): SendEmailCommandInput {
  const from = name === undefined ? '' : `Name: ${name}\n\n`;
  return {
    ...textEmail(sender, owner, `New feedback from ${email}`, `${from}${message}`),
    ReplyToAddresses: [email],
  };
}

/** The subject of the owner's notice that the breaker paused the autoresponses. */
export const PAUSED_SUBJECT = 'Autoresponses paused';

/**
 * The owner's notice that the circuit breaker paused the visitors' autoresponses: why (the alarm's
 * reason), what still works, and how to resume. Nothing about any visitor.
 */
export function pausedNoticeEmail(sender: string, owner: string, reason: string): SendEmailCommandInput {
  const body = [
    'The autoresponses of your feedback form ("Your Feedback" emails to visitors) are paused.',
    '',
    `Why: ${reason}`,
    '',
    'Their bounce or complaint rate passed the level at which the form pauses them, before AWS would',
    'review your SES account. Feedback is still accepted and still reaches you; visitors see that no',
    'copy was emailed. Find the cause (often a script posting the form with made-up addresses), then',
    'resume with `npm run autoresponses -- --resume --aws` (see docs/operating.md).',
    '',
  ].join('\n');
  return textEmail(sender, owner, PAUSED_SUBJECT, body);
}

/** The figures of one UTC day for the daily report: counters only, nothing about any visitor. */
export interface DailyReport extends DailyCounters {
  /** The UTC day `YYYY-MM-DD`. */
  date: string;
  /** Messages waiting in the dead-letter queue when the report was made. */
  deadLetterQueueDepth: number;
}

/** The subject of the daily report. */
export function reportSubject(date: string): string {
  return `Feedback report for ${date}`;
}

/** The text of the daily report. */
export function reportText(report: DailyReport): string {
  const lines = [
    `Feedback on ${report.date} (UTC)`,
    '',
    `Accepted: ${report.accepted}`,
    `Sent:     ${report.sent}`,
    `Retried:  ${report.retried}`,
    `Failed:   ${report.failed}`,
    '',
    `Autoresponses skipped: ${report.skipped} (addresses over their daily limit)`,
    `Addresses invalid:     ${report.invalid} (judged unable to receive mail by SES; not sent)`,
    `Autoresponses paused:  ${report.paused} (not sent while the breaker held them back)`,
    `Bounced:               ${report.bounced}`,
    `Complaints:            ${report.complained}`,
    '',
  ];
  if (report.paused > 0) {
    lines.push(
      "The autoresponses were paused: their bounce or complaint rate passed the breaker's level.",
      'Feedback still reaches you. `npm run autoresponses -- --aws` shows the rates, and',
      '`npm run autoresponses -- --resume --aws` sends again (see docs/operating.md).',
      '',
    );
  }
  if (report.bounced > 0 || report.complained > 0) {
    lines.push(
      'Bounces and complaints count against your SES reputation: AWS reviews an account',
      'over 5 % bounces or 0.1 % complaints. `npm run tasks` lists what became of each email.',
      '',
    );
  }
  if (report.deadLetterQueueDepth === 0) {
    lines.push('Dead-letter queue: empty.');
  } else {
    lines.push(
      `Dead-letter queue: ${report.deadLetterQueueDepth} message(s) waiting.`,
      'They ran out of retries. Once the cause is fixed, move them back to the queue with',
      '`npm run redrive` (see the README); their tasks are then tried again.',
    );
  }
  return `${lines.join('\n')}\n`;
}

/** The daily report to the owner. */
export function reportEmail(sender: string, owner: string, report: DailyReport): SendEmailCommandInput {
  return textEmail(sender, owner, reportSubject(report.date), reportText(report));
}
