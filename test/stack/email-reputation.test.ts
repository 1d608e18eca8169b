/**
 * The SES reputation construct on its own (the stack wires it in elsewhere): the configuration set, its
 * EventBridge destination, the rule, the queue between it and the event handler with its retries and
 * dead-letter queue, the handler's least-privilege role, the alarms, what the worker gets, and cdk-nag.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { beforeAll, describe, expect, it } from 'vitest';
import { emailEventsQueue } from '../../functions/config/settings.ts';
import {
  type EmailEventRoute,
  emailEventOf,
  emailEventRoutes,
  emailEventRule,
  keptEmailEvent,
  type QueuedEmailEvent,
  routeOf,
  type SesEmailEvent,
  valueAt,
} from '../../functions/email/events.ts';
import { readConfig } from '../../lib/config.ts';
import { EmailReputation } from '../../lib/constructs/email-reputation.ts';
import { createFeedbackFunction } from '../../lib/constructs/feedback-function.ts';
import { TaskTable } from '../../lib/constructs/task-table.ts';
import { type SentEmail, sesEventsFor } from '../../lib/local/ses-events.ts';
import {
  actionsOf,
  functionsByService,
  logicalIdOf,
  nagViolations,
  statementsOfFunction,
} from './stack-fixture.ts';

const TOPIC_ARN = 'arn:aws:sns:us-east-1:123456789012:alarms';
const TASK_ID = '9f1c2a4e-7b3d-4e5f-8a6b-0c1d2e3f4a5b';
const CONFIGURATION_SET = 'feedback-emails';

type Target = { InputTransformer?: { InputPathsMap: Record<string, string>; InputTemplate: string } };

function sentEmail(to: string): SentEmail {
  return {
    messageId: 'message-1',
    source: 'support@example.com',
    destination: [to],
    subject: 'Your Feedback',
    configurationSet: CONFIGURATION_SET,
    tags: { taskId: TASK_ID, recipient: 'visitor' },
  };
}

/**
 * What EventBridge makes of an event with an input transformer whose placeholders stand unquoted, as
 * aws-cdk-lib writes them: each replaced by its path's value as JSON (the rules' patterns make sure that
 * every path has a value).
 */
function applyInputTransformer(
  { InputPathsMap, InputTemplate }: NonNullable<Target['InputTransformer']>,
  event: SesEmailEvent,
): QueuedEmailEvent {
  const text = InputTemplate.replace(/<([^>]+)>/g, (_, name: string) => {
    const path = InputPathsMap[name];
    if (path === undefined) throw new Error(`no path for <${name}>`);
    return JSON.stringify(valueAt(event, path.replace(/^\$\./, '')));
  });
  return JSON.parse(text) as QueuedEmailEvent;
}

/** Whether a rule's pattern is the one of a route: its detail type, and the fields it must or must not have. */
function isRuleOf(pattern: Record<string, unknown>, route: EmailEventRoute): boolean {
  const wants = (path: string, exists: boolean) =>
    JSON.stringify(valueAt(pattern, path)) === JSON.stringify([{ exists }]);
  return (
    JSON.stringify(pattern['detail-type']) ===
      JSON.stringify([emailEventRule.detailTypes[route.eventType]]) &&
    route.fields.every((path) => wants(path, true)) &&
    (route.absent ?? []).every((path) => wants(path, false)) &&
    // No other route's extra fields.
    emailEventRoutes
      .filter((other) => other !== route && other.eventType === route.eventType)
      .every((other) =>
        other.fields.every((path) => (!route.fields.includes(path) ? !wants(path, true) : true)),
      )
  );
}
let app: App;
let template: Template;

