import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSwitchyardError } from '@switchyard/core';
import { defineSaga, isSagaDefinition } from './definition.ts';
import { toJsonValue } from './internal/step-json.ts';

const configError = (pattern: RegExp) => (e: Error) =>
  isSwitchyardError(e, 'SY_CONFIG_INVALID') && pattern.test(e.message);

describe('defineSaga', () => {
  it('builds stages in order with resolved step options', () => {
    const saga = defineSaga<{ n: number }>('order')
      .step('a', { execute: () => 1, compensate: () => {}, timeout: '2s' })
      .parallel({
        b: { execute: () => 2 },
        c: { execute: () => 3, retry: { maxAttempts: 4, backoff: { initial: '50ms' } } },
      })
      .build();
    assert.equal(saga.name, 'order');
    assert.deepEqual(
      saga.stages.map((stage) => stage.map((s) => s.name)),
      [['a'], ['b', 'c']],
    );
    const [a] = saga.stages[0] ?? [];
    const c = saga.stages[1]?.[1];
    assert.equal(a?.timeoutMs, 2_000);
    assert.equal(typeof a?.compensate, 'function');
    assert.equal(saga.stages[1]?.[0]?.compensate, undefined);
    assert.equal(saga.stages[1]?.[0]?.retry.maxAttempts, 1, 'a step is tried once unless it says retry');
    assert.equal(c?.retry.maxAttempts, 4);
    assert.deepEqual(c?.retry.backoff, { initialMs: 50, maxMs: 10_000, factor: 2, jitter: 'full' });
    assert.ok(Object.isFrozen(saga));
    assert.ok(isSagaDefinition(saga));
    assert.equal(isSagaDefinition({ name: 'x' }), false);
  });

  it('leaves the builder it came from unchanged (each call returns a new builder)', () => {
    const base = defineSaga('x').step('a', { execute: () => 1 });
    const one = base.step('b', { execute: () => 2 }).build();
    const two = base.step('c', { execute: () => 3 }).build();
    assert.deepEqual(
      one.stages.flat().map((s) => s.name),
      ['a', 'b'],
    );
    assert.deepEqual(
      two.stages.flat().map((s) => s.name),
      ['a', 'c'],
    );
  });

  it('refuses bad definitions, naming the field', () => {
    assert.throws(() => defineSaga(''), configError(/saga\.name: expected a non-empty string/));
    assert.throws(() => defineSaga('x').build(), configError(/saga\.x\.steps: a saga needs at least one step/));
    assert.throws(() => defineSaga('x').parallel({}), configError(/a parallel group needs at least one step/));
    const a = defineSaga('x').step('a', { execute: () => 1 });
    assert.throws(
      () => a.parallel({ a: { execute: () => 2 } }),
      configError(/saga\.x\.steps\.a: step name "a" is already used/),
    );
    assert.throws(
      () => defineSaga('x').step('s', { execute: () => 1, retry: { maxAttempts: 0 } }),
      configError(/saga\.x\.steps\.s\.retry\.maxAttempts/),
    );
    assert.throws(
      () => defineSaga('x').step('s', { execute: () => 1, timeout: 'soon' }),
      configError(/saga\.x\.steps\.s\.timeout/),
    );
    assert.throws(
      () => defineSaga('x').step('s', { execute: () => 1, timout: 3 } as never),
      configError(/saga\.x\.steps\.s\.timout: unknown field \(did you mean "timeout"\?\)/),
    );
    assert.throws(() => defineSaga('x').step('s', {} as never), configError(/saga\.x\.steps\.s\.execute/));
  });
});

describe('toJsonValue', () => {
  it('copies JSON, turns a missing output into null and drops undefined properties', () => {
    const value = { a: [1, 'x', true, null, { b: 2 }], gone: undefined };
    const copy = toJsonValue(value, 'out');
    assert.deepEqual(copy, { a: [1, 'x', true, null, { b: 2 }] });
    assert.notEqual(copy, value);
    assert.equal(toJsonValue(undefined, 'out'), null);
    assert.deepEqual(toJsonValue(Object.assign(Object.create(null), { k: 1 }), 'out'), { k: 1 });
  });

  it('refuses what JSON would change, naming the path', () => {
    const refused = (value: unknown, pattern: RegExp) =>
      assert.throws(
        () => toJsonValue(value, 'output'),
        (e: Error) => isSwitchyardError(e, 'SY_SAGA_NOT_JSON') && pattern.test(e.message),
      );
    refused({ at: new Date(0) }, /output at "at": expected a JSON value, got an instance of Date/);
    refused({ list: [1, Number.NaN] }, /output at "list\[1\]": .* got NaN/);
    refused(10n, /output: expected a JSON value, got a bigint/);
    refused({ f: () => 1 }, /at "f": .* got a function/);
    refused([undefined], /at "\[0\]": .* got a undefined/);
    const loop: Record<string, unknown> = {};
    loop.self = loop;
    refused(loop, /at "self": .* circular reference/);
    refused(new Map(), /an instance of Map/);
  });
});
