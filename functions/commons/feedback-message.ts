/**
 * The SQS message the submit handler sends and the email worker consumes: the only place, with the
 * email itself, that holds the visitor's address and message.
 */
export interface FeedbackMessage {
  taskId: string;
  email: string;
  message: string;
  /** ISO-8601 UTC; lets the worker recreate a missing record with the original time. */
  createdAt: string;
}
