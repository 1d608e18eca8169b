import { join } from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { type BundlingOptions, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { LOG_RETENTION_DAYS, METRICS_NAMESPACE } from '../../functions/config/settings.ts';

/** The folder of the handler entry files (`<name>.ts`, each exporting `handler`). */
export const FUNCTIONS_DIR = join(import.meta.dirname, '..', '..', 'functions');

/**
 * How every handler is bundled (esbuild, locally, no Docker). Exported so that the benchmark measures the
 * same bytes the stack deploys.
 */
export const functionBundling = {
  minify: true,
  sourceMap: true,
  // Stack traces map to file and line; the sources themselves would only add bytes to load.
  sourcesContent: false,
  target: 'node24',
  format: OutputFormat.ESM,
  // Prefer the packages' ESM builds, which esbuild can tree-shake.
  mainFields: ['module', 'main'],
  // CommonJS dependencies bundled into ESM still call `require` for Node built-ins.
  banner: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
  // One minified file with only the SDK commands a handler uses loads faster than the runtime's whole SDK,
  // and pins the SDK version the tests ran against.
  bundleAwsSDK: true,
} satisfies BundlingOptions;

/** Settings shared by the four functions. */
const sharedFunctionProps = {
  runtime: Runtime.NODEJS_24_X,
  architecture: Architecture.ARM_64,
  bundling: functionBundling,
} as const;

/** What differs between the functions. */
export interface FeedbackFunctionProps {
  /** The entry file's name in `functions/` without `.ts`; also the Powertools service name. */
  readonly handlerName: string;
  readonly description: string;
  /** In the settings' units, so that a sizing object of functions/config/settings.ts can be spread in. */
  readonly memoryMb: number;
  readonly timeoutSeconds: number;
  /** The handler's own variables (names from `env` of functions/config/settings.ts). */
  readonly environment: Record<string, string>;
}

/**
 * A handler as a `NodejsFunction` with the shared settings, its own log group with the project's retention,
 * and its own role that may write to that log group and nothing else until the caller grants more. No
 * managed policy (AWSLambdaBasicExecutionRole would allow writing to any log group).
 */
export function createFeedbackFunction(
  scope: Construct,
  id: string,
  props: FeedbackFunctionProps,
): NodejsFunction {
  const logGroup = new LogGroup(scope, `${id}Logs`, {
    retention: LOG_RETENTION_DAYS,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const role = new Role(scope, `${id}Role`, {
    assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
    description: `Runs the ${props.handlerName} function`,
  });
  logGroup.grantWrite(role);
  const fn = new NodejsFunction(scope, id, {
    ...sharedFunctionProps,
    entry: join(FUNCTIONS_DIR, `${props.handlerName}.ts`),
    handler: 'handler',
    description: props.description,
    memorySize: props.memoryMb,
    timeout: Duration.seconds(props.timeoutSeconds),
    logGroup,
    role,
    environment: {
      POWERTOOLS_SERVICE_NAME: props.handlerName,
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      POWERTOOLS_LOG_LEVEL: 'INFO',
      NODE_OPTIONS: '--enable-source-maps',
      ...props.environment,
    },
  });
  return fn;
}
