import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSwitchyardError } from '@switchyard/core';
import { describeValue, parseRequest, zAmount, zInteger, zList, zRecord, zText } from './validation.ts';

const schema = zRecord({
  customer: zText(1, 5),
  items: zList(zRecord({ sku: zText(1, 10), quantity: zInteger(1), price: zAmount(0) }), 1, 2),
  amount: zAmount(0, { exclusive: true }).optional(),
  page: zInteger(1, 3).optional(),
});

function failure(input: unknown): { message: string; field: unknown } {
  try {
    parseRequest(schema, input);
  } catch (err) {
    assert.ok(isSwitchyardError(err, 'SY_SHOP_INVALID_REQUEST'));
    return { message: err.message, field: err.details.field };
  }
  assert.fail('expected a validation error');
}

const valid = { customer: 'ada', items: [{ sku: 'A', quantity: 1, price: 2 }] };

describe('parseRequest', () => {
  it('names a missing field as required', () => {
    assert.deepEqual(failure({ items: valid.items }), { message: 'customer: required', field: 'customer' });
  });

  it('names a nested field with the expectation and the value sent', () => {
    const items = [{ sku: 'A', quantity: 0, price: 1 }];
    assert.deepEqual(failure({ ...valid, items }), {
      message: 'items[0].quantity: expected an integer >= 1, got 0',
      field: 'items[0].quantity',
    });
  });

  it('rejects a fractional integer, a wrong type and a bounded integer', () => {
    const fractional = [{ sku: 'A', quantity: 1.5, price: 1 }];
    assert.equal(
      failure({ ...valid, items: fractional }).message,
      'items[0].quantity: expected an integer >= 1, got 1.5',
    );
    assert.equal(failure({ ...valid, customer: 7 }).message, 'customer: expected a string of 1..5 characters, got 7');
    assert.equal(failure({ ...valid, page: 4 }).message, 'page: expected an integer 1..3, got 4');
    assert.equal(failure({ ...valid, amount: 0 }).message, 'amount: expected a number > 0, got 0');
  });

  it('describes arrays by length and objects by kind', () => {
    assert.equal(
      failure({ ...valid, items: [] }).message,
      'items: expected an array of 1..2 items, got an array of 0 items',
    );
    assert.equal(failure({ ...valid, items: {} }).message, 'items: expected an array of 1..2 items, got an object');
  });

  it('reports an unknown field first, with a suggestion', () => {
    assert.deepEqual(failure({ custmer: 'ada', items: valid.items }), {
      message: 'custmer: unknown field (did you mean "customer"?)',
      field: 'custmer',
    });
    const items = [{ sku: 'A', quantity: 1, price: 2, prise: 2 }];
    assert.equal(failure({ ...valid, items }).field, 'items[0].prise');
  });

  it('describes a missing or non-object body without a field', () => {
    assert.deepEqual(failure(undefined), {
      message: 'request body: expected an object, got no body',
      field: undefined,
    });
    assert.equal(failure([1, 2]).message, 'request body: expected an object, got an array of 2 items');
    assert.equal(failure(null).message, 'request body: expected an object, got null');
  });

  it('returns the parsed value when valid', () => {
    assert.deepEqual(parseRequest(schema, valid), valid);
  });
});

describe('describeValue', () => {
  it('shortens long strings and keeps short ones verbatim', () => {
    assert.equal(describeValue('ab'), '"ab"');
    assert.equal(describeValue('x'.repeat(50)), `"${'x'.repeat(40)}"… (50 characters)`);
    assert.equal(describeValue(undefined), 'nothing');
    assert.equal(describeValue(true), 'true');
  });
});
