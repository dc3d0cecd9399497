// `/my/donations/:id/receipt`: where the donation-receipt email links. The reader signs in if
// needed (the route is guarded), then the PDF downloads at once, with a button to fetch it again.
import { useEffect, useState } from 'react';
import { Link, useParams } from 'react-router-dom';
import { Button, ErrorBox, Notice, PageTitle } from '../components/ui';
import { downloadReceipt } from './receipt';

export default function ReceiptPage() {
  const { id = '' } = useParams();
  const [attempt, setAttempt] = useState(0);
  const [state, setState] = useState<'loading' | 'done' | Error>('loading');
  useEffect(() => {
    let live = true;
    setState('loading');
    downloadReceipt(id).then(
      () => live && setState('done'),
      (e: unknown) => live && setState(e instanceof Error ? e : new Error(String(e))),
    );
    return () => {
      live = false;
    };
  }, [id, attempt]);
  const again = () => setAttempt((n) => n + 1);
  return (
    <div className="space-y-4">
      <PageTitle>Donation receipt</PageTitle>
      {state instanceof Error ? (
        <ErrorBox error={state} onRetry={again} />
      ) : (
        <Notice>{state === 'loading' ? 'Preparing your receipt (PDF)…' : 'Your receipt (PDF) has been downloaded.'}</Notice>
      )}
      <div className="flex gap-3">
        <Button variant="secondary" busy={state === 'loading'} onClick={again}>
          Download again
        </Button>
        <Link to="/my/donations">All my donations</Link>
      </div>
    </div>
  );
}
