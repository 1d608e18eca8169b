/**
 * The project's own checks (lib/checks.ts): each is seen failing on a construct that breaks its invariant,
 * and passing on the same construct done right, so that none can pass by never looking.
 */
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Alarm, AlarmStatusWidget, Dashboard, Metric } from 'aws-cdk-lib/aws-cloudwatch';
import { EventField, Rule, RuleTargetInput } from 'aws-cdk-lib/aws-events';
import { LambdaFunction, SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import { Code, Function as LambdaFn, Runtime } from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Schedule, ScheduleExpression } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Queue } from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import { FeedbackChecks, forwardsAnAddress } from '../../lib/checks.ts';

/** The findings of one check on what `build` puts in a fresh stack: its rule name, once per resource. */
function findings(check: string, build: (stack: Stack) => void): string[] {
  const app = new App();
  build(new Stack(app, 'Probe'));
  return new FeedbackChecks()
    .validateScope(app)
    .violations.filter((violation) => violation.ruleName.startsWith(`Feedback-${check}`))
    .flatMap((violation) => violation.violatingResources.map(() => violation.ruleName));
}

/** A function with a log group of its own, so that only the check at hand can object to it. */
function fn(stack: Stack, id: string): LambdaFn {
  return new LambdaFn(stack, id, {
    runtime: Runtime.NODEJS_24_X,
    handler: 'index.handler',
    code: Code.fromInline('exports.handler = async () => {}'),
    logGroup: new LogGroup(stack, `${id}Logs`, { retention: RetentionDays.TWO_WEEKS }),
  });
}

describe('Feedback-DeadLetterOutlivesQueue', () => {
  const withDeadLetterKeeping = (days: number) => (stack: Stack) => {
    const deadLetters = new Queue(stack, 'DeadLetters', { retentionPeriod: Duration.days(days) });
    new Queue(stack, 'Queue', {
      retentionPeriod: Duration.days(7),
      deadLetterQueue: { queue: deadLetters, maxReceiveCount: 5 },
    });
  };

  it('fails a dead-letter queue that keeps messages no longer than its queue', () => {
    expect(findings('DeadLetterOutlivesQueue', withDeadLetterKeeping(7))).toHaveLength(1);
  });

  it('passes one that keeps them longer', () => {
    expect(findings('DeadLetterOutlivesQueue', withDeadLetterKeeping(14))).toEqual([]);
  });
});

describe('Feedback-AsyncTargetCanFail', () => {
  it('fails an EventBridge target without a dead-letter queue, and passes one with it', () => {
    const rule = (withDeadLetters: boolean) => (stack: Stack) => {
      const queue = new Queue(stack, 'Queue');
      new Rule(stack, 'Rule', {
        eventPattern: { source: ['aws.s3'] },
        targets: [new SqsQueue(queue, withDeadLetters ? { deadLetterQueue: new Queue(stack, 'Dlq') } : {})],
      });
    };
    expect(findings('AsyncTargetCanFail', rule(false))).toHaveLength(1);
    expect(findings('AsyncTargetCanFail', rule(true))).toEqual([]);
  });

  it('fails a Scheduler target without a dead-letter queue, and a function it invokes with no on-failure destination', () => {
    const schedule = (done: boolean) => (stack: Stack) => {
      const report = fn(stack, 'Report');
      if (done) report.configureAsyncInvoke({ onFailure: new SqsDestination(new Queue(stack, 'Failed')) });
      new Schedule(stack, 'Schedule', {
        schedule: ScheduleExpression.rate(Duration.days(1)),
        target: new LambdaInvoke(report, done ? { deadLetterQueue: new Queue(stack, 'Dlq') } : {}),
      });
    };
    expect(findings('AsyncTargetCanFail', schedule(false))).toHaveLength(2);
    expect(findings('AsyncTargetCanFail', schedule(true))).toEqual([]);
  });

  it('fails a function an EventBridge rule invokes with no on-failure destination', () => {
    expect(
      findings('AsyncTargetCanFail', (stack) => {
        new Rule(stack, 'Rule', {
          eventPattern: { source: ['aws.s3'] },
          targets: [new LambdaFunction(fn(stack, 'Handler'), { deadLetterQueue: new Queue(stack, 'Dlq') })],
        });
      }),
    ).toHaveLength(1);
  });

  it('fails an SNS subscription without a dead-letter queue, and passes one with it', () => {
    const subscription = (withDeadLetters: boolean) => (stack: Stack) => {
      new Topic(stack, 'Topic').addSubscription(
        new EmailSubscription(
          'ops@example.com',
          withDeadLetters ? { deadLetterQueue: new Queue(stack, 'Dlq') } : {},
        ),
      );
    };
    expect(findings('AsyncTargetCanFail', subscription(false))).toHaveLength(1);
    expect(findings('AsyncTargetCanFail', subscription(true))).toEqual([]);
  });
});

