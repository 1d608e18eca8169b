import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import * as setting from '../../functions/config/table.ts';
import { ConfigError, PLACEHOLDER_SENDER_EMAIL, readConfig } from '../../lib/config.ts';
import { FeedbackStack } from '../../lib/feedback-stack.ts';
import { NO_SES_MESSAGE, REGIONS_WITHOUT_SES } from '../../lib/regions.ts';
import { functionsByService, nagViolations, type SynthesizedStack, synthesize } from './stack-fixture.ts';

// No context at all: what `npm run synth` builds on a fresh clone. Bundling and CloudFormation's schema
// validation run in the other stack test; this one reads the template only.
let synthesized: SynthesizedStack;
// The same, at a higher SES rate: the worker's concurrency must follow it.
let faster: SynthesizedStack;

beforeAll(() => {
  synthesized = synthesize({}, { templateOnly: true });
  faster = synthesize({ sesMaxSendRate: '50' }, { templateOnly: true });
});

function scalingOf(stack: SynthesizedStack): unknown {
  const [mapping] = Object.values(stack.template.findResources('AWS::Lambda::EventSourceMapping'));
  return mapping?.Properties.ScalingConfig;
}

describe('without context', () => {
  it('synthesizes with the placeholder sender and warns how to pass the real one', () => {
    synthesized.template.resourceCountIs('AWS::SES::EmailIdentity', 1);
    synthesized.template.hasResourceProperties('AWS::SES::EmailIdentity', {
      EmailIdentity: PLACEHOLDER_SENDER_EMAIL,
    });
    Annotations.fromStack(synthesized.stack).hasWarning(
      '/ServerlessFeedback',
      Match.stringLikeRegexp('-c senderEmail=you@example.com'),
    );
  });

  it('refuses to deploy the placeholder: a rule CloudFormation checks before any change, synth never', () => {
    synthesized.template.hasParameter('PlaceholderSenderEmail', {
      Type: 'String',
      Default: PLACEHOLDER_SENDER_EMAIL,
    });
    expect(synthesized.template.toJSON().Rules?.SenderEmailGiven).toEqual({
      Assertions: [
        {
          Assert: {
            'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'PlaceholderSenderEmail' }, PLACEHOLDER_SENDER_EMAIL] }],
          },
          AssertDescription: expect.stringMatching(/-c senderEmail=you@example\.com.*cdk\.json/),
        },
      ],
    });
  });

  it('uses the settings’ defaults', () => {
    const services = functionsByService(synthesized.template);
    expect(services.get('send-feedback-email')?.properties?.Environment).toMatchObject({
      Variables: {
        SENDER_EMAIL: PLACEHOLDER_SENDER_EMAIL,
        FEEDBACK_WORK_SECONDS: String(setting.workSeconds.default),
        SES_MAX_SEND_RATE: String(setting.sesMaxSendRate.default),
      },
    });
    expect(services.get('submit-feedback')?.properties?.Environment).toMatchObject({
      Variables: { TASK_TTL_DAYS: String(setting.taskTtlDays.default) },
    });
    const sizing = setting.workerSizing({});
    synthesized.template.hasResourceProperties('AWS::SQS::Queue', {
      VisibilityTimeout: sizing.visibilityTimeoutSeconds,
    });
    synthesized.template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: {
        ThrottlingRateLimit: setting.apiRateLimit.default,
        ThrottlingBurstLimit: setting.apiBurstLimit.default,
      },
    });
  });

  it("sizes the worker's concurrency from the SES rate, and its pace, timeout and lease with it", () => {
    // 1 email a second and 22 s a batch (work + overhead): 5 workers of 5-task batches keep SES busy; at 50/s, 220.
    expect(scalingOf(synthesized)).toEqual({ MaximumConcurrency: 5 });
    expect(scalingOf(faster)).toEqual({ MaximumConcurrency: 220 });
    for (const [stack, concurrency] of [
      [synthesized, 5],
      [faster, 220],
    ] as const) {
      const worker = functionsByService(stack.template).get('send-feedback-email')?.properties;
      const timeout = worker?.Timeout as number;
      expect(worker?.Environment).toMatchObject({
        Variables: { WORKER_CONCURRENCY: String(concurrency), TASK_LEASE_SECONDS: String(timeout) },
      });
      // The work, then a full batch's sends, each container sending every concurrency / rate seconds.
      const rate = stack === faster ? 50 : setting.sesMaxSendRate.default;
      expect(timeout).toBeGreaterThanOrEqual(setting.workSeconds.default + (5 * concurrency) / rate);
      expect(timeout).toBeLessThanOrEqual(900);
    }
  });

  it.each([
    [{ sesMaxSendRate: '0.1', workSeconds: '700', notifyEmail: 'owner@example.com' }, /sesMaxSendRate=0.1/],
    [{ workerConcurrency: '1000' }, /workerConcurrency=1000/],
  ])('refuses %o, whose batch could outrun the timeout, with a ConfigError', (context, message) => {
    expect(() => synthesize(context, { templateOnly: true })).toThrow(ConfigError);
    expect(() => synthesize(context, { templateOnly: true })).toThrow(message);
  });

  it('creates no owner notification, report function, schedule or failed-report queue without notifyEmail', () => {
    const services = functionsByService(synthesized.template);
    expect([...services.keys()].sort()).toEqual([
      'get-task',
      'origin-check',
      'pause-autoresponses',
      'record-email-event',
      'send-feedback-email',
      'submit-feedback',
    ]);
    const workerVariables = services.get('send-feedback-email')?.properties?.Environment as {
      Variables: Record<string, unknown>;
    };
    expect(workerVariables.Variables).not.toHaveProperty('NOTIFY_EMAIL');
    synthesized.template.resourceCountIs('AWS::Scheduler::Schedule', 0);
    // The breaker's pause function's, only.
    synthesized.template.resourceCountIs('AWS::Lambda::EventInvokeConfig', 1);
    const pauseVariables = services.get('pause-autoresponses')?.properties?.Environment as {
      Variables: Record<string, unknown>;
    };
    expect(pauseVariables.Variables).not.toHaveProperty('NOTIFY_EMAIL');
    expect(Object.keys(synthesized.template.findResources('AWS::SQS::Queue')).sort()).toEqual([
      expect.stringMatching(/^AutoresponsesFailedPauses/),
      expect.stringMatching(/^EmailReputationDeadLetterQueue/),
      expect.stringMatching(/^EmailReputationEventQueue/),
      expect.stringMatching(/^EmailWorkerDeadLetterQueue/),
      expect.stringMatching(/^EmailWorkerQueue/),
    ]);
  });

  it('refuses, before CloudFormation creates anything, a Region without SES, saying why', () => {
    expect(synthesized.template.toJSON().Rules?.RegionHasSes).toEqual({
      Assertions: [
        {
          Assert: { 'Fn::Not': [{ 'Fn::Contains': [[...REGIONS_WITHOUT_SES], { Ref: 'AWS::Region' }] }] },
          AssertDescription: NO_SES_MESSAGE,
        },
      ],
    });
    expect(NO_SES_MESSAGE).toMatch(/SES is not available in this Region/);
  });

  it('refuses at synth a Region without SES when the Region is known (as with wafRateLimit)', () => {
    const config = readConfig((key) => (key === 'senderEmail' ? 'me@example.com' : undefined));
    const build = (region: string) =>
      new FeedbackStack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Probe', {
        config,
        env: { account: '123456789012', region },
      });
    expect(() => build('eu-south-2')).toThrow(ConfigError);
    expect(() => build('eu-south-2')).toThrow(/Region eu-south-2: Amazon SES is not available/);
    expect(() => build('eu-south-1')).not.toThrow();
  });

  it('deletes the task table with the stack (dataRemoval=destroy), for a quick try', () => {
    const [table] = Object.values(synthesized.template.findResources('AWS::DynamoDB::Table'));
    expect(table?.DeletionPolicy).toBe('Delete');
    expect(table?.Properties.DeletionProtectionEnabled).toBeFalsy();
  });

  it('keeps CORS off', () => {
    synthesized.template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      CorsConfiguration: Match.absent(),
    });
  });

  it("has the eleven alarms (five, SES bounces, complaints and unrecorded events, the breaker's three), without a topic to mail them", () => {
    synthesized.template.resourceCountIs('AWS::CloudWatch::Alarm', 11);
    for (const [id, alarm] of Object.entries(synthesized.template.findResources('AWS::CloudWatch::Alarm'))) {
      // The breaker's rate alarms pause the autoresponses (a Lambda action); nothing mails anyone.
      const actions = (alarm.Properties.AlarmActions ?? []) as unknown[];
      expect(actions).toHaveLength(/^Autoresponses(Bounce|Complaint)RateBreaker/.test(id) ? 1 : 0);
      expect(JSON.stringify(actions)).not.toContain('sns');
    }
    synthesized.template.resourceCountIs('AWS::SNS::Topic', 0);
    synthesized.template.resourceCountIs('AWS::KMS::Key', 0);
  });

  it('has no unacknowledged cdk-nag finding', () => {
    expect(nagViolations(synthesized.app)).toEqual([]);
  });

  it('would see a finding nobody acknowledged (the nag check is not vacuous)', () => {
    const app = new App();
    new Bucket(new Stack(app, 'Probe'), 'Unacknowledged');
    expect(nagViolations(app).map((violation) => violation.ruleName)).toContain('AwsSolutions-S1');
  });
});
