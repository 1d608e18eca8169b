/**
 * The SQS message the submit handler sends and the email worker consumes: the only place, with the
 * email itself, that holds the visitor's address and message. Its type is derived from the schema the
 * worker checks each message against, whose rules are the submit's own (`feedback-schema.ts`).
 */
import * as z from 'zod/mini';
import { characterCount, isValidEmail } from './feedback-schema.ts';
import { limits } from './settings.ts';
import { TASK_ID_PATTERN } from './task-record.ts';

/**
 * Whether a string is well-formed UTF-16 (no lone surrogate): the SDK's query serializer cannot encode
 * one (`String.prototype.isWellFormed`, which TypeScript's ES2023 library does not declare yet).
 */
function isWellFormed(value: string): boolean {
  return !/\p{Cs}/u.test(value);
}

const text = (maxLength: number) =>
  z.string().check(
    z.refine((value) => characterCount(value) <= maxLength),
    z.refine(isWellFormed),
  );

/** A feedback message as the worker accepts it: the address and message as the submit validated them. */
export const feedbackMessageSchema = z.object({
  taskId: z.string().check(z.regex(TASK_ID_PATTERN)),
  email: text(limits.emailMaxLength).check(z.refine(isValidEmail)),
  message: text(limits.messageMaxLength).check(
    z.refine((value) => value.trim() !== '' && !value.includes('\0')),
  ),
  /** ISO-8601 UTC: when the feedback was accepted. */
  createdAt: z.string(),
});

/** The queue message of one accepted feedback. */
export type FeedbackMessage = z.infer<typeof feedbackMessageSchema>;

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
  if (parsed.success) return { success: true, message: parsed.data };
  const taskId = z.safeParse(z.object({ taskId: feedbackMessageSchema.shape.taskId }), value);
  return { success: false, taskId: taskId.success ? taskId.data.taskId : undefined };
}
