import assert from 'node:assert/strict';
import { test } from 'node:test';
import { degenerate, words } from '../../helpers/completion-quality.ts';

test('words: lower case, letters and apostrophes only', () => {
  assert.deepEqual(words(" The cat's hat, 42 times!"), ['the', "cat's", 'hat', 'times']);
});

test('degenerate flags loops, one repeated token, too few words and empty text, and passes prose', () => {
  assert.match(degenerate(' the the the the the the the the') ?? '', /distinct-word ratio 0\.13/);
  assert.match(degenerate(' the garden grew the garden grew the garden grew the garden grew') ?? '', /distinct-word ratio 0\.25/);
  assert.match(degenerate(' rain fell rain on the roof rain and rain in the garden rain') ?? '', /"rain" is 5 of 13/);
  assert.match(degenerate('  ') ?? '', /only 0 word/);
  assert.match(degenerate('a quiet town') ?? '', /only 3 word/);
  assert.equal(degenerate(' a small town where the weather changed every hour. In the morning the sky was'), null);
});

test('with a vocabulary, noise outside it is degenerate; without one it is not judged', () => {
  const vocab = new Set(words('the garden small town where weather changed every hour in morning sky was a'));
  const noise = ' qx zzyv brrk mlop the garden ftt wq';
  assert.match(degenerate(noise, vocab) ?? '', /only 25% of the words are in the corpus/);
  assert.equal(degenerate(noise), null);
  assert.equal(degenerate(' a small town where the weather changed every hour', vocab), null);
});
