import { DynamoDBClient } from '@aws-sdk/client-dynamodb';

/** Created once per container; the endpoint comes from `AWS_ENDPOINT_URL_DYNAMODB` when set. */
export const dynamodb = new DynamoDBClient({});
