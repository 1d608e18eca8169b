import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Match } from 'aws-cdk-lib/assertions';
import { CachePolicy, OriginRequestPolicy } from 'aws-cdk-lib/aws-cloudfront';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  apiFunction,
  consumer,
  LOG_RETENTION_DAYS,
  queue,
  reportFunction,
  statusThrottling,
} from '../../functions/config/settings.ts';
import { workerSizing } from '../../functions/config/table.ts';
import { CONTENT_SECURITY_POLICY } from '../../lib/security-headers.ts';
import {
  actionsOf,
  functionsByService,
  logicalIdOf,
  nagViolations,
  type SynthesizedStack,
  statementsOfFunction,
  synthesize,
} from './stack-fixture.ts';

// Every optional feature on, and every setting away from its default, so that each is seen to arrive.
const context = {
  senderEmail: 'feedback@example.com',
  notifyEmail: 'owner@example.com',
  alarmEmail: 'ops@example.com',
  reportSchedule: 'cron(0 6 * * ? *)',
  workSeconds: '5',
  taskTtlDays: '30',
  sesMaxSendRate: '14',
  apiRateLimit: '25',
  apiBurstLimit: '50',
  allowedOrigins: 'https://blog.example.com, http://localhost:8080',
};
const WORK_SECONDS = 5;
// Two emails per task (notifyEmail), 14 sends a second: 10 workers, each sending every 714 ms.
const sizing = workerSizing({
  workSeconds: WORK_SECONDS,
  sesMaxSendRate: 14,
  notifyEmail: 'owner@example.com',
});

let synthesized: SynthesizedStack;
let services: ReturnType<typeof functionsByService>;

beforeAll(() => {
  synthesized = synthesize(context);
  services = functionsByService(synthesized.template);
});

function fn(service: string) {
  const found = services.get(service);
  if (found === undefined) throw new Error(`No function for ${service}`);
  return found;
}

describe('cdk-nag AwsSolutions', () => {
  it('has no finding that was not acknowledged with a reason', () => {
    expect(
      nagViolations(synthesized.app).map((v) => `${v.ruleName} ${v.violatingResources[0]?.constructPath}`),
    ).toEqual([]);
  });
});

