/** The running stack's state under its data folder, for the command-line tools. */
export const LOCAL_STACK_STATE_FILE = 'local-stack.json';

/**
 * What `npm start` tells the command-line tools (`npm run task`, `report`, …) about itself: the ports it
 * listens on and the addresses it mails, so that they need no environment of their own.
 */
export interface LocalStackState {
  pid: number;
  ports: { web: number; dynamodb: number; sqs: number; ses: number };
  senderEmail: string;
  notifyEmail?: string;
}
