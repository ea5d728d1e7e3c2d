import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DeadLetterHeader, deadLetterHeaders, describeFailure, MAX_DEAD_LETTER_ERROR_LENGTH } from './dead-letter.ts';
import { sagaError } from './errors.ts';

describe('deadLetterHeaders', () => {
  it('keeps the message headers and adds group, error, deliveries and topic', () => {
    const headers = deadLetterHeaders({
      topic: 'order.approved',
      group: 'billing',
      headers: { traceparent: 't', [DeadLetterHeader.Group]: 'an earlier group' },
      deliveries: 5,
      error: new Error('card declined'),
    });
    assert.deepEqual(headers, {
      traceparent: 't',
      'sy-dead-letter-group': 'billing',
      'sy-dead-letter-error': 'card declined',
      'sy-deliveries': '5',
      'sy-dead-letter-topic': 'order.approved',
    });
    assert.ok(Object.isFrozen(headers));
  });

  it('describes a SwitchyardError with its code and anything else as a string', () => {
    assert.equal(describeFailure(sagaError('SY_BUS_ACK_TIMEOUT', 'too slow')), 'SY_BUS_ACK_TIMEOUT: too slow');
    assert.equal(describeFailure('plain'), 'plain');
    assert.equal(describeFailure(new TypeError('')), 'TypeError');
  });

  it('truncates a long error without splitting a surrogate pair', () => {
    const long = describeFailure(new Error('x'.repeat(5_000)));
    assert.equal(long.length, MAX_DEAD_LETTER_ERROR_LENGTH);
    assert.ok(long.endsWith('…'));
    const emoji = describeFailure(new Error(`${'x'.repeat(MAX_DEAD_LETTER_ERROR_LENGTH - 2)}🚀🚀`));
    assert.ok(!/[\ud800-\udbff]…$/.test(emoji), 'no lone high surrogate before the ellipsis');
    assert.ok(emoji.isWellFormed());
  });
});
