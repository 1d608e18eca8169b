import { handlerEnvironment } from '../../lib/local/handler-env.ts';

/**
 * The handlers' settings in every process of the benchmark (capture, warm CPU, cold starts). The table
 * and queues are placeholders: the stubs never look at them, and the cold starts put the local
 * stack's in their place.
 */
export const RESOURCE_PLACEHOLDERS = {
  table: '__TABLE__',
  queueUrl: '__QUEUE_URL__',
  deadLetterQueueUrl: '__DLQ_URL__',
} as const;

// The metrics stay on, as deployed: their cost is part of what a cold start measures.
const { POWERTOOLS_METRICS_DISABLED: _metricsOff, ...environment } = handlerEnvironment(
  {
    tasksTableName: RESOURCE_PLACEHOLDERS.table,
    feedbackQueueUrl: RESOURCE_PLACEHOLDERS.queueUrl,
    deadLetterQueueUrl: RESOURCE_PLACEHOLDERS.deadLetterQueueUrl,
    senderEmail: 'support@example.com',
    notifyEmail: 'owner@example.com',
    workSeconds: 0,
    // The emulator and the stubs have no quota; the sandbox's 1/s would measure the limiter.
    sesMaxSendRate: 100_000,
  },
  { logLevel: 'INFO' },
);

export const benchHandlerEnv: Record<string, string> = {
  ...environment,
  POWERTOOLS_METRICS_NAMESPACE: 'ServerlessFeedback',
};
