/**
 * The one event each handler answers in the benchmark (capture, warm CPU, cold starts), built with the
 * tests' own factories of API Gateway and SQS events.
 */
import type { APIGatewayProxyEventV2, SQSEvent } from 'aws-lambda';
import { feedbackPostEvent, getTaskEvent } from '../helpers/api-event.ts';
import { validFeedback } from '../helpers/feedback.ts';
import { feedbackMessage, feedbackRecord, sqsEvent } from '../helpers/sqs-event.ts';

/** The feedback every benchmark request submits. */
export const benchFeedback = validFeedback({ message: 'Benchmark feedback.' });

export const benchEvents = {
  submit: (): APIGatewayProxyEventV2 => feedbackPostEvent(benchFeedback),
  getTask: (taskId: string): APIGatewayProxyEventV2 => getTaskEvent(taskId),
  /** One message of a task whose record is PENDING (the worker's whole happy path). */
  worker: (taskId: string, createdAt: string): SQSEvent =>
    sqsEvent(feedbackRecord(feedbackMessage({ ...benchFeedback, taskId, createdAt }))),
  report: (): Record<string, never> => ({}),
};