beforeAll(() => {
  app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'ReputationTest');
  const tasks = new TaskTable(stack, 'Tasks');
  const worker = createFeedbackFunction(stack, 'Worker', {
    handlerName: 'send-feedback-email',
    description: 'worker',
    memoryMb: 256,
    timeoutSeconds: 60,
    environment: {},
  });
  const reputation = new EmailReputation(stack, 'EmailReputation', {
    table: tasks.table,
    alarmTopic: Topic.fromTopicArn(stack, 'Alarms', TOPIC_ARN),
  });
  reputation.useForSending(worker);
  template = Template.fromStack(stack);
});

describe('the SES configuration set', () => {
  it('suppresses addresses that bounced or complained, and keeps reputation metrics', () => {
    template.hasResourceProperties('AWS::SES::ConfigurationSet', {
      SuppressionOptions: { SuppressedReasons: ['BOUNCE', 'COMPLAINT'] },
      ReputationOptions: { ReputationMetricsEnabled: true },
    });
  });

  it("publishes delivery, bounce, complaint and reject events to the account's default bus", () => {
    const destination = Object.values(template.findResources('AWS::SES::ConfigurationSetEventDestination'));
    expect(destination).toHaveLength(1);
    const properties = destination[0]?.Properties.EventDestination;
    expect(properties.Enabled).toBe(true);
    expect([...properties.MatchingEventTypes].sort()).toEqual(['bounce', 'complaint', 'delivery', 'reject']);
    expect(JSON.stringify(properties.EventBridgeDestination.EventBusArn)).toContain('event-bus/default');
  });
});

