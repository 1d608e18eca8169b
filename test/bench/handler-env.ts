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

export const benchHandlerEnv = {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
  TASKS_TABLE_NAME: RESOURCE_PLACEHOLDERS.table,
  FEEDBACK_QUEUE_URL: RESOURCE_PLACEHOLDERS.queueUrl,
  DEAD_LETTER_QUEUE_URL: RESOURCE_PLACEHOLDERS.deadLetterQueueUrl,
  SENDER_EMAIL: 'support@example.com',
  NOTIFY_EMAIL: 'owner@example.com',
  FEEDBACK_WORK_SECONDS: '0',
  // The emulator and the stubs have no quota; the sandbox's 1/s would measure the limiter.
  SES_MAX_SEND_RATE: '100000',
  POWERTOOLS_LOG_LEVEL: 'INFO',
  POWERTOOLS_METRICS_NAMESPACE: 'ServerlessFeedback',
};
