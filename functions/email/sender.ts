/**
 * The worker's SES sender, guarded against a fault of the SDK's query serializer: when building a
 * request throws (`URIError: URI malformed` on a lone surrogate), the client's serializer keeps the
 * half-built body in its buffer, and the client's next request carries it in front of its own fields —
 * another visitor's email would go out with the first `Destination` and `Message` of the bad one. So an
 * error while building a request is a {@link RequestBuildError} (permanent: the same input fails the
 * same way), and the client that threw it is never used again.
 */
import {
  SESClient,
  SendEmailCommand,
  type SendEmailCommandInput,
  type ServiceInputTypes,
  type ServiceOutputTypes,
} from '@aws-sdk/client-ses';
import type { SerializeMiddleware } from '@smithy/types';
import { describeError } from '../commons/errors.ts';

/**
 * An SDK request that could not even be built from its input (e.g. the query serializer's
 * `URIError: URI malformed` on a lone surrogate): the same input fails the same way every time.
 */
export class RequestBuildError extends Error {
  override name = 'RequestBuildError';
}

/** Sends one email through SES and resolves to SES's message id. */
export interface EmailSender {
  /** @throws {RequestBuildError} when the request cannot be built from `input`; SES's errors otherwise */
  send(input: SendEmailCommandInput): Promise<string>;
}

const BUILT = Symbol('requestBuilt');

type BuildState = { [BUILT]?: boolean };

/** Wraps the serializer and everything after it: an error before the request was built is a build error. */
const catchBuildErrors: SerializeMiddleware<ServiceInputTypes, ServiceOutputTypes> =
  (next, context) => async (args) => {
    try {
      return await next(args);
    } catch (error) {
      if ((context as BuildState)[BUILT] === true) throw error;
      throw new RequestBuildError(`The email request could not be built: ${describeError(error).message}`, {
        cause: error,
      });
    }
  };

/** Runs right after the serializer: the request is built. */
const markBuilt: SerializeMiddleware<ServiceInputTypes, ServiceOutputTypes> = (next, context) => (args) => {
  (context as BuildState)[BUILT] = true;
  return next(args);
};

const GUARD = 'requestBuildErrorMiddleware';

/** Adds the two middlewares that tell a build error from the rest, once per client. */
function guarded(client: SESClient): SESClient {
  if (client.middlewareStack.identify().some((name) => name.startsWith(GUARD))) return client;
  client.middlewareStack.addRelativeTo(catchBuildErrors, {
    relation: 'before',
    toMiddleware: 'serializerMiddleware',
    name: GUARD,
  });
  client.middlewareStack.addRelativeTo(markBuilt, {
    relation: 'after',
    toMiddleware: 'serializerMiddleware',
    name: 'requestBuiltMiddleware',
  });
  return client;
}

/**
 * An {@link EmailSender} on `client` (the handlers' shared SES client), replaced by a fresh one from
 * `newClient` after a request that could not be built. The old client is not destroyed: requests of
 * other records may still be in flight on it, and their bodies were built before.
 *
 * @param newClient - the replacement's factory (default: the endpoint from `AWS_ENDPOINT_URL_SES` when set)
 */
export function createEmailSender(
  client: SESClient,
  newClient: () => SESClient = () => new SESClient({}),
): EmailSender {
  let current = guarded(client);
  return {
    async send(input) {
      try {
        return (await current.send(new SendEmailCommand(input))).MessageId ?? '';
      } catch (error) {
        if (error instanceof RequestBuildError) current = guarded(newClient());
        throw error;
      }
    },
  };
}
