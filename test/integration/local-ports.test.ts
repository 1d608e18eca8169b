/** A port the local stack wants is taken: the error names the variable that moves it, for every emulator. */
import { createServer } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { closeServer, listen, PortInUseError, startDynamoDb } from '../../lib/local/emulators.ts';

describe('a port in use', () => {
  const taken = createServer();
  afterAll(() => closeServer(taken, 0));

  it('is refused with the variable to set, in this thread and in dynalite’s', async () => {
    // Prepare
    const port = await listen(taken, 'taken', { host: '127.0.0.1', port: 0 });

    // Act
    const server = listen(createServer(), 'page and API', { host: '127.0.0.1', port, variable: 'PORT' });
    const dynamodb = startDynamoDb({ host: '127.0.0.1', port, variable: 'DYNAMODB_PORT' }, undefined);

    // Assess
    await expect(server).rejects.toThrow(PortInUseError);
    await expect(server).rejects.toThrow(`Port ${port} (page and API) is already in use.`);
    await expect(dynamodb).rejects.toThrow(PortInUseError);
    await expect(dynamodb).rejects.toThrow('DYNAMODB_PORT=<port> npm start');
  });
});