describe('functions', () => {
  it('are the six handlers and the origin check on nodejs24.x, arm64, with source maps on', () => {
    expect([...services.keys()].sort()).toEqual([
      'daily-report',
      'get-task',
      'origin-check',
      'pause-autoresponses',
      'record-email-event',
      'send-feedback-email',
      'submit-feedback',
    ]);
    for (const { properties } of services.values()) {
      expect(properties).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        Environment: {
          Variables: {
            NODE_OPTIONS: '--enable-source-maps',
            POWERTOOLS_METRICS_NAMESPACE: 'ServerlessFeedback',
          },
        },
      });
    }
  });

  it('each log to their own log group with the retention of the settings', () => {
    const { template } = synthesized;
    for (const { properties } of services.values()) {
      const logGroup =
        (properties?.LoggingConfig as { LogGroup: { Ref: string } } | undefined)?.LogGroup.Ref ?? '';
      expect(template.toJSON().Resources[logGroup]).toMatchObject({
        Type: 'AWS::Logs::LogGroup',
        Properties: { RetentionInDays: LOG_RETENTION_DAYS },
      });
    }
    for (const logGroup of Object.values(template.findResources('AWS::Logs::LogGroup'))) {
      expect(logGroup.Properties.RetentionInDays).toBe(LOG_RETENTION_DAYS);
    }
  });

  it('have roles without managed policies', () => {
    const { template } = synthesized;
    for (const { properties } of services.values()) {
      const role = (properties?.Role as { 'Fn::GetAtt': [string] } | undefined)?.['Fn::GetAtt'][0] ?? '';
      expect(template.toJSON().Resources[role].Properties.ManagedPolicyArns).toBeUndefined();
    }
  });

  it('give the worker exactly the variables it reads, from the settings and the context', () => {
    expect(fn('send-feedback-email').properties).toMatchObject({
      Timeout: sizing.timeoutSeconds,
      MemorySize: consumer.memoryMb,
    });
    synthesized.template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectEquals({
          TASKS_TABLE_NAME: { Ref: Match.stringLikeRegexp('^TaskTable') },
          FEEDBACK_QUEUE_URL: { Ref: Match.stringLikeRegexp('^EmailWorkerQueue') },
          SENDER_EMAIL: context.senderEmail,
          FEEDBACK_WORK_SECONDS: '5',
          MAX_RECEIVE_COUNT: String(queue.maxReceiveCount),
          MAX_ATTEMPTS: String(queue.maxAttempts),
          DEAD_LETTER_QUEUE_URL: { Ref: Match.stringLikeRegexp('^EmailWorkerDeadLetterQueue') },
          SES_MAX_SEND_RATE: '14',
          WORKER_CONCURRENCY: '10',
          TASK_LEASE_SECONDS: String(sizing.timeoutSeconds),
          NOTIFY_EMAIL: context.notifyEmail,
          SES_CONFIGURATION_SET: { Ref: Match.stringLikeRegexp('^EmailReputationConfigurationSet') },
          SES_AUTORESPONSE_CONFIGURATION_SET: {
            Ref: Match.stringLikeRegexp('^AutoresponsesConfigurationSet'),
          },
          AUTORESPONSE_HASH_KEY: Match.anyValue(),
          AUTORESPONSE_LIMIT: '3',
          POWERTOOLS_SERVICE_NAME: 'send-feedback-email',
          POWERTOOLS_METRICS_NAMESPACE: 'ServerlessFeedback',
          POWERTOOLS_LOG_LEVEL: 'INFO',
          NODE_OPTIONS: '--enable-source-maps',
        }),
      },
    });
  });

  it('size the API and report functions from the settings', () => {
    for (const service of ['submit-feedback', 'get-task']) {
      expect(fn(service).properties).toMatchObject({
        MemorySize: apiFunction.memoryMb,
        Timeout: apiFunction.timeoutSeconds,
      });
    }
    expect(fn('daily-report').properties).toMatchObject({
      MemorySize: reportFunction.memoryMb,
      Timeout: reportFunction.timeoutSeconds,
    });
  });

  it('give the API and report functions their variables', () => {
    expect(fn('submit-feedback').properties?.Environment).toMatchObject({
      Variables: {
        TASKS_TABLE_NAME: { Ref: expect.stringMatching(/^TaskTable/) },
        FEEDBACK_QUEUE_URL: { Ref: expect.stringMatching(/^EmailWorkerQueue/) },
        TASK_TTL_DAYS: '30',
        ALLOWED_ORIGINS: 'https://blog.example.com,http://localhost:8080',
      },
    });
    expect(fn('get-task').properties?.Environment).toMatchObject({
      Variables: { TASKS_TABLE_NAME: { Ref: expect.stringMatching(/^TaskTable/) } },
    });
    expect(fn('daily-report').properties?.Environment).toMatchObject({
      Variables: {
        TASKS_TABLE_NAME: { Ref: expect.stringMatching(/^TaskTable/) },
        SENDER_EMAIL: context.senderEmail,
        NOTIFY_EMAIL: context.notifyEmail,
        DEAD_LETTER_QUEUE_URL: { Ref: expect.stringMatching(/^EmailWorkerDeadLetterQueue/) },
        SES_CONFIGURATION_SET: { Ref: expect.stringMatching(/ConfigurationSet/) },
      },
    });
  });
});