describe('the email-event rule and queue', () => {
  const queueId = () => logicalIdOf(template, 'AWS::SQS::Queue', 'EmailReputationEventQueue');
  const deadLetterQueueId = () => logicalIdOf(template, 'AWS::SQS::Queue', 'EmailReputationDeadLetterQueue');

  const rules = () =>
    Object.values(template.findResources('AWS::Events::Rule')).map(
      (rule) => rule.Properties as { EventPattern: Record<string, unknown>; Targets: Target[] },
    );

  it('puts the tagged events of this configuration set on the queue, one rule per route, with the dead-letter queue for what it cannot', () => {
    template.resourceCountIs('AWS::Events::Rule', emailEventRoutes.length);
    for (const route of emailEventRoutes) {
      template.hasResourceProperties('AWS::Events::Rule', {
        EventPattern: {
          source: ['aws.ses'],
          'detail-type': [emailEventRule.detailTypes[route.eventType]],
          detail: Match.objectLike({
            mail: {
              messageId: [{ exists: true }],
              tags: {
                taskId: [{ exists: true }],
                recipient: [{ exists: true }],
                'ses:configuration-set': [{ Ref: Match.stringLikeRegexp('ConfigurationSet') }],
              },
            },
          }),
        },
        Targets: [
          Match.objectLike({
            Arn: { 'Fn::GetAtt': [queueId(), 'Arn'] },
            DeadLetterConfig: { Arn: { 'Fn::GetAtt': [deadLetterQueueId(), 'Arn'] } },
          }),
        ],
      });
    }
    expect(
      rules()
        .flatMap((rule) => rule.EventPattern['detail-type'])
        .sort(),
    ).toEqual([
      'Email Bounced',
      'Email Complaint Received',
      'Email Complaint Received',
      'Email Delivered',
      'Email Rejected',
    ]);
  });

  it.each(
    [
      'success@simulator.amazonses.com',
      'bounce@simulator.amazonses.com',
      'suppressionlist@simulator.amazonses.com',
      'complaint@simulator.amazonses.com',
    ].flatMap((to) => sesEventsFor(sentEmail(to))),
  )('queues of a $detail.eventType event what the local stack queues, and no address or subject', (event) => {
    // Prepare: the local stack's route and trimmed event, and the rule whose pattern asks for that route.
    const route = routeOf(event, [CONFIGURATION_SET]);
    if (route === undefined) throw new Error('no route');
    const rule = rules().find((candidate) => isRuleOf(candidate.EventPattern, route));
    const transformer = rule?.Targets[0]?.InputTransformer;
    if (transformer === undefined) throw new Error(`no rule for ${route.name}`);

    // Act
    const queued = applyInputTransformer(transformer, event);

    // Assess
    expect(queued).toEqual(keptEmailEvent(event, route));
    expect(JSON.stringify(queued)).not.toMatch(/@|Your Feedback/);
    expect(emailEventOf(queued.detail)).toEqual(emailEventOf(event.detail));
  });

  it('has a route for a complaint without a feedback type, and one for a reject', () => {
    const [delivery] = sesEventsFor(sentEmail('success@simulator.amazonses.com'));
    if (delivery === undefined) throw new Error('no event');
    const complaint = {
      ...delivery,
      'detail-type': 'Email Complaint Received',
      detail: { ...delivery.detail, eventType: 'Complaint', complaint: { complaintSubType: null } },
    };
    const reject = {
      ...delivery,
      'detail-type': 'Email Rejected',
      detail: { ...delivery.detail, eventType: 'Reject', reject: { reason: 'Bad content' } },
    };
    expect(routeOf(complaint, [CONFIGURATION_SET])?.name).toBe('ComplaintWithoutType');
    expect(
      keptEmailEvent(complaint, routeOf(complaint, [CONFIGURATION_SET]) as EmailEventRoute).detail,
    ).toEqual({
      eventType: 'Complaint',
      mail: { messageId: 'message-1', tags: { taskId: [TASK_ID], recipient: ['visitor'] } },
    });
    expect(
      keptEmailEvent(reject, routeOf(reject, [CONFIGURATION_SET]) as EmailEventRoute).detail,
    ).toMatchObject({
      reject: { reason: 'Bad content' },
    });
  });

  it('lets only this rule send to the queue', () => {
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: queueId() }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Action: Match.arrayWith(['sqs:SendMessage']),
            Principal: { Service: 'events.amazonaws.com' },
            Condition: {
              ArnEquals: {
                'aws:SourceArn': { 'Fn::GetAtt': [Match.stringLikeRegexp('EmailEvents'), 'Arn'] },
              },
            },
          }),
        ]),
      },
    });
  });

  it('feeds record-email-event in batches, reporting failed records, at the concurrency of the settings', () => {
    const handler = functionsByService(template).get('record-email-event');
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: handler?.logicalId },
      EventSourceArn: { 'Fn::GetAtt': [queueId(), 'Arn'] },
      BatchSize: emailEventsQueue.batchSize,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: emailEventsQueue.maxConcurrency },
    });
  });

  it('retries an event for about an hour, then keeps it 14 days in the dead-letter queue', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: {
        deadLetterTargetArn: { 'Fn::GetAtt': [deadLetterQueueId(), 'Arn'] },
        maxReceiveCount: emailEventsQueue.maxReceiveCount,
      },
      VisibilityTimeout: emailEventsQueue.visibilityTimeoutSeconds,
      SqsManagedSseEnabled: true,
    });
    template.hasResourceProperties('AWS::SQS::Queue', {
      MessageRetentionPeriod: 14 * 24 * 3600,
      SqsManagedSseEnabled: true,
    });
    const retrySeconds = emailEventsQueue.maxReceiveCount * emailEventsQueue.visibilityTimeoutSeconds;
    expect(retrySeconds).toBeGreaterThanOrEqual(3600);
    expect(retrySeconds).toBeLessThan(2 * 3600);
  });

  it("has a visibility timeout of at least six times the handler's timeout", () => {
    const handler = functionsByService(template).get('record-email-event');
    const queue = template.toJSON().Resources[queueId()].Properties;
    expect(queue.VisibilityTimeout).toBeGreaterThanOrEqual(6 * (handler?.properties?.Timeout as number));
  });

  it('denies access to both queues that is not over TLS', () => {
    for (const id of [queueId(), deadLetterQueueId()]) {
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: id }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    }
  });

  it('alarms, to the alarm topic, when an event is in the dead-letter queue', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [deadLetterQueueId(), 'QueueName'] } }],
      Threshold: 1,
      AlarmActions: [TOPIC_ARN],
      OKActions: [TOPIC_ARN],
    });
  });

  it('gives the handler UpdateItem and GetItem on the task table, what its event source needs, and nothing else', () => {
    const handler = functionsByService(template).get('record-email-event');
    const statements = statementsOfFunction(template, handler?.properties);
    const table = statements.filter((statement) =>
      actionsOf([statement]).some((a) => a.startsWith('dynamodb:')),
    );
    expect(actionsOf(table)).toEqual(['dynamodb:GetItem', 'dynamodb:UpdateItem']);
    // The table itself: no index, no other table.
    expect(table).toHaveLength(1);
    expect([table[0]?.Resource].flat()).toEqual([
      { 'Fn::GetAtt': [expect.stringMatching(/^TasksTable/), 'Arn'] },
    ]);
    const queue = statements.filter((statement) => actionsOf([statement]).some((a) => a.startsWith('sqs:')));
    expect(queue.map((statement) => statement.Resource)).toEqual([{ 'Fn::GetAtt': [queueId(), 'Arn'] }]);
    expect(actionsOf(statements).filter((action) => !action.startsWith('dynamodb:'))).toEqual([
      'logs:CreateLogStream',
      'logs:PutLogEvents',
      'sqs:ChangeMessageVisibility',
      'sqs:DeleteMessage',
      'sqs:GetQueueAttributes',
      'sqs:GetQueueUrl',
      'sqs:ReceiveMessage',
    ]);
    expect(handler?.properties?.Environment).toEqual({
      Variables: expect.objectContaining({ TASKS_TABLE_NAME: expect.anything() }),
    });
  });
});

