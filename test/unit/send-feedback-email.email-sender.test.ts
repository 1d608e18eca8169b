/**
 * The worker's SES sender with the REAL SESClient and its query serializer (no client mock): only the
 * HTTP layer is replaced, by a handler that keeps each serialized request body.
 */
import { SESClient } from '@aws-sdk/client-ses';
import { describe, expect, it } from 'vitest';
import { visitorEmail } from '../../functions/email/messages.ts';
import { createEmailSender, RequestBuildError } from '../../functions/email/sender.ts';
import { classifyError } from '../../functions/worker/retry-policy.ts';
import { validFeedback } from '../helpers/feedback.ts';

const LOCAL = { region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };

function capturingSender() {
  const bodies: string[] = [];
  const client = () =>
    new SESClient({
      ...LOCAL,
      requestHandler: {
        handle: async (request: { body?: unknown }) => {
          bodies.push(String(request.body));
          const xml = `<SendEmailResponse><SendEmailResult><MessageId>ses-${bodies.length}</MessageId></SendEmailResult></SendEmailResponse>`;
          return { response: { statusCode: 200, headers: {}, body: Buffer.from(xml) } };
        },
      },
    });
  const sender = createEmailSender(client(), client);
  return { sender, bodies };
}

describe('createEmailSender', () => {
  it("sends the serialized request and resolves to SES's message id", async () => {
    // Prepare
    const { sender, bodies } = capturingSender();

    // Act
    const messageId = await sender.send(
      visitorEmail('support@example.com', validFeedback({ message: 'Hi' })),
    );

    // Assess
    expect(messageId).toBe('ses-1');
    const fields = new URLSearchParams(bodies[0]);
    expect(fields.get('Destination.ToAddresses.member.1')).toBe('visitor@example.com');
    expect(fields.get('Message.Body.Text.Data')).toBe('\tHi\n\nThank you!');
  });

  it("refuses a request that cannot be built, for good, and it cannot change the next task's request", async () => {
    // Prepare
    const { sender, bodies } = capturingSender();
    const attacker = visitorEmail(
      'support@example.com',
      validFeedback({ email: 'attacker@example.com', message: 'x \ud800' }),
    );

    // Act
    const refused = await sender.send(attacker).catch((error: unknown) => error);
    await sender.send(visitorEmail('support@example.com', validFeedback({ message: 'Legitimate' })));

    // Assess
    expect(refused).toBeInstanceOf(RequestBuildError);
    expect(classifyError(refused)).toBe('permanent');
    expect(bodies).toHaveLength(1);
    const fields = new URLSearchParams(bodies[0]);
    expect(fields.getAll('Destination.ToAddresses.member.1')).toEqual(['visitor@example.com']);
    expect(fields.getAll('Message.Body.Text.Data')).toEqual(['\tLegitimate\n\nThank you!']);
    expect(fields.getAll('Source')).toEqual(['support@example.com']);
    expect(bodies[0]).not.toContain('attacker');
  });

  it('passes on an error of SES itself, not as a build error', async () => {
    // Prepare
    const sender = createEmailSender(
      new SESClient({
        ...LOCAL,
        maxAttempts: 1,
        requestHandler: {
          handle: async () => {
            const xml =
              '<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Daily message quota exceeded.</Message></Error></ErrorResponse>';
            return { response: { statusCode: 400, headers: {}, body: Buffer.from(xml) } };
          },
        },
      }),
    );

    // Act
    const error = await sender
      .send(visitorEmail('support@example.com', validFeedback({ message: 'Hi' })))
      .catch((caught: unknown) => caught);

    // Assess
    expect(error).not.toBeInstanceOf(RequestBuildError);
    expect(classifyError(error)).toBe('quota');
  });
});

describe('createEmailSender on a shared client', () => {
  it('guards a client once, however many senders use it', () => {
    // Prepare
    const client = new SESClient(LOCAL);

    // Act
    createEmailSender(client);
    createEmailSender(client);

    // Assess
    expect(
      client.middlewareStack.identify().filter((name) => name.startsWith('requestBuildError')),
    ).toHaveLength(1);
  });
});