describe('least privilege', () => {
  const logs = ['logs:CreateLogStream', 'logs:PutLogEvents'];

  it('lets the origin check only write its logs', () => {
    const statements = statementsOfFunction(synthesized.template, fn('origin-check').properties);
    expect(actionsOf(statements)).toEqual(logs);
  });

  it('lets get-task only read a record', () => {
    const statements = statementsOfFunction(synthesized.template, fn('get-task').properties);
    expect(actionsOf(statements)).toEqual(['dynamodb:GetItem', ...logs].sort());
  });

  it('lets submit-feedback only put, mark queued or delete a record and send a message', () => {
    const statements = statementsOfFunction(synthesized.template, fn('submit-feedback').properties);
    expect(actionsOf(statements)).toEqual(
      ['dynamodb:DeleteItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'sqs:SendMessage', ...logs].sort(),
    );
  });

  it('lets the worker claim and update records, consume and delay messages, give them up to the DLQ, and send as the sender', () => {
    const statements = statementsOfFunction(synthesized.template, fn('send-feedback-email').properties);
    expect(actionsOf(statements)).toEqual(
      [
        'dynamodb:GetItem',
        'dynamodb:UpdateItem',
        'sqs:ChangeMessageVisibility',
        'sqs:DeleteMessage',
        'sqs:GetQueueAttributes',
        'sqs:GetQueueUrl',
        'sqs:ReceiveMessage',
        'sqs:SendMessage',
        'ses:SendEmail',
        // Through the configuration set (SES authorizes a send against it too).
        'ses:SendEmail',
        ...logs,
      ].sort(),
    );
    const dlq = logicalIdOf(synthesized.template, 'AWS::SQS::Queue', 'EmailWorkerDeadLetterQueue');
    expect(statements).toContainEqual(
      expect.objectContaining({ Action: 'sqs:SendMessage', Resource: { 'Fn::GetAtt': [dlq, 'Arn'] } }),
    );
  });

  it("lets the report read counters and the DLQ's depth, send as the sender through the configuration set, and leave its failed event", () => {
    const statements = statementsOfFunction(synthesized.template, fn('daily-report').properties);
    // The on-failure destination's grant, as aws-cdk-lib's SqsDestination writes it.
    const failedEvent = ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'];
    expect(actionsOf(statements)).toEqual(
      [
        'dynamodb:BatchGetItem',
        'sqs:GetQueueAttributes',
        'ses:SendEmail',
        'ses:SendEmail',
        ...failedEvent,
        ...logs,
      ].sort(),
    );
    const dlq = logicalIdOf(synthesized.template, 'AWS::SQS::Queue', 'EmailWorkerDeadLetterQueue');
    expect(statements).toContainEqual(
      expect.objectContaining({ Action: 'sqs:GetQueueAttributes', Resource: { 'Fn::GetAtt': [dlq, 'Arn'] } }),
    );
    const failedReports = logicalIdOf(synthesized.template, 'AWS::SQS::Queue', 'DailyReportFailedReports');
    expect(statements).toContainEqual(
      expect.objectContaining({ Action: failedEvent, Resource: { 'Fn::GetAtt': [failedReports, 'Arn'] } }),
    );
    const sends = statements.filter((statement) => [statement.Action].flat().includes('ses:SendEmail'));
    expect(JSON.stringify(sends)).toContain(':configuration-set/');
  });

  it('scopes every table and queue permission to its resource', () => {
    const table = logicalIdOf(synthesized.template, 'AWS::DynamoDB::Table', 'TaskTable');
    for (const { properties } of services.values()) {
      for (const statement of statementsOfFunction(synthesized.template, properties)) {
        if ([statement.Action].flat().some((action) => action.startsWith('dynamodb:'))) {
          expect(statement.Resource).toEqual({ 'Fn::GetAtt': [table, 'Arn'] });
        }
        expect(statement.Resource).not.toBe('*');
      }
    }
  });

  it('limits SES sending to the sender address, for both senders', () => {
    for (const service of ['send-feedback-email', 'daily-report']) {
      const statements = statementsOfFunction(synthesized.template, fn(service).properties);
      const ses = statements.filter(
        (statement) =>
          actionsOf([statement]).some((a) => a.startsWith('ses:')) &&
          !JSON.stringify(statement.Resource).includes(':configuration-set/'),
      );
      expect(ses).toEqual([
        {
          Action: 'ses:SendEmail',
          Effect: 'Allow',
          Condition: { StringEquals: { 'ses:FromAddress': context.senderEmail } },
          Resource: {
            'Fn::Join': [
              '',
              [
                'arn:',
                { Ref: 'AWS::Partition' },
                ':ses:',
                { Ref: 'AWS::Region' },
                ':',
                { Ref: 'AWS::AccountId' },
                ':identity/*',
              ],
            ],
          },
        },
      ]);
    }
  });

  it('creates SES identities for the sender and the owner', () => {
    synthesized.template.resourceCountIs('AWS::SES::EmailIdentity', 2);
    synthesized.template.hasResourceProperties('AWS::SES::EmailIdentity', {
      EmailIdentity: context.senderEmail,
    });
    synthesized.template.hasResourceProperties('AWS::SES::EmailIdentity', {
      EmailIdentity: context.notifyEmail,
    });
  });
});

describe('queue and worker', () => {
  it('feed the worker in batches, reporting failed items, at bounded concurrency', () => {
    const queueId = logicalIdOf(synthesized.template, 'AWS::SQS::Queue', 'EmailWorkerQueue');
    // And the email-event queue's, for record-email-event.
    synthesized.template.resourceCountIs('AWS::Lambda::EventSourceMapping', 2);
    synthesized.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: fn('send-feedback-email').logicalId },
      EventSourceArn: { 'Fn::GetAtt': [queueId, 'Arn'] },
      BatchSize: consumer.batchSize,
      MaximumBatchingWindowInSeconds: consumer.maxBatchingWindowSeconds,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 10 },
    });
  });

  it('redrives to the dead-letter queue after maxReceiveCount, keeping messages no longer than needed', () => {
    const dlq = logicalIdOf(synthesized.template, 'AWS::SQS::Queue', 'EmailWorkerDeadLetterQueue');
    synthesized.template.hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: {
        deadLetterTargetArn: { 'Fn::GetAtt': [dlq, 'Arn'] },
        maxReceiveCount: queue.maxReceiveCount,
      },
      MessageRetentionPeriod: queue.retentionSeconds,
      VisibilityTimeout: sizing.visibilityTimeoutSeconds,
      SqsManagedSseEnabled: true,
    });
    synthesized.template.hasResourceProperties('AWS::SQS::Queue', {
      MessageRetentionPeriod: queue.deadLetterRetentionSeconds,
      SqsManagedSseEnabled: true,
    });
    // A backstop above the worker's own limit, leaving the receives on which it only gives up.
    expect(queue.maxReceiveCount).toBeGreaterThanOrEqual(queue.maxAttempts + queue.giveUpReceives);
  });

  it('keeps messages a week, and dead letters 14 days (counted from the first enqueue), so that a redrive has time', () => {
    expect(queue.retentionSeconds).toBe(7 * 24 * 3600);
    expect(queue.deadLetterRetentionSeconds).toBe(14 * 24 * 3600);
    const queueId = logicalIdOf(synthesized.template, 'AWS::SQS::Queue', 'EmailWorkerQueue');
    const dlqId = logicalIdOf(synthesized.template, 'AWS::SQS::Queue', 'EmailWorkerDeadLetterQueue');
    const resources = synthesized.template.toJSON().Resources;
    expect(resources[queueId].Properties.MessageRetentionPeriod).toBe(queue.retentionSeconds);
    expect(resources[dlqId].Properties.MessageRetentionPeriod).toBeGreaterThan(queue.retentionSeconds);
    // The task record outlives any message of its task, in either queue.
    expect(Number(context.taskTtlDays) * 86_400).toBeGreaterThan(queue.deadLetterRetentionSeconds);
  });

  it("has a visibility timeout of at least six times the worker's timeout", () => {
    const queueId = logicalIdOf(synthesized.template, 'AWS::SQS::Queue', 'EmailWorkerQueue');
    const visibility = synthesized.template.toJSON().Resources[queueId].Properties
      .VisibilityTimeout as number;
    const timeout = fn('send-feedback-email').properties?.Timeout as number;
    expect(visibility).toBeGreaterThanOrEqual(6 * timeout);
  });

  it('denies every queue access that is not over TLS', () => {
    const policies = synthesized.template.findResources('AWS::SQS::QueuePolicy', {
      Properties: {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      },
    });
    // The feedback queue, its dead-letter queue, the SES events' queue and its dead-letter queue, the
    // daily report's failed reports, the alarm mails' dead-letter queue and the breaker's failed pauses.
    expect(Object.keys(policies)).toHaveLength(7);
  });
});