describe('Feedback-LogsExpire', () => {
  it('fails a log group that never expires, and passes one that does', () => {
    expect(
      findings('LogsExpire', (stack) => {
        new LogGroup(stack, 'Forever', { retention: RetentionDays.INFINITE });
      }),
    ).toHaveLength(1);
    expect(
      findings('LogsExpire', (stack) => {
        new LogGroup(stack, 'TwoWeeks', { retention: RetentionDays.TWO_WEEKS });
      }),
    ).toEqual([]);
  });

  it('fails a function with no log group of its own (Lambda would make one that never expires)', () => {
    expect(
      findings('LogsExpire', (stack) => {
        new LambdaFn(stack, 'Bare', {
          runtime: Runtime.NODEJS_24_X,
          handler: 'index.handler',
          code: Code.fromInline('exports.handler = async () => {}'),
        });
      }),
    ).toEqual(['Feedback-LogsExpire[Function::Bare/Resource]']);
    expect(findings('LogsExpire', (stack) => fn(stack, 'Logged'))).toEqual([]);
  });
});

describe('Feedback-SesEventsTrimmed', () => {
  const sesRule = (message?: RuleTargetInput) => (stack: Stack) => {
    new Rule(stack, 'SesEvents', {
      eventPattern: { source: ['aws.ses'], detailType: ['Email Delivered'] },
      targets: [
        new SqsQueue(new Queue(stack, 'Queue'), {
          deadLetterQueue: new Queue(stack, 'Dlq'),
          ...(message === undefined ? {} : { message }),
        }),
      ],
    });
  };

  it('fails a rule that forwards SES events whole', () => {
    expect(findings('SesEventsTrimmed', sesRule())).toHaveLength(1);
  });

  it.each(['$.detail', '$.detail.mail', '$.detail.mail.destination', '$.detail.mail.commonHeaders.subject'])(
    'fails a rule whose input transformer takes %s',
    (path) => {
      expect(
        findings('SesEventsTrimmed', sesRule(RuleTargetInput.fromObject({ x: EventField.fromPath(path) }))),
      ).toHaveLength(1);
    },
  );

  it('passes a rule that keeps fields without addresses', () => {
    const kept = RuleTargetInput.fromObject({
      type: EventField.fromPath('$.detail.eventType'),
      id: EventField.fromPath('$.detail.mail.messageId'),
      task: EventField.fromPath('$.detail.mail.tags.taskId'),
    });
    expect(findings('SesEventsTrimmed', sesRule(kept))).toEqual([]);
  });

  it('tells the paths that reach an address from those that do not', () => {
    expect(
      ['$', '$.detail.bounce', '$.detail.mail.tags.*', '$.detail.mail.source'].map(forwardsAnAddress),
    ).toEqual([true, true, true, true]);
    expect(
      ['$.time', '$.detail.bounce.bounceType', '$.detail.mail.tags.taskId'].map(forwardsAnAddress),
    ).toEqual([false, false, false]);
  });
});

describe('Feedback-AlarmOnDashboard', () => {
  const alarm = (onDashboard: boolean) => (stack: Stack) => {
    const made = new Alarm(stack, 'Alarm', {
      metric: new Metric({ namespace: 'Probe', metricName: 'Errors' }),
      threshold: 1,
      evaluationPeriods: 1,
    });
    const dashboard = new Dashboard(stack, 'Dashboard');
    if (onDashboard) dashboard.addWidgets(new AlarmStatusWidget({ alarms: [made] }));
  };

  it('fails an alarm missing from the dashboard, and passes it there', () => {
    expect(findings('AlarmOnDashboard', alarm(false))).toHaveLength(1);
    expect(findings('AlarmOnDashboard', alarm(true))).toEqual([]);
  });
});
