// The spec types these as plain strings (no enums yet); the values come from the API's rules.
export const CATEGORIES = [
  'animals',
  'community',
  'creative',
  'education',
  'emergency',
  'environment',
  'health',
  'sports',
  'technology',
  'other',
] as const;

export const SORTS = [
  { value: 'newest', label: 'Newest' },
  { value: 'featured', label: 'Featured first' },
  { value: 'most_raised', label: 'Most raised' },
  { value: 'ending_soon', label: 'Ending soon' },
] as const;

export const FUNDING_MODELS = [
  { value: 'keep_it_all', label: 'Keep it all (withdraw any time)' },
  { value: 'all_or_nothing', label: 'All or nothing (needs a deadline)' },
] as const;

export function label(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1).replace(/_/g, ' ');
}
