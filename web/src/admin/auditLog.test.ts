import { describe, expect, it } from 'vitest';
import { dayStart, diffSnapshots, formatRate, formatValue, targetPath } from './auditLog';

describe('diffSnapshots', () => {
  it('lists only the fields that changed, in order, with money in dollars', () => {
    expect(diffSnapshots({ status: 'completed', amount: 2500 }, { status: 'refunded', amount: 2500 })).toEqual([
      { key: 'status', before: 'completed', after: 'refunded' },
    ]);
    expect(diffSnapshots({ status: 'active', amount: 100 }, { status: 'active', amount: 250 })).toEqual([
      { key: 'amount', before: '$1.00', after: '$2.50' },
    ]);
  });

  it('marks fields that appear or disappear, and treats a null snapshot as empty', () => {
    expect(diffSnapshots({ status: 'active' }, { status: 'suspended', recurringPlans: 2 })).toEqual([
      { key: 'status', before: 'active', after: 'suspended' },
      { key: 'recurringPlans', after: '2' },
    ]);
    expect(diffSnapshots(null, { kind: 'loan_book' })).toEqual([{ key: 'kind', after: 'loan_book' }]);
    expect(diffSnapshots({ gone: true }, {})).toEqual([{ key: 'gone', before: 'true' }]);
  });

  it('compares nested values by content and finds nothing when equal', () => {
    expect(diffSnapshots({ a: { x: [1, 2] } }, { a: { x: [1, 2] } })).toEqual([]);
    expect(diffSnapshots({ a: { x: [1] } }, { a: { x: [1, 2] } })).toEqual([{ key: 'a', before: '{"x":[1]}', after: '{"x":[1,2]}' }]);
    expect(diffSnapshots(undefined, undefined)).toEqual([]);
  });
});

describe('formatValue', () => {
  it('shows null as a dash, booleans and numbers as text, long values cut', () => {
    expect(formatValue('reason', null)).toBe('—');
    expect(formatValue('featured', false)).toBe('false');
    expect(formatValue('attempts', 3)).toBe('3');
    const long = formatValue('note', 'x'.repeat(200));
    expect(long).toHaveLength(60);
    expect(long.endsWith('…')).toBe(true);
  });
});

describe('targetPath', () => {
  it('links campaigns and loans, not things without a page', () => {
    expect(targetPath('campaign', 'c1')).toBe('/campaigns/c1');
    expect(targetPath('loan', 'l1')).toBe('/loans/l1');
    expect(targetPath('donation', 'd1')).toBeUndefined();
  });
});

describe('dayStart', () => {
  it('turns a UTC day into its first instant, or the next day’s for an exclusive end', () => {
    expect(dayStart('2026-11-28')).toBe('2026-11-28T00:00:00.000Z');
    expect(dayStart('2026-12-31', true)).toBe('2027-01-01T00:00:00.000Z');
    expect(dayStart('')).toBeUndefined();
    expect(dayStart('2026-13-45')).toBeUndefined();
  });
});

describe('formatRate', () => {
  it('turns basis points into a percentage', () => {
    expect(formatRate(1250)).toBe('12.5%');
    expect(formatRate(10000)).toBe('100.0%');
    expect(formatRate(0)).toBe('0.0%');
    expect(formatRate(null)).toBe('—');
  });
});
