// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { formatMoney, parseMoney, percentOf, toDecimalString, toInputValue } from './money';

describe('formatMoney', () => {
  it('formats integer cents as dollars with grouping', () => {
    expect(formatMoney(123456, 'USD')).toBe('$1,234.56');
    expect(formatMoney(5, 'USD')).toBe('$0.05');
    expect(formatMoney(0, 'USD')).toBe('$0.00');
  });
  it('formats negative amounts', () => {
    expect(formatMoney(-2500, 'USD')).toBe('-$25.00');
  });
  it('is exact beyond float precision', () => {
    expect(formatMoney(900719925474099, 'USD')).toBe('$9,007,199,254,740.99');
  });
  it('knows currencies without minor units', () => {
    expect(formatMoney(1500, 'JPY')).toBe('¥1,500');
  });
});

describe('parseMoney', () => {
  it('parses decimals with string math', () => {
    expect(parseMoney('12.34')).toBe(1234);
    expect(parseMoney('0.1')).toBe(10);
    expect(parseMoney('0.29')).toBe(29); // 0.29 * 100 = 28.999999999999996 in floats
    expect(parseMoney('1,234.5')).toBe(123450);
    expect(parseMoney(' $25 ')).toBe(2500);
    expect(parseMoney('.5')).toBe(50);
    expect(parseMoney('007')).toBe(700);
  });
  it('refuses what is not an amount', () => {
    for (const bad of ['', 'abc', '1.234', '-5', '1e3', '12.3.4', '1 000']) {
      expect(parseMoney(bad)).toBeNull();
    }
  });
  it('round-trips through the input value', () => {
    expect(toInputValue(1234)).toBe('12.34');
    expect(parseMoney(toInputValue(99))).toBe(99);
    expect(toDecimalString(7, 2)).toBe('0.07');
  });
  it('computes display percentages with integers', () => {
    expect(percentOf(2500, 10000)).toBe(25);
    expect(percentOf(20000, 10000)).toBe(100);
    expect(percentOf(1, 0)).toBe(0);
  });
});
