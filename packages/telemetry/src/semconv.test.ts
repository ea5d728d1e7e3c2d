import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as stable from '@opentelemetry/semantic-conventions';
import * as incubating from '@opentelemetry/semantic-conventions/incubating';
import { CommonAttributes, HttpAttributes, MessagingAttributes, MessagingOperationType } from './semconv.ts';

// Our constant name -> the semantic-conventions package's constant name.
const expected: Array<[string, string, string]> = [
  ...Object.entries(HttpAttributes).map(([key, value]): [string, string, string] => [
    value,
    key.startsWith('URL_') ||
    key.startsWith('SERVER_') ||
    key.startsWith('CLIENT_') ||
    key.startsWith('NETWORK_') ||
    key.startsWith('USER_AGENT')
      ? `ATTR_${key}`
      : `ATTR_HTTP_${key}`,
    key,
  ]),
  ...Object.entries(MessagingAttributes).map(([key, value]): [string, string, string] => [
    value,
    `ATTR_MESSAGING_${key}`,
    key,
  ]),
  ...Object.entries(CommonAttributes).map(([key, value]): [string, string, string] => [value, `ATTR_${key}`, key]),
];

describe('semantic-convention attribute names', () => {
  it('match the published @opentelemetry/semantic-conventions names', () => {
    const published = { ...incubating, ...stable } as Record<string, unknown>;
    for (const [ours, name, key] of expected) {
      assert.equal(ours, published[name], `${key}: ${ours} vs ${name}=${String(published[name])}`);
    }
  });

  it('messaging operation types are the published values', () => {
    const published = incubating as Record<string, unknown>;
    for (const value of Object.values(MessagingOperationType)) {
      assert.equal(published[`MESSAGING_OPERATION_TYPE_VALUE_${value.toUpperCase()}`], value);
    }
  });
});
