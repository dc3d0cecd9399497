import { useEffect, useRef, useState } from 'react';
import type { LiveStats } from '../api/types';

/**
 * The campaign's totals pushed by `GET /api/campaigns/{id}/events` (server-sent events: the
 * current totals first, then each change). EventSource reconnects by itself.
 */
export function useLiveStats(id: string | undefined, onChange?: (s: LiveStats) => void): { stats: LiveStats | null; connected: boolean } {
  const [stats, setStats] = useState<LiveStats | null>(null);
  const [connected, setConnected] = useState(false);
  const changed = useRef(onChange);
  useEffect(() => {
    changed.current = onChange;
  });
  useEffect(() => {
    if (!id || typeof EventSource === 'undefined') return;
    const es = new EventSource(`/api/campaigns/${id}/events`);
    es.onopen = () => setConnected(true);
    es.onerror = () => setConnected(false);
    es.onmessage = (ev: MessageEvent<string>) => {
      try {
        const s = JSON.parse(ev.data) as LiveStats;
        setStats(s);
        changed.current?.(s);
      } catch {
        // Ignore keep-alives and anything unexpected.
      }
    };
    return () => es.close();
  }, [id]);
  return { stats, connected };
}
