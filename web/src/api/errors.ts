// The API's error envelope: {"error": {"code", "message", "details": {"field": ...}}}.
import type { components } from './schema';

type Envelope = components['schemas']['ErrorEnvelope'];

export interface ErrorInfo {
  code: string;
  message: string;
  field?: string;
  /** True for network failures and 5xx: the same request may be retried. */
  retryable: boolean;
}

export function isEnvelope(e: unknown): e is Envelope {
  return (
    typeof e === 'object' &&
    e !== null &&
    'error' in e &&
    typeof (e as { error: unknown }).error === 'object' &&
    (e as { error: unknown }).error !== null
  );
}

export function errorInfo(e: unknown, status?: number): ErrorInfo {
  if (e instanceof Error && 'info' in e) return (e as unknown as { info: ErrorInfo }).info;
  if (isEnvelope(e)) {
    const details = e.error.details as { field?: unknown } | null | undefined;
    const field = details && typeof details.field === 'string' ? details.field : undefined;
    return {
      code: e.error.code,
      message: e.error.message,
      field,
      retryable: status !== undefined ? status >= 500 : ['service_unavailable', 'unavailable'].includes(e.error.code as string),
    };
  }
  if (e instanceof TypeError || (e instanceof Error && e.name === 'TypeError')) {
    return { code: 'network', message: 'Network error: check your connection and try again.', retryable: true };
  }
  if (e instanceof Error) return { code: 'unknown', message: e.message, retryable: true };
  if (status !== undefined && status >= 500)
    return { code: 'server', message: 'The server could not complete the request. Please try again.', retryable: true };
  return { code: 'unknown', message: 'Something went wrong. Please try again.', retryable: true };
}

/** Error for one field, if the API named it (fields may be given as "amount" or "body.amount"). */
export function fieldError(e: ErrorInfo | null | undefined, field: string): string | undefined {
  if (!e?.field) return undefined;
  const f = e.field.split('.').pop();
  return f === field ? e.message : undefined;
}

/** A failed API call: the status and the parsed envelope. */
export class ApiError extends Error {
  readonly info: ErrorInfo;
  constructor(
    readonly status: number,
    body: unknown,
  ) {
    const info = errorInfo(body, status);
    super(info.message);
    this.name = 'ApiError';
    this.info = info;
  }
}

/** Awaits an openapi-fetch call and returns its data, throwing ApiError on an error status. */
export async function unwrap<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok) throw new ApiError(response.status, error);
  return data as T;
}

/** errorInfo for anything a query or mutation may throw. */
export function describe(e: unknown): ErrorInfo | null {
  if (e === null || e === undefined) return null;
  if (e instanceof ApiError) return e.info;
  return errorInfo(e);
}