describe('logs', () => {
  it("gives the bucket-emptying provider's function a log group that expires, kept until its last run", () => {
    const [handlerId] = Object.entries(synthesized.template.findResources('AWS::Lambda::Function')).find(
      ([id]) => id.startsWith('CustomS3AutoDeleteObjectsCustomResourceProviderHandler'),
    ) ?? [''];
    const logs = synthesized.template.findResources('AWS::Logs::LogGroup', {
      Properties: { LogGroupName: { 'Fn::Join': ['', ['/aws/lambda/', { Ref: handlerId }]] } },
    });
    const [logsId] = Object.keys(logs);
    expect(logs[logsId ?? '']?.Properties.RetentionInDays).toBe(LOG_RETENTION_DAYS);
    for (const resource of Object.values(synthesized.template.findResources('Custom::S3AutoDeleteObjects'))) {
      expect(resource.DependsOn).toContain(logsId);
    }
    for (const group of Object.values(synthesized.template.findResources('AWS::Logs::LogGroup'))) {
      expect(group.Properties.RetentionInDays).toBeGreaterThan(0);
    }
  });
});

describe('task table', () => {
  it('is keyed by taskId, on demand, with TTL on expiresAt, PITR and encryption', () => {
    synthesized.template.resourceCountIs('AWS::DynamoDB::Table', 1);
    synthesized.template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'taskId', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'taskId', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      // SSE on with no key of our own: DynamoDB's AWS-managed key (aws/dynamodb).
      SSESpecification: Match.objectEquals({ SSEEnabled: true }),
    });
  });
});

