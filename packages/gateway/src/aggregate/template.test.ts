import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseTemplate, renderTemplate, type Template, type TemplateScope } from './template.ts';

function parsed(text: string): Template {
  const result = parseTemplate(text);
  assert.ok(result.ok, result.ok ? '' : result.message);
  return result.template;
}

function scope(over: Partial<TemplateScope> = {}): TemplateScope {
  return { params: {}, query: new URLSearchParams(), calls: new Map(), ...over };
}

test('parses literals and the three kinds of reference', () => {
  const template = parsed('/users/{params.id}/orders?status={query.status}&customer={user.account.id}');
  assert.deepEqual(template.refs, [
    { text: '{params.id}', source: 'params', name: 'id', field: [] },
    { text: '{query.status}', source: 'query', name: 'status', field: [] },
    { text: '{user.account.id}', source: 'call', name: 'user', field: ['account', 'id'] },
  ]);
  assert.deepEqual(template.parts[0], '/users/');
  assert.deepEqual(parsed('/plain').parts, ['/plain']);
});

test('rejects malformed references with a message naming them', () => {
  const cases: [string, RegExp][] = [
    ['/users/{params.id', /unclosed "\{" at position 7/],
    ['/users/params.id}', /unmatched "\}" at position 16/],
    ['/u/{}', /"\{\}": expected \{params/],
    ['/u/{params}', /"\{params\}": expected exactly one name after "params\."/],
    ['/u/{params.a.b}', /exactly one name/],
    ['/u/{user}', /"\{user\}": expected a field of call "user"/],
    ['/u/{user.a b}', /field segment "a b"/],
    ['/u/{9user.id}', /starts with a letter/],
    ['/u/{user..id}', /field segment ""/],
  ];
  for (const [text, message] of cases) {
    const result = parseTemplate(text);
    assert.equal(result.ok, false, text);
    if (!result.ok) assert.match(result.message, message, text);
  }
});

test('inserted values are percent-encoded, so they cannot add segments or parameters', () => {
  const template = parsed('/users/{params.id}?q={query.q}&c={user.name}');
  const result = renderTemplate(
    template,
    scope({
      params: { id: '../admin' },
      query: new URLSearchParams('q=a%26b%3Dc'),
      calls: new Map([['user', { name: 'Zoë/1?x#y' }]]),
    }),
  );
  assert.deepEqual(result, { ok: true, value: '/users/..%2Fadmin?q=a%26b%3Dc&c=Zo%C3%AB%2F1%3Fx%23y' });
});

test('a missing query parameter inserts nothing; numbers, booleans and array indexes work', () => {
  const template = parsed('/x?a={query.a}&n={c.n}&b={c.b}&first={c.items.0.id}');
  const result = renderTemplate(
    template,
    scope({ calls: new Map([['c', { n: 42, b: false, items: [{ id: 'i1' }] }]]) }),
  );
  assert.deepEqual(result, { ok: true, value: '/x?a=&n=42&b=false&first=i1' });
});

test('a missing, null or non-scalar call field fails the render, naming the reference', () => {
  const template = parsed('/orders/{user.customerId}');
  const render = (body: unknown) => renderTemplate(template, scope({ calls: new Map([['user', body]]) }));
  assert.deepEqual(render({}), {
    ok: false,
    message: '{user.customerId}: the body of call "user" has no field "customerId"',
  });
  assert.deepEqual(render('plain text'), {
    ok: false,
    message: '{user.customerId}: the body of call "user" has no field "customerId"',
  });
  const nulled = render({ customerId: null });
  assert.equal(nulled.ok, false);
  if (!nulled.ok) assert.match(nulled.message, /is null, not a string, number or boolean/);
  const object = render({ customerId: { id: 1 } });
  if (!object.ok) assert.match(object.message, /is an object/);
  else assert.fail('an object must not render');
  const none = renderTemplate(template, scope());
  assert.deepEqual(none, { ok: false, message: '{user.customerId}: call "user" has no result' });
  const param = renderTemplate(parsed('/{params.id}'), scope());
  assert.deepEqual(param, { ok: false, message: '{params.id}: the route has no parameter "id"' });
});

test('an inherited property is not a field', () => {
  const result = renderTemplate(parsed('/{c.toString}'), scope({ calls: new Map([['c', {}]]) }));
  assert.equal(result.ok, false);
});
