import { useState, type FormEvent } from 'react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { $api, client } from '../api/client';
import { describe, fieldError, unwrap } from '../api/errors';
import { Async, Button, Card, DateText, Empty, Notice, Pagination, TextArea, TextField } from '../components/ui';

/**
 * The campaign's updates, newest first; for its creator (and admins) a form to post one. The
 * API emails each update to the campaign's donors, so the form says so.
 */
export function CampaignUpdates({ campaignId, canPost }: { campaignId: string; canPost: boolean }) {
  const [page, setPage] = useState(1);
  const q = $api.useQuery('get', '/api/campaigns/{id}/updates', { params: { path: { id: campaignId }, query: { page, limit: 5 } } });
  return (
    <section aria-labelledby="updates-h">
      <h2 id="updates-h" className="mb-2 text-xl font-semibold">
        Updates
      </h2>
      {canPost && <PostUpdateForm campaignId={campaignId} onPosted={() => setPage(1)} />}
      <Async q={q} label="Loading updates…">
        {(d) =>
          d.items.length === 0 ? (
            <Empty>No updates yet.</Empty>
          ) : (
            <>
              <ol className="space-y-3" data-testid="updates">
                {d.items.map((u) => (
                  <li key={u.id}>
                    <article aria-labelledby={`update-${u.id}`} className="rounded-lg border border-slate-200 bg-white p-4">
                      <h3 id={`update-${u.id}`} className="font-semibold">
                        {u.title}
                      </h3>
                      <p className="mb-2 text-sm text-slate-600">
                        <DateText value={u.createdAt} time />
                      </p>
                      <p className="whitespace-pre-line leading-relaxed">{u.body}</p>
                    </article>
                  </li>
                ))}
              </ol>
              <Pagination page={d.page} limit={d.limit} total={d.total} onPage={setPage} />
            </>
          )
        }
      </Async>
    </section>
  );
}

function PostUpdateForm({ campaignId, onPosted }: { campaignId: string; onPosted: () => void }) {
  const qc = useQueryClient();
  const [title, setTitle] = useState('');
  const [body, setBody] = useState('');
  const post = useMutation({
    mutationFn: () =>
      unwrap(client.POST('/api/campaigns/{id}/updates', { params: { path: { id: campaignId } }, body: { title, body } })),
    onSuccess: () => {
      setTitle('');
      setBody('');
      onPosted();
      void qc.invalidateQueries({ queryKey: ['get', '/api/campaigns/{id}/updates'] });
    },
  });
  const error = describe(post.error);
  const titleError = fieldError(error, 'title');
  const bodyError = fieldError(error, 'body');

  function submit(e: FormEvent) {
    e.preventDefault();
    if (!post.isPending) post.mutate();
  }

  return (
    <Card className="mb-4">
      <form onSubmit={submit} noValidate aria-labelledby="post-update-h">
        <h3 id="post-update-h" className="mb-2 font-semibold">
          Post an update
        </h3>
        <TextField label="Title" maxLength={120} value={title} onChange={(e) => setTitle(e.target.value)} error={titleError} />
        <TextArea
          label="Update"
          rows={5}
          maxLength={10000}
          value={body}
          onChange={(e) => setBody(e.target.value)}
          error={bodyError}
          hint="Emailed to your donors (except those who turned emails off). At most 10 updates a day."
        />
        {error && !titleError && !bodyError && (
          <div role="alert" className="mb-3 rounded-md border border-red-300 bg-red-50 p-3 text-sm text-red-900">
            {error.message}
          </div>
        )}
        {post.isSuccess && <Notice tone="success">Posted. Your donors will get it by email.</Notice>}
        <Button type="submit" busy={post.isPending}>
          Post update
        </Button>
      </form>
    </Card>
  );
}
