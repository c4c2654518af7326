import { test } from 'node:test';
import assert from 'node:assert/strict';
import { translateRe2 } from './validate-regex.ts';

function matches(pattern: string, input: string): boolean {
  const t = translateRe2(pattern);
  assert.ok(t.ok, `${pattern} translates`);
  return t.regex.test(input);
}

test('RE2 constructs are translated with RE2 meaning', () => {
  // The one pattern of the loaded Envoy schema: RouteMatch.path_separated_prefix.
  assert.ok(matches('^[^?#]+[^?#/]$', '/api'));
  assert.ok(!matches('^[^?#]+[^?#/]$', '/api/'));
  assert.ok(!matches('^[^?#]+[^?#/]$', '/a?b'));
  // `.` never matches \n (without s); (?s) makes it.
  assert.ok(!matches('^a.b$', 'a\nb'));
  assert.ok(matches('(?s)^a.b$', 'a\nb'));
  assert.ok(matches('^a.b$', 'a\rb'));
  // \A and \z are absolute text boundaries, also under (?m).
  assert.ok(matches('(?m)\\Aab\\z', 'ab'));
  assert.ok(!matches('(?m)\\Aab\\z', 'x\nab'));
  assert.ok(matches('(?i)^abc$', 'ABC'));
  // \s is ASCII only in RE2.
  assert.ok(matches('^\\s$', '\t'));
  assert.ok(!matches('^\\s$', '\u00a0'));
  // Literal `]` first in a class, POSIX classes, \Q..\E, \x{..}, named groups, \pL.
  assert.ok(matches('^[]a]+$', ']a]'));
  assert.ok(matches('^[[:alpha:]_-]+$', 'a_b-C'));
  assert.ok(!matches('^[[:alpha:]]+$', 'a1'));
  assert.ok(matches('^\\Qa.b*\\E$', 'a.b*'));
  assert.ok(!matches('^\\Qa.b*\\E$', 'axbbb'));
  assert.ok(matches('^\\x{41}\\x42$', 'AB'));
  assert.ok(matches('^(?P<word>\\w+)$', 'abc'));
  assert.ok(matches('^\\pL+\\p{Greek}$', 'abλ'));
  assert.ok(!matches('^\\PL$', 'a'));
  // A `{` that does not start a repetition is a literal; repetitions stay repetitions.
  assert.ok(matches('^a{$', 'a{'));
  assert.ok(matches('^a{2,3}$', 'aaa'));
  assert.ok(!matches('^a{2,3}$', 'aaaa'));
  // Escaped punctuation, including characters JavaScript's u mode refuses to escape.
  assert.ok(matches('^\\-\\.\\/\\:$', '-./:'));
  // PGV's HTTP_HEADER_NAME pattern (`+-.` is a range, so `,` matches too).
  assert.ok(matches("^:?[0-9a-zA-Z!#$%&'*+-.^_|~\\x60]+$", ':authority'));
  assert.ok(matches("^:?[0-9a-zA-Z!#$%&'*+-.^_|~\\x60]+$", 'a,b'));
  assert.ok(!matches("^:?[0-9a-zA-Z!#$%&'*+-.^_|~\\x60]+$", 'a b'));
});

test('what cannot be translated faithfully is refused with a reason, never thrown', () => {
  for (const pattern of ['x(?i)y', '(?U)a+', '(?=a)', '\\C', '[[:^alpha:]]', '\\1', '(a|b', '[a', '\\', '\\x{110000}']) {
    const t = translateRe2(pattern);
    assert.equal(t.ok, false, pattern);
    assert.ok(t.reason.length > 0, pattern);
  }
});
