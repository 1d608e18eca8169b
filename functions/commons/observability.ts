import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { METRICS_NAMESPACE } from './settings';

/**
 * One JSON logger per handler, correlated by task id through `logger.appendKeys({ taskId })`.
 * Never log an event, a body or a queue message whole: they hold the visitor's address and message.
 */
export function createLogger(serviceName: string): Logger {
  return new Logger({ serviceName });
}

/** One EMF metrics emitter per handler, flushed at the end of each invocation. */
export function createMetrics(serviceName: string): Metrics {
  return new Metrics({ namespace: METRICS_NAMESPACE, serviceName });
}
