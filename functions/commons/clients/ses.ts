import { SESClient } from '@aws-sdk/client-ses';

/** Created once per container; the endpoint comes from `AWS_ENDPOINT_URL_SES` when set. */
export const ses = new SESClient({});
