import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  apiThrottling,
  DEFAULT_SES_MAX_SEND_RATE,
  DEFAULT_TASK_TTL_DAYS,
  DEFAULT_WORK_SECONDS,
  env,
  visibilityTimeoutSeconds,
} from '../../functions/commons/settings';
import { PLACEHOLDER_SENDER_EMAIL } from '../../lib/config';
import { functionsByService, nagViolations, type SynthesizedStack, synthesize } from './stack-fixture';

// No context at all: what `npm run synth` builds on a fresh clone. Bundling and CloudFormation's schema
// validation run in the other stack test; this one reads the template only.
let synthesized: SynthesizedStack;

beforeAll(() => {
  synthesized = synthesize({}, { templateOnly: true });
});

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

  it('uses the settings’ defaults', () => {
    const services = functionsByService(synthesized.template);
    expect(services.get('send-feedback-email')?.properties?.Environment).toMatchObject({
      Variables: {
        [env.senderEmail]: PLACEHOLDER_SENDER_EMAIL,
        [env.workSeconds]: String(DEFAULT_WORK_SECONDS),
        [env.sesMaxSendRate]: String(DEFAULT_SES_MAX_SEND_RATE),
      },
    });
    expect(services.get('submit-feedback')?.properties?.Environment).toMatchObject({
      Variables: { [env.taskTtlDays]: String(DEFAULT_TASK_TTL_DAYS) },
    });
    synthesized.template.hasResourceProperties('AWS::SQS::Queue', {
      VisibilityTimeout: visibilityTimeoutSeconds(DEFAULT_WORK_SECONDS),
    });
    synthesized.template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: {
        ThrottlingRateLimit: apiThrottling.rateLimit,
        ThrottlingBurstLimit: apiThrottling.burstLimit,
      },
    });
  });

  it('creates no owner notification, report function or schedule without notifyEmail', () => {
    const services = functionsByService(synthesized.template);
    expect([...services.keys()].sort()).toEqual(['get-task', 'send-feedback-email', 'submit-feedback']);
    const workerVariables = services.get('send-feedback-email')?.properties?.Environment as {
      Variables: Record<string, unknown>;
    };
    expect(workerVariables.Variables).not.toHaveProperty(env.notifyEmail);
    synthesized.template.resourceCountIs('AWS::Scheduler::Schedule', 0);
  });

  it('keeps CORS off', () => {
    synthesized.template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      CorsConfiguration: Match.absent(),
    });
  });

  it('has the five alarms, without a topic to mail them', () => {
    synthesized.template.resourceCountIs('AWS::CloudWatch::Alarm', 5);
    for (const alarm of Object.values(synthesized.template.findResources('AWS::CloudWatch::Alarm'))) {
      expect(alarm.Properties.AlarmActions).toBeUndefined();
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
