/**
 * The SQS message the submit handler sends and the email worker consumes: the only place, with the
 * email itself, that holds what the visitor typed. The worker checks each message against the form's
 * own fields and rules (`fields.ts`), so a message the submit could not have queued is refused. A
 * field is required in the message only when every version of the submit queued it (`alwaysQueued`
 * in `fields.ts`): the queue still holds the previous version's messages after a deploy.
 */
import * as z from 'zod/mini';
import { TASK_ID_PATTERN } from '../task/record.ts';
import { FIELD_NAMES, type FieldDefinition, type FieldName, feedbackFields, fieldErrors } from './fields.ts';

type AlwaysQueuedName = {
  [name in FieldName]: (typeof feedbackFields)[name] extends { alwaysQueued: true } ? name : never;
}[FieldName];

/**
 * The feedback as a queued message carries it: the always-queued fields, and the others when the
 * visitor gave them and the submit that queued it knew them. What the worker and the emails get.
 */
export type QueuedFeedback = { [name in AlwaysQueuedName]: string } & {
  [name in Exclude<FieldName, AlwaysQueuedName>]?: string;
};

/** A value as the submit queues it: valid for its field, and already in its cleaned, normalized form. */
function queuedValue(field: FieldDefinition) {
  const value = z
    .string()
    .check(
      z.refine(
        (text) =>
          text.trim() === text &&
          text !== '' &&
          fieldErrors(field, text).length === 0 &&
          (field.normalize?.(text) ?? text) === text,
      ),
    );
  return field.alwaysQueued ? value : z.optional(value);
}

const taskId = z.string().check(z.regex(TASK_ID_PATTERN));

/** A feedback message as the worker accepts it: the task, and the fields as the submit validated them. */
const feedbackMessageSchema = z.object({
  taskId,
  /** ISO-8601 UTC: when the feedback was accepted. */
  createdAt: z.string(),
  ...Object.fromEntries(FIELD_NAMES.map((name) => [name, queuedValue(feedbackFields[name])])),
});

/** The queue message of one accepted feedback. */
export type FeedbackMessage = QueuedFeedback & { taskId: string; createdAt: string };

/** What {@link parseFeedbackMessage} found: the message, or why not and the task id when there is one. */
export type ParsedFeedbackMessage =
  | { success: true; message: FeedbackMessage }
  | { success: false; taskId: string | undefined };

/** Parses a queue message's body; a body that is not a valid feedback message is refused whole. */
export function parseFeedbackMessage(body: string): ParsedFeedbackMessage {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return { success: false, taskId: undefined };
  }
  const parsed = z.safeParse(feedbackMessageSchema, value);
  if (parsed.success) return { success: true, message: parsed.data as FeedbackMessage };
  const id = z.safeParse(z.object({ taskId }), value);
  return { success: false, taskId: id.success ? id.data.taskId : undefined };
}