describe('HTTP API', () => {
  it('has the two routes of the contract', () => {
    synthesized.template.resourceCountIs('AWS::ApiGatewayV2::Route', 2);
    synthesized.template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
      RouteKey: 'POST /api/feedback',
    });
    synthesized.template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
      RouteKey: 'GET /api/tasks/{taskId}',
    });
  });

  it('throttles submissions and status polls apart, and access-logs its stage under /aws/vendedlogs/', () => {
    // The route settings name the GET route, which must exist before the stage.
    const getRoute = logicalIdOf(
      synthesized.template,
      'AWS::ApiGatewayV2::Route',
      'FeedbackApiHttpApiGETapitasks',
    );
    synthesized.template.hasResource('AWS::ApiGatewayV2::Stage', { DependsOn: Match.arrayWith([getRoute]) });
    synthesized.template.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: {
        'Fn::Join': ['', ['/aws/vendedlogs/apigateway/', { Ref: 'AWS::StackName' }, '/access-logs']],
      },
    });
    synthesized.template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      // The stage's default is the submissions' budget; the polls have their own.
      DefaultRouteSettings: { ThrottlingRateLimit: 25, ThrottlingBurstLimit: 50 },
      RouteSettings: {
        'GET /api/tasks/{taskId}': {
          ThrottlingRateLimit: statusThrottling.rateLimit,
          ThrottlingBurstLimit: statusThrottling.burstLimit,
        },
      },
      AccessLogSettings: {
        DestinationArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^FeedbackApiAccessLogs'), 'Arn'] },
        Format: Match.stringLikeRegexp('\\$context.requestId'),
      },
    });
  });

  it('answers only requests through CloudFront: each route checks the secret CloudFront sends', () => {
    const stackSecret = { 'Fn::Select': [2, { 'Fn::Split': ['/', { Ref: 'AWS::StackId' }] }] };
    synthesized.template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'REQUEST',
      EnableSimpleResponses: true,
      IdentitySource: ['$request.header.x-origin-verify'],
      AuthorizerResultTtlInSeconds: 3600,
    });
    const authorizer = logicalIdOf(synthesized.template, 'AWS::ApiGatewayV2::Authorizer', 'FeedbackApi');
    for (const route of Object.values(synthesized.template.findResources('AWS::ApiGatewayV2::Route'))) {
      expect(route.Properties).toMatchObject({
        AuthorizationType: 'CUSTOM',
        AuthorizerId: { Ref: authorizer },
      });
    }
    expect(fn('origin-check').properties?.Environment).toMatchObject({
      Variables: { ORIGIN_SECRET: stackSecret },
    });
    synthesized.template.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: {
        Origins: Match.arrayWith([
          Match.objectLike({
            OriginCustomHeaders: [{ HeaderName: 'x-origin-verify', HeaderValue: stackSecret }],
          }),
        ]),
      },
    });
  });

  it('allows exactly the configured origins', () => {
    synthesized.template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      CorsConfiguration: {
        AllowOrigins: ['https://blog.example.com', 'http://localhost:8080'],
        AllowMethods: ['GET', 'POST'],
        // A page on another origin reads the 202's Location (the statusUrl, relative to the API's origin).
        ExposeHeaders: ['location'],
      },
    });
  });
});

