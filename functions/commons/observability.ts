/**
 * The handlers' logging and metrics, and the one wrapper every handler goes through, so that each
 * invocation starts with a clean logger (no key of the last one), carries the Lambda context, and
 * flushes its metrics however it ends.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { METRICS_NAMESPACE } from '../config/settings.ts';

/** A handler's logger and metrics emitter, created once per container. */
export interface Observability {
  logger: Logger;
  metrics: Metrics;
}

/**
 * One JSON logger and one EMF metrics emitter for a handler, correlated by task id through
 * `logger.appendKeys({ taskId })`. Never log an event, a body or a queue message whole: they hold the
 * visitor's address and message.
 */
export function createObservability(serviceName: string): Observability {
  return {
    logger: new Logger({ serviceName }),
    metrics: new Metrics({ namespace: METRICS_NAMESPACE, serviceName }),
  };
}

/**
 * Wraps a handler: resets the logger's keys, adds the Lambda context to every line, and publishes the
 * metrics stored during the invocation, also when it throws.
 */
export function observed<E, R>(
  { logger, metrics }: Observability,
  handler: (event: E, context?: Context) => Promise<R>,
): (event: E, context?: Context) => Promise<R> {
  return async (event, context) => {
    logger.resetKeys();
    if (context !== undefined) logger.addContext(context);
    try {
      return await handler(event, context);
    } finally {
      if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
    }
  };
}
