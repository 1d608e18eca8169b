/**
 * The autoresponses' own configuration set in the stack: SES's Auto Validation at the `addressValidation`
 * threshold (none written with `off`), its events recorded by the owner's rule, and the breaker: alarms on
 * the set's own rates below AWS's review levels whose action invokes a function that may pause that set
 * and nothing else, with a failure destination, an alarm on it, and every alarm on the dashboard.
 */
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { autoresponseBreaker, sesReviewLevels } from '../../functions/config/settings.ts';
import * as setting from '../../functions/config/table.ts';
import {
  actionsOf,
  functionsByService,
  logicalIdOf,
  nagViolations,
  type SynthesizedStack,
  statementsOfFunction,
  synthesize,
} from './stack-fixture.ts';

const context = {
  senderEmail: 'feedback@example.com',
  notifyEmail: 'owner@example.com',
  alarmEmail: 'ops@example.com',
};

let synthesized: SynthesizedStack;
let autoresponseSet: string;
let ownerSet: string;

beforeAll(() => {
  synthesized = synthesize(context, { templateOnly: true });
  autoresponseSet = logicalIdOf(
    synthesized.template,
    'AWS::SES::ConfigurationSet',
    'AutoresponsesConfigurationSet',
  );
  ownerSet = logicalIdOf(
    synthesized.template,
    'AWS::SES::ConfigurationSet',
    'EmailReputationConfigurationSet',
  );
});

function configurationSet(template: SynthesizedStack['template'], logicalId: string) {
  return template.toJSON().Resources[logicalId].Properties as Record<string, Record<string, unknown>>;
}

describe("the autoresponses' configuration set", () => {
  it("has SES's Auto Validation on at the managed threshold by default, with the suppression list and reputation metrics", () => {
    expect(configurationSet(synthesized.template, autoresponseSet)).toMatchObject({
      SuppressionOptions: {
        SuppressedReasons: ['BOUNCE', 'COMPLAINT'],
        ValidationOptions: {
          ConditionThreshold: {
            ConditionThresholdEnabled: 'ENABLED',
            OverallConfidenceThreshold: { ConfidenceVerdictThreshold: 'MANAGED' },
          },
        },
      },
      ReputationOptions: { ReputationMetricsEnabled: true },
    });
  });

  it("leaves the owner's set without validation, and neither set's sending to the template", () => {
    expect(configurationSet(synthesized.template, ownerSet).SuppressionOptions).not.toHaveProperty(
      'ValidationOptions',
    );
    expect(configurationSet(synthesized.template, autoresponseSet)).not.toHaveProperty('SendingOptions');
  });

  it.each([
    ['high', 'HIGH'],
    ['medium', 'MEDIUM'],
  ])('takes addressValidation=%s as the %s threshold', (level, threshold) => {
    const { template } = synthesize({ ...context, addressValidation: level }, { templateOnly: true });
    const id = logicalIdOf(template, 'AWS::SES::ConfigurationSet', 'AutoresponsesConfigurationSet');
    expect(configurationSet(template, id).SuppressionOptions?.ValidationOptions).toEqual({
      ConditionThreshold: {
        ConditionThresholdEnabled: 'ENABLED',
        OverallConfidenceThreshold: { ConfidenceVerdictThreshold: threshold },
      },
    });
  });

  it('writes no ValidationOptions at all with addressValidation=off', () => {
    const { template } = synthesize({ ...context, addressValidation: 'off' }, { templateOnly: true });
    for (const resource of Object.values(template.findResources('AWS::SES::ConfigurationSet'))) {
      expect(JSON.stringify(resource)).not.toContain('ValidationOptions');
    }
  });

  it('publishes its delivery, bounce, complaint and reject events to the default bus', () => {
    synthesized.template.hasResourceProperties('AWS::SES::ConfigurationSetEventDestination', {
      ConfigurationSetName: { Ref: autoresponseSet },
      EventDestination: {
        Enabled: true,
        MatchingEventTypes: ['delivery', 'bounce', 'complaint', 'reject'],
        EventBridgeDestination: { EventBusArn: Match.anyValue() },
      },
    });
  });

  it("has its events recorded by the owner's rule, beside the owner's set's", () => {
    synthesized.template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.objectLike({
        detail: {
          mail: {
            tags: Match.objectLike({
              'ses:configuration-set': Match.arrayWith([{ Ref: ownerSet }, { Ref: autoresponseSet }]),
            }),
          },
        },
      }),
    });
  });

  it("is the worker's for the visitor's email: its variable and ses:SendEmail on the set", () => {
    const worker = functionsByService(synthesized.template).get('send-feedback-email');
    expect(worker?.properties?.Environment).toMatchObject({
      Variables: { [setting.sesAutoresponseConfigurationSet.env]: { Ref: autoresponseSet } },
    });
    const sends = statementsOfFunction(synthesized.template, worker?.properties).filter((statement) =>
      [statement.Action].flat().includes('ses:SendEmail'),
    );
    expect(JSON.stringify(sends)).toContain(`{"Ref":"${autoresponseSet}"}`);
  });
});