describe('site', () => {
  it('serves the page from a private bucket through origin access control, HTTPS only', () => {
    synthesized.template.hasResourceProperties('AWS::CloudFront::OriginAccessControl', {
      OriginAccessControlConfig: { OriginAccessControlOriginType: 's3', SigningBehavior: 'always' },
    });
    synthesized.template.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: {
        DefaultRootObject: 'index.html',
        DefaultCacheBehavior: { ViewerProtocolPolicy: 'redirect-to-https' },
        Origins: Match.arrayWith([
          Match.objectLike({ OriginAccessControlId: { 'Fn::GetAtt': [Match.anyValue(), 'Id'] } }),
        ]),
      },
    });
    const buckets = synthesized.template.findResources('AWS::S3::Bucket');
    expect(Object.keys(buckets)).toHaveLength(2);
    for (const bucket of Object.values(buckets)) {
      expect(bucket.Properties).toMatchObject({
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
        },
      });
    }
    synthesized.template.resourceCountIs('Custom::CDKBucketDeployment', 1);
  });

  it('deploys the built page (bundled script, no sources) and invalidates the whole distribution', () => {
    const site = readdirSync(join(synthesized.app.outdir, 'site')).sort();
    expect(site).toEqual(expect.arrayContaining(['app.js', 'favicon.svg', 'index.html', 'styles.css']));
    expect(site.filter((name) => name.endsWith('.ts') || name.endsWith('.map'))).toEqual([]);
    synthesized.template.hasResourceProperties('Custom::CDKBucketDeployment', {
      DestinationBucketName: { Ref: logicalIdOf(synthesized.template, 'AWS::S3::Bucket', 'WebsiteBucket') },
      DistributionId: { Ref: logicalIdOf(synthesized.template, 'AWS::CloudFront::Distribution', 'Website') },
      DistributionPaths: ['/*'],
    });
  });

  it("hands the API the visitor's host in x-viewer-host, whatever the request carried", () => {
    const [fn] = Object.values(synthesized.template.findResources('AWS::CloudFront::Function'));
    const code = String(fn?.Properties?.FunctionCode);
    expect(fn?.Properties?.FunctionConfig).toMatchObject({ Runtime: 'cloudfront-js-2.0' });
    // Run as CloudFront would, on a request that tries to set the header itself.
    const handler = new Function(`${code}; return handler;`)() as (event: unknown) => {
      headers: Record<string, { value: string }>;
    };
    const request = handler({
      request: {
        headers: { host: { value: 'd111.cloudfront.net' }, 'x-viewer-host': { value: 'evil.example' } },
      },
    });
    expect(request.headers['x-viewer-host']).toEqual({ value: 'd111.cloudfront.net' });
  });

  it('routes /api/* to the HTTP API uncached, forwarding every viewer header but Host', () => {
    synthesized.template.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: {
        CacheBehaviors: [
          Match.objectLike({
            PathPattern: '/api/*',
            CachePolicyId: CachePolicy.CACHING_DISABLED.cachePolicyId,
            OriginRequestPolicyId: OriginRequestPolicy.ALL_VIEWER_EXCEPT_HOST_HEADER.originRequestPolicyId,
            AllowedMethods: ['GET', 'HEAD', 'OPTIONS', 'PUT', 'PATCH', 'POST', 'DELETE'],
            ViewerProtocolPolicy: 'https-only',
            FunctionAssociations: [
              {
                EventType: 'viewer-request',
                FunctionARN: { 'Fn::GetAtt': [Match.stringLikeRegexp('^WebsiteViewerHost'), 'FunctionARN'] },
              },
            ],
          }),
        ],
        Origins: Match.arrayWith([
          Match.objectLike({
            DomainName: {
              'Fn::Join': [
                '',
                Match.arrayWith([{ Ref: Match.stringLikeRegexp('^FeedbackApiHttpApi') }, '.execute-api.']),
              ],
            },
            CustomOriginConfig: Match.objectLike({
              OriginProtocolPolicy: 'https-only',
              OriginSSLProtocols: ['TLSv1.2'],
            }),
          }),
        ]),
      },
    });
  });

  it('logs to the log bucket, except in the regions CloudFront cannot deliver logs to', () => {
    const conditions = synthesized.template.findConditions('*');
    const [conditionId, condition] = Object.entries(conditions).find(([id]) =>
      id.includes('CloudFrontLogsUnsupported'),
    ) ?? ['', undefined];
    expect(condition).toEqual({
      'Fn::Or': ['af-south-1', 'ap-east-1', 'ap-southeast-3', 'eu-south-1', 'me-south-1'].map((region) => ({
        'Fn::Equals': [{ Ref: 'AWS::Region' }, region],
      })),
    });
    synthesized.template.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: {
        Logging: {
          'Fn::If': [
            conditionId,
            { Ref: 'AWS::NoValue' },
            {
              Bucket: { 'Fn::GetAtt': [Match.stringLikeRegexp('^WebsiteAccessLogs'), 'RegionalDomainName'] },
              IncludeCookies: false,
              Prefix: 'cloudfront/',
            },
          ],
        },
      },
    });
  });

  it('names its account-wide CloudFront policies by stack and region, so a second region does not collide', () => {
    const byStackAndRegion = (suffix: string) => ({
      'Fn::Join': ['', [{ Ref: 'AWS::StackName' }, '-', { Ref: 'AWS::Region' }, suffix]],
    });
    synthesized.template.hasResourceProperties('AWS::CloudFront::ResponseHeadersPolicy', {
      ResponseHeadersPolicyConfig: Match.objectLike({ Name: byStackAndRegion('-security-headers') }),
    });
    synthesized.template.resourceCountIs('AWS::CloudFront::OriginAccessControl', 1);
    synthesized.template.hasResourceProperties('AWS::CloudFront::OriginAccessControl', {
      OriginAccessControlConfig: Match.objectLike({ Name: byStackAndRegion('-site') }),
    });
  });

  it('sends the security headers on the page and the API', () => {
    synthesized.template.hasResourceProperties('AWS::CloudFront::ResponseHeadersPolicy', {
      ResponseHeadersPolicyConfig: {
        SecurityHeadersConfig: {
          ContentSecurityPolicy: { ContentSecurityPolicy: CONTENT_SECURITY_POLICY, Override: true },
          StrictTransportSecurity: Match.objectLike({
            AccessControlMaxAgeSec: 31_536_000,
            IncludeSubdomains: true,
          }),
          ContentTypeOptions: { Override: true },
          FrameOptions: { FrameOption: 'DENY', Override: true },
          ReferrerPolicy: { ReferrerPolicy: 'same-origin', Override: true },
        },
      },
    });
    expect(CONTENT_SECURITY_POLICY).toMatch(/^default-src 'self'; /);
    expect(CONTENT_SECURITY_POLICY).toContain("frame-ancestors 'none'");
    const policy = logicalIdOf(synthesized.template, 'AWS::CloudFront::ResponseHeadersPolicy', 'Website');
    const distribution = Object.values(
      synthesized.template.findResources('AWS::CloudFront::Distribution'),
    )[0];
    const config = distribution?.Properties.DistributionConfig;
    for (const behavior of [config.DefaultCacheBehavior, ...config.CacheBehaviors]) {
      expect(behavior.ResponseHeadersPolicyId).toEqual({ Ref: policy });
    }
  });
});

