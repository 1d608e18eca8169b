/**
 * The entry point of an SQS-triggered handler (the worker, the SES events' recorder): Powertools'
 * batch processor with partial batch responses (`ReportBatchItemFailures`), behind `observed`.
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { type Observability, observed } from './observability.ts';

/**
 * A handler that runs `processRecord` on each record of the batch and answers the ids of those that
 * threw: they come back after their visibility timeout, or move to the dead-letter queue.
 */
export function sqsBatchHandler(
  observability: Observability,
  processRecord: (record: SQSRecord) => Promise<void>,
): (event: SQSEvent, context?: Context) => Promise<SQSBatchResponse> {
  return observed(observability, (event: SQSEvent, context?: Context) =>
    // One processor per invocation: the local stack runs invocations concurrently in one process.
    processPartialResponse(event, processRecord, new BatchProcessor(EventType.SQS), {
      ...(context === undefined ? {} : { context }),
      // A batch whose every record failed is answered the same way, not by an invocation error.
      throwOnFullBatchFailure: false,
    }),
  );
}
