import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseQuantity } from '../../helpers/quantity.ts';

describe('parseQuantity', () => {
  it('reads plain and signed decimal numbers', () => {
    assert.equal(parseQuantity('0'), 0);
    assert.equal(parseQuantity('2'), 2);
    assert.equal(parseQuantity('1.5'), 1.5);
    assert.equal(parseQuantity('.5'), 0.5);
    assert.equal(parseQuantity('3.'), 3);
    assert.equal(parseQuantity('+4'), 4);
    assert.equal(parseQuantity('-4'), -4);
    assert.equal(parseQuantity('  250m  '), 0.25);
  });

  it('applies decimal SI suffixes', () => {
    assert.equal(parseQuantity('500m'), 0.5);
    assert.equal(parseQuantity('100k'), 1e5);
    assert.equal(parseQuantity('1M'), 1e6);
    assert.equal(parseQuantity('1G'), 1e9);
    assert.equal(parseQuantity('2T'), 2e12);
    assert.equal(parseQuantity('1P'), 1e15);
    assert.equal(parseQuantity('1E'), 1e18);
    assert.equal(parseQuantity('1u'), 1e-6);
    assert.equal(parseQuantity('1n'), 1e-9);
  });

  it('applies binary suffixes', () => {
    assert.equal(parseQuantity('1Ki'), 1024);
    assert.equal(parseQuantity('512Mi'), 512 * 2 ** 20);
    assert.equal(parseQuantity('4Gi'), 4 * 2 ** 30);
    assert.equal(parseQuantity('1.5Gi'), 1.5 * 2 ** 30);
    assert.equal(parseQuantity('1Ti'), 2 ** 40);
    assert.equal(parseQuantity('1Pi'), 2 ** 50);
    assert.equal(parseQuantity('1Ei'), 2 ** 60);
  });

  it('reads decimal exponents', () => {
    assert.equal(parseQuantity('1e3'), 1000);
    assert.equal(parseQuantity('2E6'), 2e6);
    assert.equal(parseQuantity('5e-1'), 0.5);
    assert.equal(parseQuantity('1e+2'), 100);
  });

  it('returns null for what is not a quantity', () => {
    for (const bad of ['', ' ', 'lots', '2 GB', '1K', '1KB', '1gi', 'Gi', '1Gi2', '1e', 'e3', '1.2.3', '--1', '1m2', '0x10', '1,5']) {
      assert.equal(parseQuantity(bad), null, JSON.stringify(bad));
    }
  });
});