describe('daily report (notifyEmail set)', () => {
  it('is scheduled with the configured expression, invoking the report function', () => {
    synthesized.template.resourceCountIs('AWS::Scheduler::Schedule', 1);
    synthesized.template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: context.reportSchedule,
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: { Arn: { 'Fn::GetAtt': [fn('daily-report').logicalId, 'Arn'] }, RoleArn: Match.anyValue() },
    });
    synthesized.template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [Match.objectLike({ Principal: { Service: 'scheduler.amazonaws.com' } })],
      },
    });
  });

  it('retries a failed invocation twice within the hour, through a role only this account can use', () => {
    synthesized.template.hasResourceProperties('AWS::Scheduler::Schedule', {
      Target: Match.objectLike({ RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 3600 } }),
    });
    synthesized.template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [
          Match.objectLike({
            Principal: { Service: 'scheduler.amazonaws.com' },
            Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
          }),
        ],
      },
    });
  });
});

describe('daily report failures (notifyEmail set)', () => {
  it('retries a report that throws twice, then leaves its event in a queue of failed reports', () => {
    const failedReports = logicalIdOf(synthesized.template, 'AWS::SQS::Queue', 'DailyReportFailedReports');
    // The report's and the breaker's pause function's (test/stack/autoresponse-breaker.test.ts).
    synthesized.template.resourceCountIs('AWS::Lambda::EventInvokeConfig', 2);
    synthesized.template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: fn('daily-report').logicalId },
      Qualifier: '$LATEST',
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 3600,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [failedReports, 'Arn'] } } },
    });
    expect(synthesized.template.toJSON().Resources[failedReports].Properties).toMatchObject({
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 14 * 24 * 3600,
    });
  });

  it('sends a report Scheduler could not hand to Lambda to the same queue, through its role', () => {
    const failedReports = logicalIdOf(synthesized.template, 'AWS::SQS::Queue', 'DailyReportFailedReports');
    synthesized.template.hasResourceProperties('AWS::Scheduler::Schedule', {
      Target: Match.objectLike({ DeadLetterConfig: { Arn: { 'Fn::GetAtt': [failedReports, 'Arn'] } } }),
    });
    const role = logicalIdOf(synthesized.template, 'AWS::IAM::Role', 'DailyReportScheduleRole');
    synthesized.template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: role }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: 'sqs:SendMessage', Resource: { 'Fn::GetAtt': [failedReports, 'Arn'] } }),
        ]),
      },
    });
  });

  it('alarms, to the alarm topic, when a failed report is in that queue, and no longer on every failed attempt', () => {
    const failedReports = logicalIdOf(synthesized.template, 'AWS::SQS::Queue', 'DailyReportFailedReports');
    synthesized.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [failedReports, 'QueueName'] } }],
      Threshold: 1,
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^MonitoringAlarmTopic') }],
      AlarmDescription: Match.objectLike({ 'Fn::Join': Match.anyValue() }),
    });
    const alarms = Object.keys(synthesized.template.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms.filter((id) => id.includes('DailyReportFailed'))).toHaveLength(1);
    expect(alarms.filter((id) => id.includes('DailyReportErrors'))).toEqual([]);
    synthesized.template.resourcePropertiesCountIs(
      'AWS::CloudWatch::Alarm',
      {
        MetricName: 'Errors',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: fn('daily-report').logicalId } }],
      },
      0,
    );
  });
});

