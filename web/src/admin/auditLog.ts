// How the admin audit log reads: action names, links to what an entry is about, and the compact
// before → after difference of its two JSON snapshots.
import type { Schemas } from '../api/client';
import { formatMoney } from '../lib/money';

export type AuditAction = Schemas['Action'];

// A Record so that tsc fails when the API adds an action the page does not name.
export const ACTION_LABELS: Record<AuditAction, string> = {
  'campaign.suspended': 'Campaign suspended',
  'campaign.reinstated': 'Campaign reinstated',
  'campaign.featured': 'Campaign featured',
  'campaign.unfeatured': 'Campaign unfeatured',
  'recurring.stopped': 'Recurring gifts stopped',
  'donation.refunded': 'Donation refunded',
  'loan.approved': 'Loan approved',
  'loan.rejected': 'Loan rejected',
  'loan.written_off': 'Loan written off',
  'user.updated': 'User updated',
  'dead_letter.retried': 'Dead letter retried',
  'report.requested': 'Report requested',
};

export const TARGET_TYPES = ['campaign', 'donation', 'loan', 'user', 'dead_letter', 'report'] as const;

/** The app page of an entry's target, where it has one. */
export function targetPath(type: string, id: string): string | undefined {
  if (type === 'campaign') return `/campaigns/${id}`;
  if (type === 'loan') return `/loans/${id}`;
  return undefined;
}

export interface FieldChange {
  key: string;
  /** Absent when the field is new in `after`. */
  before?: string;
  /** Absent when the field is gone from `after`. */
  after?: string;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const MAX_VALUE = 60;

/** One snapshot value as text; `amount` fields are minor units. */
export function formatValue(key: string, v: unknown): string {
  if (v === null || v === undefined) return '—';
  if (typeof v === 'number' && /amount$/i.test(key) && Number.isInteger(v)) return formatMoney(v);
  const text = typeof v === 'string' ? v : JSON.stringify(v);
  return text.length > MAX_VALUE ? `${text.slice(0, MAX_VALUE - 1)}…` : text;
}

/**
 * The fields that differ between two snapshots, in the order they first appear. Snapshots that
 * are not objects (e.g. `null` before a report existed) count as empty; equal fields are left
 * out. When nothing differs the result is empty.
 */
export function diffSnapshots(before: unknown, after: unknown): FieldChange[] {
  const b = isRecord(before) ? before : {};
  const a = isRecord(after) ? after : {};
  const keys = [...new Set([...Object.keys(b), ...Object.keys(a)])];
  const out: FieldChange[] = [];
  for (const key of keys) {
    const inB = key in b;
    const inA = key in a;
    if (inB && inA && JSON.stringify(b[key]) === JSON.stringify(a[key])) continue;
    out.push({
      key,
      ...(inB ? { before: formatValue(key, b[key]) } : {}),
      ...(inA ? { after: formatValue(key, a[key]) } : {}),
    });
  }
  return out;
}

/** A `YYYY-MM-DD` UTC day as the RFC 3339 instant it starts at; `next` gives the following day's. */
export function dayStart(day: string, next = false): string | undefined {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) return undefined;
  const t = Date.parse(`${day}T00:00:00Z`);
  if (Number.isNaN(t)) return undefined;
  return new Date(t + (next ? 86_400_000 : 0)).toISOString();
}

/** Basis points as a percentage with one decimal ("12.5%"); "—" when there is no rate. */
export function formatRate(bp: number | null | undefined): string {
  if (bp === null || bp === undefined) return '—';
  return `${(bp / 100).toFixed(1)}%`;
}