describe('the reputation alarms', () => {
  it.each([
    ['Reputation.BounceRate', 0.05],
    ['Reputation.ComplaintRate', 0.001],
  ])('alarms on the account %s over %d, to the alarm topic', (metricName, threshold) => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SES',
      MetricName: metricName,
      Threshold: threshold,
      ComparisonOperator: 'GreaterThanThreshold',
      AlarmActions: [TOPIC_ARN],
      OKActions: [TOPIC_ARN],
    });
  });
});

describe('the worker, given the reputation setup', () => {
  it('sends through the configuration set, with the hash key by dynamic reference', () => {
    const worker = functionsByService(template).get('send-feedback-email');
    const variables =
      (worker?.properties?.Environment as { Variables: Record<string, unknown> } | undefined)?.Variables ??
      {};
    expect(variables.SES_CONFIGURATION_SET).toEqual({ Ref: expect.stringMatching(/ConfigurationSet/) });
    expect(JSON.stringify(variables.AUTORESPONSE_HASH_KEY)).toContain('{{resolve:secretsmanager:');
    const statements = statementsOfFunction(template, worker?.properties);
    const send = statements.find((statement) => actionsOf([statement]).includes('ses:SendEmail'));
    expect(JSON.stringify(send?.Resource)).toContain(':configuration-set/');
    expect(actionsOf(statements).some((action) => action.startsWith('secretsmanager:'))).toBe(false);
  });

  it('keeps the hash key in a generated secret', () => {
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: { PasswordLength: 64, ExcludePunctuation: true },
    });
  });
});

it('leaves no cdk-nag finding unacknowledged but its alarms, which the stack puts on its dashboard', () => {
  expect(nagViolations(app).map((violation) => violation.ruleName)).toEqual(['Feedback-AlarmOnDashboard']);
});

describe('context autoresponseLimit', () => {
  const read = (value?: string) => readConfig((key) => (key === 'autoresponseLimit' ? value : undefined));

  it('defaults to 3 a day and takes an integer of at least 1', () => {
    expect(read().autoresponseLimit).toBe(3);
    expect(read('10').autoresponseLimit).toBe(10);
    for (const value of ['0', '1.5', 'none']) expect(() => read(value)).toThrow(/autoresponseLimit/);
  });
});
