import { useLocation } from 'react-router-dom';
import { Notice } from '../components/ui';

/** A one-off message passed with a navigation: navigate(to, { state: { notice } }). */
export function RouteNotice() {
  const { state } = useLocation();
  const notice = (state as { notice?: unknown } | null)?.notice;
  return typeof notice === 'string' ? <Notice tone="success">{notice}</Notice> : null;
}
