/** A threshold failure prints the value with enough digits to show why it failed. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withDigits } from '../../fixtures/criteria.ts';
import { evaluate } from '../../helpers/references.ts';

const failed = (name: string, value: number, t: { min?: number; max?: number; unit: string }) => {
  const v = evaluate(name, value, t);
  assert.equal(v.pass, false);
  return withDigits(v.message, name, value, t);
};

test('2.1002 against [1, 2.1] prints 2.1002, not 2.1', () => {
  const before = evaluate('speedup', 2.1002, { min: 1, max: 2.1, unit: 'x' }).message;
  assert.match(before, /^speedup = 2\.1 x, want in \[1, 2\.1\] x/, 'the message that could not explain itself');
  assert.match(failed('speedup', 2.1002, { min: 1, max: 2.1, unit: 'x' }), /^speedup = 2\.1002 x, want in \[1, 2\.1\] x: FAILED/);
});

test('below a min, without a unit, and the smallest number of digits that shows it', () => {
  assert.match(failed('test_accuracy', 0.979996, { min: 0.98, unit: '' }), /^test_accuracy = 0\.979996, want >= 0\.98: FAILED/);
  assert.match(failed('x', 0.99999999, { min: 1, unit: '' }), /^x = 0\.99999999, want >= 1/);
});

test('a value already shown outside its band is left as it is; a pass is never rewritten', () => {
  const m = evaluate('speedup', 3.5, { min: 1, max: 2.1, unit: '' }).message;
  assert.equal(withDigits(m, 'speedup', 3.5, { min: 1, max: 2.1 }), m);
  assert.equal(withDigits('other text', 'speedup', 2.1002, { max: 2.1 }), 'other text');
  assert.equal(withDigits('speedup = NaN, want <= 2.1', 'speedup', NaN, { max: 2.1 }), 'speedup = NaN, want <= 2.1');
});
