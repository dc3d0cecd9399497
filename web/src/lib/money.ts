// Money is integer minor units (cents) from the API to the last Intl.NumberFormat call. User
// input is parsed with string math, never through floating point.

const digitsCache = new Map<string, number>();

/** How many minor-unit digits a currency has (USD 2, JPY 0). */
export function minorDigits(currency: string): number {
  let d = digitsCache.get(currency);
  if (d === undefined) {
    d = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions()
      .maximumFractionDigits ?? 2;
    digitsCache.set(currency, d);
  }
  return d;
}

/** "1234" minor units → "12.34" as an exact decimal string (no float division). */
export function toDecimalString(minor: number | bigint, digits: number): string {
  const big = BigInt(minor);
  const negative = big < 0n;
  const abs = (negative ? -big : big).toString().padStart(digits + 1, '0');
  const int = abs.slice(0, abs.length - digits);
  const frac = abs.slice(abs.length - digits);
  return (negative ? '-' : '') + int + (digits > 0 ? '.' + frac : '');
}

type ExactFormat = (value: string) => string;

/** Formats integer minor units as money, e.g. formatMoney(123456, 'USD') → "$1,234.56". */
export function formatMoney(minor: number | bigint, currency = 'USD', locale = 'en-US'): string {
  const digits = minorDigits(currency);
  const nf = new Intl.NumberFormat(locale, {
    style: 'currency',
    currency,
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
  // Intl.NumberFormat formats decimal strings exactly (ES2023 NumberFormat v3).
  return (nf.format as unknown as ExactFormat)(toDecimalString(minor, digits));
}

/**
 * Parses what a person typed ("12", "12.3", "1,234.56", "$5") into integer minor units.
 * Returns null when it is not a positive amount with at most the currency's minor digits.
 */
export function parseMoney(input: string, currency = 'USD'): number | null {
  const digits = minorDigits(currency);
  const cleaned = input.trim().replace(/^[$€£]/, '').replace(/,/g, '').trim();
  const m = /^(\d{1,12})(?:\.(\d*))?$/.exec(cleaned) ?? /^()\.(\d+)$/.exec(cleaned);
  if (!m) return null;
  const intPart = m[1] || '0';
  const frac = m[2] ?? '';
  if (frac.length > digits) return null;
  const minorStr = (intPart + frac.padEnd(digits, '0')).replace(/^0+(?=\d)/, '');
  const value = Number(minorStr);
  if (!Number.isSafeInteger(value)) return null;
  return value;
}

/** Minor units → the editable decimal string shown in an input ("1234" → "12.34"). */
export function toInputValue(minor: number, currency = 'USD'): string {
  return toDecimalString(minor, minorDigits(currency));
}

/** Share of a goal as a whole percentage for display (0–100), integer math only. */
export function percentOf(part: number, whole: number): number {
  if (whole <= 0) return 0;
  const pct = Math.floor((part * 100) / whole);
  return Math.max(0, Math.min(100, pct));
}
