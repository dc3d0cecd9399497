// @vitest-environment node
import { describe, expect, it } from 'vitest';
import { ApiError, describe as describeError, errorInfo, fieldError, unwrap } from './errors';

describe('error envelope', () => {
  it('reads code, message and the field from details', () => {
    const info = errorInfo({ error: { code: 'validation_failed', message: 'amount must be positive', details: { field: 'amount' } } }, 422);
    expect(info).toEqual({ code: 'validation_failed', message: 'amount must be positive', field: 'amount', retryable: false });
    expect(fieldError(info, 'amount')).toBe('amount must be positive');
    expect(fieldError(info, 'message')).toBeUndefined();
  });

  it('treats network failures and 5xx as retryable', () => {
    expect(errorInfo(new TypeError('Failed to fetch')).retryable).toBe(true);
    expect(errorInfo({ error: { code: 'service_unavailable', message: 'down' } }, 503).retryable).toBe(true);
    expect(errorInfo(undefined, 502)).toMatchObject({ code: 'server', retryable: true });
  });

  it('unwrap throws an ApiError carrying the status and the envelope', async () => {
    const response = new Response(null, { status: 409 });
    const call = Promise.resolve({ error: { error: { code: 'exceeds_remaining', message: 'too much', details: { field: 'amount' } } }, response });
    const err = await unwrap(call).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(409);
    expect(describeError(err)).toMatchObject({ code: 'exceeds_remaining', field: 'amount' });
  });
});
