import { describe, expect, it } from 'vitest';
import { render, screen } from '@testing-library/react';
import { BarChart } from './Charts';
import { formatMoney } from '../lib/money';

describe('BarChart', () => {
  it('draws one bar per day scaled to the largest and names every value for screen readers', () => {
    const { container } = render(
      <BarChart
        title="Donated per day"
        data={[
          { label: '2026-11-26', value: 1000 },
          { label: '2026-11-27', value: 4000 },
        ]}
        format={(v) => formatMoney(v)}
      />,
    );
    const img = screen.getByRole('img');
    expect(img.getAttribute('aria-label')).toBe('Donated per day: 2026-11-26 $10.00, 2026-11-27 $40.00');
    const bars = container.querySelectorAll('rect');
    expect(bars).toHaveLength(2);
    expect(Number(bars[1]?.getAttribute('height'))).toBe(150);
    expect(Number(bars[0]?.getAttribute('height'))).toBe(38);
    expect(screen.getByText(/total \$50\.00/)).toBeInTheDocument();
  });
});
