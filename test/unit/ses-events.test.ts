import { describe, expect, it } from 'vitest';
import { emailEventOf, routeOf, VALIDATION_BOUNCE_SUBTYPE } from '../../functions/email/events.ts';
import { type SentEmail, sentEmailOf, sesEventsFor } from '../../lib/local/ses-events.ts';

const TASK_ID = '9f1c2a4e-7b3d-4e5f-8a6b-0c1d2e3f4a5b';

function sent(to: string): SentEmail {
  return {
    messageId: 'message-1',
    source: 'support@example.com',
    destination: [to],
    subject: 'Your Feedback',
    configurationSet: 'feedback-emails',
    tags: { taskId: TASK_ID, recipient: 'visitor' },
  };
}

describe('sesEventsFor (the local stack publishes SES events in SES format)', () => {
  it.each([
    ['success@simulator.amazonses.com', ['Email Delivered'], ['Delivery']],
    ['someone@example.com', ['Email Delivered'], ['Delivery']],
    ['bounce@simulator.amazonses.com', ['Email Bounced'], ['Bounce']],
    ['suppressionlist@simulator.amazonses.com', ['Email Bounced'], ['Bounce']],
    [
      'complaint@simulator.amazonses.com',
      ['Email Delivered', 'Email Complaint Received'],
      ['Delivery', 'Complaint'],
    ],
  ])('%s gives %j', (address, detailTypes, eventTypes) => {
    // Act
    const events = sesEventsFor(sent(address));

    // Assess
    expect(events.map((event) => event['detail-type'])).toEqual(detailTypes);
    expect(events.map((event) => event.detail.eventType)).toEqual(eventTypes);
    for (const event of events) {
      expect(event).toMatchObject({ version: '0', source: 'aws.ses' });
      expect(event.detail.mail).toMatchObject({
        messageId: 'message-1',
        tags: { 'ses:configuration-set': ['feedback-emails'], taskId: [TASK_ID], recipient: ['visitor'] },
      });
    }
  });

  it('marks the suppression list bounce by its subtype, a hard bounce as General', () => {
    // Act
    const [suppressed] = sesEventsFor(sent('suppressionlist@simulator.amazonses.com'));
    const [bounced] = sesEventsFor(sent('bounce@simulator.amazonses.com'));

    // Assess
    expect(suppressed?.detail.bounce).toMatchObject({ bounceType: 'Permanent', bounceSubType: 'Suppressed' });
    expect(bounced?.detail.bounce).toMatchObject({ bounceType: 'Permanent', bounceSubType: 'General' });
  });

  it('reads a mailbox simulator address with a +label as the address without it', () => {
    // Act
    const [bounced] = sesEventsFor(sent('bounce+attempt-7@simulator.amazonses.com'));

    // Assess
    expect(bounced?.detail.bounce).toMatchObject({ bounceType: 'Permanent', bounceSubType: 'General' });
  });

  it('gives an address under .invalid a bounce of the validation through a validated set, a hard bounce otherwise', () => {
    // Act
    const [validated] = sesEventsFor({ ...sent('typo@example.invalid'), validated: true });
    const [unvalidated] = sesEventsFor(sent('typo@example.invalid'));

    // Assess
    expect(validated?.detail.bounce).toMatchObject({
      bounceType: 'Permanent',
      bounceSubType: VALIDATION_BOUNCE_SUBTYPE,
    });
    expect(validated && emailEventOf(validated.detail)?.status).toBe('INVALID');
    expect(unvalidated?.detail.bounce).toMatchObject({ bounceType: 'Permanent', bounceSubType: 'General' });
    expect(unvalidated && emailEventOf(unvalidated.detail)?.status).toBe('BOUNCED');
  });
});

describe("routeOf (the stack's EventBridge rules, applied by the local stack)", () => {
  it('takes the events of emails tagged with their task and sent through the configuration set, only', () => {
    // Prepare
    const [ours] = sesEventsFor(sent('success@simulator.amazonses.com'));
    const [untagged] = sesEventsFor({
      ...sent('success@simulator.amazonses.com'),
      tags: { recipient: 'visitor' },
    });
    const [otherSet] = sesEventsFor({
      ...sent('success@simulator.amazonses.com'),
      configurationSet: 'another-set',
    });

    // Act
    const taken = [ours, untagged, otherSet].map(
      (event) =>
        event !== undefined && routeOf(event, ['feedback-emails', 'feedback-autoresponses']) !== undefined,
    );

    // Assess
    expect(taken).toEqual([true, false, false]);
  });

  it("takes the events of the autoresponses' set as well as the owner's", () => {
    // Prepare
    const [autoresponse] = sesEventsFor({
      ...sent('success@simulator.amazonses.com'),
      configurationSet: 'feedback-autoresponses',
    });

    // Act
    const taken =
      autoresponse !== undefined &&
      routeOf(autoresponse, ['feedback-emails', 'feedback-autoresponses']) !== undefined;

    // Assess
    expect(taken).toBe(true);
  });
});

describe('sentEmailOf (what the SES front reads of a SendEmail)', () => {
  const answer =
    '<SendEmailResponse><SendEmailResult><MessageId>abc-1</MessageId></SendEmailResult></SendEmailResponse>';

  it('reads the destination, configuration set and tags of a query-protocol SendEmail', () => {
    // Prepare
    const body = new URLSearchParams({
      Action: 'SendEmail',
      Source: 'support@example.com',
      'Destination.ToAddresses.member.1': 'bounce@simulator.amazonses.com',
      'Message.Subject.Data': 'Your Feedback',
      ConfigurationSetName: 'feedback-emails',
      'Tags.member.1.Name': 'taskId',
      'Tags.member.1.Value': TASK_ID,
      'Tags.member.2.Name': 'recipient',
      'Tags.member.2.Value': 'visitor',
    }).toString();

    // Act
    const email = sentEmailOf(body, answer);

    // Assess
    expect(email).toEqual({
      messageId: 'abc-1',
      source: 'support@example.com',
      destination: ['bounce@simulator.amazonses.com'],
      subject: 'Your Feedback',
      configurationSet: 'feedback-emails',
      tags: { taskId: TASK_ID, recipient: 'visitor' },
    });
  });

  it('ignores a send without a configuration set (no events, as on SES) and other actions', () => {
    // Act and assess
    expect(sentEmailOf('Action=SendEmail&Source=a%40b.co', answer)).toBeUndefined();
    expect(sentEmailOf('Action=GetSendQuota', answer)).toBeUndefined();
  });
});