describe('monitoring', () => {
  function alarmOn(metricName: string, threshold: number) {
    synthesized.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: metricName,
      Threshold: threshold,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^MonitoringAlarmTopic') }],
    });
  }

  it('alarms on dead letters, old messages, worker errors and throttles, API 5xx and a failed report', () => {
    // And EmailReputation's three (test/stack/email-reputation.test.ts), the breaker's three
    // (test/stack/autoresponse-breaker.test.ts).
    synthesized.template.resourceCountIs('AWS::CloudWatch::Alarm', 12);
    alarmOn('ApproximateNumberOfMessagesVisible', 1);
    alarmOn('ApproximateAgeOfOldestMessage', sizing.visibilityTimeoutSeconds * queue.maxAttempts);
    // Well before the queue's retention: a backlog is seen days before its messages could expire.
    expect(sizing.visibilityTimeoutSeconds * queue.maxAttempts).toBeLessThan(queue.retentionSeconds / 10);
    alarmOn('Errors', 1);
    alarmOn('Throttles', 1);
    alarmOn('5xx', 1);
    synthesized.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: fn('send-feedback-email').logicalId } }],
    });
    synthesized.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [
        {
          Name: 'QueueName',
          Value: {
            'Fn::GetAtt': [
              logicalIdOf(synthesized.template, 'AWS::SQS::Queue', 'EmailWorkerDeadLetterQueue'),
              'QueueName',
            ],
          },
        },
      ],
    });
  });

  it('mails each alarm when it fires and when it recovers', () => {
    const topic = { Ref: logicalIdOf(synthesized.template, 'AWS::SNS::Topic', 'MonitoringAlarmTopic') };
    for (const alarm of Object.values(synthesized.template.findResources('AWS::CloudWatch::Alarm'))) {
      // The breaker's rate alarms also pause the autoresponses (their Lambda action).
      expect(alarm.Properties).toMatchObject({
        AlarmActions: expect.arrayContaining([topic]),
        OKActions: [topic],
      });
    }
  });

  it("lets CloudWatch publish to the topic, for this account's alarms only", () => {
    synthesized.template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: 'sns:Publish',
            Resource: { Ref: Match.stringLikeRegexp('^MonitoringAlarmTopic') },
            Condition: {
              StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
              ArnLike: {
                'aws:SourceArn': {
                  'Fn::Join': [
                    '',
                    [
                      'arn:',
                      { Ref: 'AWS::Partition' },
                      ':cloudwatch:',
                      { Ref: 'AWS::Region' },
                      ':',
                      { Ref: 'AWS::AccountId' },
                      ':alarm:*',
                    ],
                  ],
                },
              },
            },
          }),
        ]),
      },
    });
  });

  it('mails alarms through an encrypted, TLS-only topic that CloudWatch can use', () => {
    synthesized.template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: context.alarmEmail,
    });
    synthesized.template.hasResourceProperties('AWS::SNS::Topic', {
      KmsMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^MonitoringAlarmTopicKey'), 'Arn'] },
    });
    synthesized.template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    synthesized.template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
            Condition: {
              StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
              ArnLike: { 'aws:SourceArn': Match.objectLike({ 'Fn::Join': Match.anyValue() }) },
            },
          }),
        ]),
      },
    });
  });

  it('keeps an alarm mail SNS could not deliver in a dead-letter queue', () => {
    const queueId = logicalIdOf(synthesized.template, 'AWS::SQS::Queue', 'MonitoringUndeliveredAlarms');
    synthesized.template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [queueId, 'Arn'] } },
    });
  });

  it('has a dashboard that shows every alarm of the stack', () => {
    synthesized.template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    const [dashboard] = Object.values(synthesized.template.findResources('AWS::CloudWatch::Dashboard'));
    const body = JSON.stringify(dashboard?.Properties.DashboardBody);
    const alarms = Object.keys(synthesized.template.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms.length).toBeGreaterThanOrEqual(9);
    for (const alarm of alarms) expect(body).toContain(`"${alarm}"`);
  });
});

describe('deploy guard', () => {
  it('has no placeholder-sender rule or parameter when senderEmail is given', () => {
    expect(synthesized.template.toJSON().Rules ?? {}).not.toHaveProperty('SenderEmailGiven');
    expect(synthesized.template.toJSON().Parameters ?? {}).not.toHaveProperty('PlaceholderSenderEmail');
  });
});

describe('outputs', () => {
  it('has the keys the task CLI reads', () => {
    const outputs = synthesized.template.toJSON().Outputs as Record<string, unknown>;
    expect(Object.keys(outputs)).toEqual(
      expect.arrayContaining([
        'SiteUrl',
        'ApiUrl',
        'TasksTableName',
        'FeedbackQueueUrl',
        'DeadLetterQueueUrl',
      ]),
    );
    synthesized.template.hasOutput('TasksTableName', {
      Value: { Ref: Match.stringLikeRegexp('^TaskTable') },
    });
    synthesized.template.hasOutput('SiteUrl', {
      Value: { 'Fn::Join': ['', ['https://', { 'Fn::GetAtt': [Match.anyValue(), 'DomainName'] }]] },
    });
  });
});
