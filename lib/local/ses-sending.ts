import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { SENDING_PAUSED_ERROR } from '../../functions/email/pause.ts';
import type { SentEmail } from './ses-events.ts';

/**
 * What the local stack's SES does that aws-ses-v2-local does not, on the same v1 query API the handlers
 * and `npm run autoresponses` call on AWS:
 * - `UpdateConfigurationSetSendingEnabled` and `DescribeConfigurationSet` (its reputation options): a
 *   paused set refuses every `SendEmail` through it with SES's `ConfigurationSetSendingPausedException`.
 *   The paused sets are kept in `stateFile` (with the rest of the data), so a restart keeps a pause.
 * - Auto Validation of the sets in `validatedSets`: an address that fails validation is accepted (a
 *   message id) and never delivered, as SES suppresses it. The rule: {@link failsValidation}.
 */
export interface LocalSesSending {
  /** SES's answer to a request it handles itself, or undefined to pass the request to the emulator. */
  answer(form: URLSearchParams): SesAnswer | undefined;
  isPaused(configurationSet: string): boolean;
}

/** An answer of the local SES, and the email it accepted without delivering it, if any. */
export interface SesAnswer {
  status: number;
  body: string;
  accepted?: SentEmail;
}

const XMLNS = 'http://ses.amazonaws.com/doc/2010-12-01/';

/**
 * Whether SES's address validation rejects an address, locally: a domain under `.invalid`, the top-level
 * domain reserved never to exist (RFC 2606), so that no DNS lookup could find its mail server. Every other
 * address passes (the mailbox simulator's included).
 */
export function failsValidation(address: string): boolean {
  return /\.invalid$/i.test(address.slice(address.lastIndexOf('@') + 1));
}

/** The local SES's configuration sets: their sending state, and which of them validate addresses. */
export function localSesSending({
  validatedSets,
  stateFile,
}: {
  validatedSets: readonly string[];
  stateFile?: string | undefined;
}): LocalSesSending {
  const paused = new Set<string>(
    stateFile && existsSync(stateFile) ? (JSON.parse(readFileSync(stateFile, 'utf8')) as string[]) : [],
  );
  const save = () => {
    if (stateFile) writeFileSync(stateFile, JSON.stringify([...paused]));
  };
  const ok = (action: string, result = '') =>
    xml(
      200,
      `<${action}Response xmlns="${XMLNS}"><${action}Result>${result}</${action}Result>${metadata()}</${action}Response>`,
    );
  return {
    isPaused: (set) => paused.has(set),
    answer(form) {
      const set = form.get('ConfigurationSetName') ?? '';
      switch (form.get('Action')) {
        case 'UpdateConfigurationSetSendingEnabled':
          if (form.get('Enabled') === 'true') paused.delete(set);
          else paused.add(set);
          save();
          return ok('UpdateConfigurationSetSendingEnabled');
        case 'DescribeConfigurationSet':
          return ok(
            'DescribeConfigurationSet',
            `<ConfigurationSet><Name>${escapeXml(set)}</Name></ConfigurationSet>` +
              `<ReputationOptions><SendingEnabled>${!paused.has(set)}</SendingEnabled><ReputationMetricsEnabled>true</ReputationMetricsEnabled></ReputationOptions>`,
          );
        case 'SendEmail': {
          if (paused.has(set)) {
            return xml(
              400,
              `<ErrorResponse xmlns="${XMLNS}"><Error><Type>Sender</Type><Code>${SENDING_PAUSED_ERROR}</Code><Message>Email sending is disabled for configuration set ${escapeXml(set)}.</Message></Error>${metadata()}</ErrorResponse>`,
            );
          }
          const to = form.get('Destination.ToAddresses.member.1') ?? '';
          if (!validatedSets.includes(set) || !failsValidation(to)) return undefined;
          const messageId = `${randomUUID()}-local`;
          return {
            ...ok('SendEmail', `<MessageId>${messageId}</MessageId>`),
            accepted: {
              messageId,
              source: form.get('Source') ?? '',
              destination: [to],
              subject: form.get('Message.Subject.Data') ?? '',
              configurationSet: set,
              tags: tagsOf(form),
              validated: true,
            },
          };
        }
        default:
          return undefined;
      }
    },
  };
}

/** The message tags of a v1 query request. */
export function tagsOf(form: URLSearchParams): Record<string, string> {
  const tags: Record<string, string> = {};
  for (let i = 1; form.has(`Tags.member.${i}.Name`); i++) {
    tags[form.get(`Tags.member.${i}.Name`) ?? ''] = form.get(`Tags.member.${i}.Value`) ?? '';
  }
  return tags;
}

function xml(status: number, body: string): SesAnswer {
  return { status, body: `<?xml version="1.0" encoding="UTF-8"?>${body}` };
}

function metadata(): string {
  return `<ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata>`;
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
