/**
 * The local stack in its own process for the benchmark, so that the load generator does not share an
 * event loop with the system it measures. Controlled over IPC; it also runs the submit's floor, so that
 * the floor's SDK clients work in the same process as the handler's.
 */
import { startLocalStack } from '../../lib/local/stack.ts';
import { floorLatencies, startHttpFloor } from './floor.ts';

/** The drain part of the bench starts stacks with a work time and a send rate (JSON in BENCH_STACK). */
const drain = process.env.BENCH_STACK
  ? (JSON.parse(process.env.BENCH_STACK) as { workSeconds: number; sesMaxSendRate: number })
  : undefined;

const stack = await startLocalStack({
  workSeconds: drain?.workSeconds ?? 0,
  // The SES emulator has no quota; the sandbox's 1/s would measure the limiter, not the system.
  sesMaxSendRate: drain?.sesMaxSendRate ?? 100_000,
  pollWaitSeconds: 1,
  quiet: true,
  site: false,
});
const target = {
  dynamodbEndpoint: stack.dynamodbEndpoint,
  sqsEndpoint: stack.sqsEndpoint,
  tableName: stack.tableName,
  queueUrl: stack.queueUrl,
};

const httpFloor = await startHttpFloor(target);

process.send?.({
  type: 'ready',
  url: stack.url,
  sesUrl: stack.sesUrl,
  ...target,
  deadLetterQueueUrl: stack.deadLetterQueueUrl,
  httpFloorUrl: httpFloor.url,
  concurrency: stack.settings.concurrency,
  batchSize: stack.settings.batchSize,
});

type Command =
  | { type: 'pause' | 'resume' | 'stop' }
  | { type: 'floor'; connections: number; amount: number; overlapped: boolean };

process.on('message', async (command: Command) => {
  switch (command.type) {
    case 'pause':
      await stack.pausePoller();
      break;
    case 'resume':
      stack.resumePoller();
      break;
    case 'floor': {
      const times = await floorLatencies(target, command.connections, command.amount, command.overlapped);
      process.send?.({ type: 'floor', times });
      return;
    }
    case 'stop':
      await httpFloor.close();
      await stack.stop();
      process.send?.({ type: 'stopped' }, () => process.exit(0));
      return;
  }
  process.send?.({ type: command.type });
});
