import { Aws, Duration, Fn, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  type CfnStage,
  CorsHttpMethod,
  type CorsPreflightOptions,
  HttpApi,
  HttpMethod,
  HttpStage,
  LogGroupLogDestination,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaAuthorizer, HttpLambdaResponseType } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  apiFunction,
  LOG_RETENTION_DAYS,
  ORIGIN_VERIFY_HEADER,
  statusThrottling,
} from '../../functions/config/settings.ts';
import { environmentFor, type SomeValues } from '../../functions/config/table.ts';
import { createFeedbackFunction } from './feedback-function.ts';

export interface FeedbackApiProps {
  readonly table: ITable;
  readonly queue: IQueue;
  /** The deployment's settings: each function gets those the settings table gives it. */
  readonly settings: SomeValues;
  /** Throttling of the submissions: steady requests per second, and the burst above it. */
  readonly rateLimit: number;
  readonly burstLimit: number;
  /**
   * Origins allowed to call the API from another site.
   * @default - CORS off: the page is served from the same origin
   */
  readonly allowedOrigins?: string[];
}

/** One line of JSON per request; no body, no query string (the form's fields never reach the logs). */
const ACCESS_LOG_FORMAT = AccessLogFormat.custom(
  JSON.stringify({
    requestId: '$context.requestId',
    time: '$context.requestTime',
    ip: '$context.identity.sourceIp',
    userAgent: '$context.identity.userAgent',
    method: '$context.httpMethod',
    routeKey: '$context.routeKey',
    status: '$context.status',
    responseLength: '$context.responseLength',
    latencyMs: '$context.responseLatency',
    integrationStatus: '$context.integrationStatus',
    integrationError: '$context.integrationErrorMessage',
  }),
);

/**
 * The HTTP API (payload 2.0): `POST /api/feedback` and `GET /api/tasks/{taskId}`, each on its own function
 * that may make exactly its calls, behind a throttled, access-logged `$default` stage.
 */
export class FeedbackApi extends Construct {
  readonly httpApi: HttpApi;
  readonly stage: HttpStage;
  readonly submitFeedback: NodejsFunction;
  readonly getTask: NodejsFunction;
  readonly accessLogs: LogGroup;
  /**
   * What CloudFront must send in `x-origin-verify`: the random part of this stack's id, stable across
   * deploys and known only inside the account.
   */
  readonly originSecret: string;

  constructor(scope: Construct, id: string, props: FeedbackApiProps) {
    super(scope, id);
    const allowedOrigins = props.allowedOrigins ?? [];
    this.originSecret = Fn.select(2, Fn.split('/', Aws.STACK_ID));

    this.submitFeedback = createFeedbackFunction(this, 'SubmitFeedback', {
      handlerName: 'submit-feedback',
      description: 'POST /api/feedback: validates, records the task PENDING and queues it',
      ...apiFunction,
      // The handler refuses cross-site posts from any origin not allowed.
      environment: environmentFor('submit-feedback', {
        ...props.settings,
        tasksTableName: props.table.tableName,
        feedbackQueueUrl: props.queue.queueUrl,
      }),
    });
    // The record is created, and deleted again only when queueing failed.
    // Put the record, mark it queued once its message is (UpdateItem), or take it back.
    props.table.grant(this.submitFeedback, 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem');
    props.queue.grant(this.submitFeedback, 'sqs:SendMessage');

    this.getTask = createFeedbackFunction(this, 'GetTask', {
      handlerName: 'get-task',
      description: "GET /api/tasks/{taskId}: a task's status",
      ...apiFunction,
      environment: environmentFor('get-task', { tasksTableName: props.table.tableName }),
    });
    props.table.grant(this.getTask, 'dynamodb:GetItem');

    // The execute-api endpoint is CloudFront's origin, so it cannot be disabled without a custom domain;
    // instead every route refuses a request that did not come through CloudFront.
    const originCheck = createFeedbackFunction(this, 'OriginCheck', {
      handlerName: 'origin-check',
      description: 'Lets only requests that came through CloudFront reach the API',
      ...apiFunction,
      environment: environmentFor('origin-check', { originSecret: this.originSecret }),
    });
    this.httpApi = new HttpApi(this, 'HttpApi', {
      description: 'Serverless feedback form: submit feedback, read a task',
      defaultAuthorizer: new HttpLambdaAuthorizer('FromCloudFront', originCheck, {
        responseTypes: [HttpLambdaResponseType.SIMPLE],
        identitySource: [`$request.header.${ORIGIN_VERIFY_HEADER}`],
        resultsCacheTtl: Duration.hours(1),
      }),
      // The stage below carries the throttling and access logs the default stage cannot.
      createDefaultStage: false,
      corsPreflight: corsPreflight(allowedOrigins),
    });
    const routes = [
      ...this.httpApi.addRoutes({
        path: '/api/feedback',
        methods: [HttpMethod.POST],
        integration: new HttpLambdaIntegration('SubmitFeedbackIntegration', this.submitFeedback),
      }),
      ...this.httpApi.addRoutes({
        path: '/api/tasks/{taskId}',
        methods: [HttpMethod.GET],
        integration: new HttpLambdaIntegration('GetTaskIntegration', this.getTask),
      }),
    ];
    for (const route of routes) {
      Validations.of(route).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason:
          'A public feedback form: visitors are anonymous by design. Abuse is bounded by stage throttling, the body and field limits and the honeypot; a task can only be read by whoever holds its random v4 UUID, and its status holds no personal data.',
      });
    }

    this.accessLogs = new LogGroup(this, 'AccessLogs', {
      // Under /aws/vendedlogs/ API Gateway needs no entry in the account's logs resource policy, whose
      // 5,120 characters a busy account has used up (the deploy then fails).
      logGroupName: `/aws/vendedlogs/apigateway/${Aws.STACK_NAME}/access-logs`,
      retention: LOG_RETENTION_DAYS,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: props.rateLimit, burstLimit: props.burstLimit },
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogs),
        format: ACCESS_LOG_FORMAT,
      },
    });
    // Polls of waiting pages get their own budget, apart from the submissions' (the stage's default).
    const cfnStage = this.stage.node.defaultChild as CfnStage;
    cfnStage.routeSettings = {
      'GET /api/tasks/{taskId}': {
        ThrottlingRateLimit: statusThrottling.rateLimit,
        ThrottlingBurstLimit: statusThrottling.burstLimit,
      },
    };
    // RouteSettings is untyped JSON (CloudFormation's casing); it names a route key that must exist first.
    for (const route of routes) this.stage.node.addDependency(route);
  }

  /** The API's host name, for CloudFront's origin. */
  get domainName(): string {
    const stack = Stack.of(this);
    return `${this.httpApi.apiId}.execute-api.${stack.region}.${stack.urlSuffix}`;
  }
}

function corsPreflight(allowedOrigins: string[]): CorsPreflightOptions | undefined {
  if (allowedOrigins.length === 0) return undefined;
  return {
    allowOrigins: allowedOrigins,
    allowMethods: [CorsHttpMethod.GET, CorsHttpMethod.POST],
    allowHeaders: ['content-type', 'accept'],
    // The 202's Location is the task's statusUrl, which a page on another origin resolves against the API's.
    exposeHeaders: ['location'],
    maxAge: Duration.hours(1),
  };
}
