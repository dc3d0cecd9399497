import { describe, expect, it, vi } from 'vitest';
import { render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { ApiError } from '../api/errors';
import { ReasonAction } from './ReasonAction';

const refusal = new ApiError(422, {
  error: { code: 'validation_failed', message: 'a reason is required for campaign.suspended', details: { field: 'reason' } },
});

describe('ReasonAction', () => {
  it('asks why, shows the server’s refusal next to the field, then sends the trimmed reason and closes', async () => {
    const onConfirm = vi.fn().mockRejectedValueOnce(refusal).mockResolvedValueOnce({});
    render(<ReasonAction trigger="Suspend" name="Suspend Garden" prompt="Why suspend it?" confirm="Suspend campaign" required onConfirm={onConfirm} />);
    await userEvent.click(screen.getByRole('button', { name: 'Suspend Garden' }));

    const field = screen.getByLabelText('Why suspend it? (required)');
    expect(field).toHaveFocus();
    expect(field).toHaveAttribute('aria-required', 'true');
    await userEvent.click(screen.getByRole('button', { name: 'Suspend campaign' }));
    expect(onConfirm).toHaveBeenLastCalledWith(undefined);
    await screen.findByText('a reason is required for campaign.suspended');
    expect(field).toHaveAttribute('aria-invalid', 'true');

    await userEvent.type(field, '  Fake charity  ');
    await userEvent.click(screen.getByRole('button', { name: 'Suspend campaign' }));
    expect(onConfirm).toHaveBeenLastCalledWith('Fake charity');
    await waitFor(() => expect(screen.queryByRole('form', { name: 'Suspend Garden' })).not.toBeInTheDocument());
    expect(screen.getByRole('button', { name: 'Suspend Garden' })).toBeInTheDocument();
  });

  it('shows other errors above the buttons and cancels without acting', async () => {
    const onConfirm = vi.fn().mockRejectedValue(new ApiError(409, { error: { code: 'invalid_transition', message: 'the campaign is not active' } }));
    render(<ReasonAction trigger="Reinstate" name="Reinstate Garden" prompt="Why?" confirm="Reinstate" variant="secondary" onConfirm={onConfirm} />);
    await userEvent.click(screen.getByRole('button', { name: 'Reinstate Garden' }));
    expect(screen.getByLabelText('Why? (optional)')).not.toHaveAttribute('aria-required');
    await userEvent.click(screen.getByRole('button', { name: 'Reinstate' }));
    expect((await screen.findByRole('alert')).textContent).toContain('the campaign is not active');
    await userEvent.click(screen.getByRole('button', { name: 'Cancel' }));
    expect(screen.queryByRole('form')).not.toBeInTheDocument();
    expect(onConfirm).toHaveBeenCalledTimes(1);
  });
});