describe('the circuit breaker', () => {
  const alarmsOn = (metricName: string) =>
    Object.entries(synthesized.template.findResources('AWS::CloudWatch::Alarm')).filter(
      ([, alarm]) => alarm.Properties.MetricName === metricName && alarm.Properties.Namespace === 'AWS/SES',
    );
  const pause = () => {
    const found = functionsByService(synthesized.template).get('pause-autoresponses');
    if (found === undefined) throw new Error('No pause function');
    return found;
  };

  it("alarms on the set's own bounce and complaint rates, below AWS's review levels", () => {
    expect(autoresponseBreaker.bounceRate).toBeLessThan(sesReviewLevels.bounceRate);
    expect(autoresponseBreaker.complaintRate).toBeLessThan(sesReviewLevels.complaintRate);
    for (const [metricName, threshold] of [
      ['Reputation.BounceRate', autoresponseBreaker.bounceRate],
      ['Reputation.ComplaintRate', autoresponseBreaker.complaintRate],
    ] as const) {
      synthesized.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/SES',
        MetricName: metricName,
        Dimensions: [{ Name: 'ses:configuration-set', Value: { Ref: autoresponseSet } }],
        Threshold: threshold,
        ComparisonOperator: 'GreaterThanThreshold',
        TreatMissingData: 'notBreaching',
      });
    }
  });

  it('pauses through its function when an alarm fires, and mails the alarm topic both ways', () => {
    const topic = { Ref: logicalIdOf(synthesized.template, 'AWS::SNS::Topic', 'MonitoringAlarmTopic') };
    const breakers = [...alarmsOn('Reputation.BounceRate'), ...alarmsOn('Reputation.ComplaintRate')].filter(
      ([, alarm]) => String(JSON.stringify(alarm.Properties.Dimensions)).includes(autoresponseSet),
    );
    expect(breakers).toHaveLength(2);
    for (const [, alarm] of breakers) {
      expect(alarm.Properties.AlarmActions).toEqual(
        expect.arrayContaining([{ 'Fn::GetAtt': [pause().logicalId, 'Arn'] }, topic]),
      );
      expect(alarm.Properties.OKActions).toEqual([topic]);
    }
  });

  it('lets only those alarms invoke the pause function', () => {
    const permissions = Object.values(synthesized.template.findResources('AWS::Lambda::Permission')).filter(
      (permission) => JSON.stringify(permission.Properties.FunctionName).includes(pause().logicalId),
    );
    expect(permissions).toHaveLength(2);
    for (const permission of permissions) {
      expect(permission.Properties).toMatchObject({
        Action: 'lambda:InvokeFunction',
        Principal: 'lambda.alarms.cloudwatch.amazonaws.com',
        SourceArn: {
          'Fn::GetAtt': [expect.stringMatching(/^Autoresponses(Bounce|Complaint)RateBreaker/), 'Arn'],
        },
      });
    }
  });

  it("lets the pause function disable that one set, and send the owner's notice through the owner's set", () => {
    const statements = statementsOfFunction(synthesized.template, pause().properties);
    const failedEvent = ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'];
    expect(actionsOf(statements)).toEqual(
      [
        'ses:UpdateConfigurationSetSendingEnabled',
        'ses:SendEmail',
        'ses:SendEmail',
        ...failedEvent,
        'logs:CreateLogStream',
        'logs:PutLogEvents',
      ].sort(),
    );
    const pauses = statements.filter((statement) =>
      [statement.Action].flat().includes('ses:UpdateConfigurationSetSendingEnabled'),
    );
    expect(pauses).toHaveLength(1);
    expect(JSON.stringify(pauses[0]?.Resource)).toContain(':configuration-set/');
    expect(JSON.stringify(pauses[0]?.Resource)).toContain(`{"Ref":"${autoresponseSet}"}`);
    expect(JSON.stringify(pauses[0]?.Resource)).not.toContain(ownerSet);
    expect(JSON.stringify(pauses[0]?.Resource)).not.toContain('*');
    expect(pause().properties?.Environment).toMatchObject({
      Variables: {
        [setting.sesAutoresponseConfigurationSet.env]: { Ref: autoresponseSet },
        [setting.sesConfigurationSet.env]: { Ref: ownerSet },
        [setting.notifyEmail.env]: context.notifyEmail,
        [setting.senderEmail.env]: context.senderEmail,
      },
    });
  });

  it('retries a failed pause, then keeps its event in a queue that outlives nothing it serves, with an alarm', () => {
    const failedPauses = logicalIdOf(synthesized.template, 'AWS::SQS::Queue', 'AutoresponsesFailedPauses');
    synthesized.template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: pause().logicalId },
      MaximumRetryAttempts: 2,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [failedPauses, 'Arn'] } } },
    });
    expect(synthesized.template.toJSON().Resources[failedPauses].Properties).toMatchObject({
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 24 * 3600,
    });
    synthesized.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [failedPauses, 'QueueName'] } }],
      Threshold: 1,
    });
  });

  it("shows its three alarms on the stack's dashboard", () => {
    const dashboard = JSON.stringify(
      Object.values(synthesized.template.findResources('AWS::CloudWatch::Dashboard'))[0]?.Properties
        .DashboardBody,
    );
    const breakerAlarms = Object.keys(synthesized.template.findResources('AWS::CloudWatch::Alarm')).filter(
      (id) => id.startsWith('Autoresponses'),
    );
    expect(breakerAlarms).toHaveLength(3);
    for (const id of breakerAlarms) expect(dashboard).toContain(`"${id}"`);
  });

  it('outputs the set for npm run autoresponses -- --aws', () => {
    synthesized.template.hasOutput('AutoresponseConfigurationSetName', { Value: { Ref: autoresponseSet } });
  });

  it('has no unacknowledged cdk-nag finding', () => {
    expect(nagViolations(synthesized.app)).toEqual([]);
  });
});
