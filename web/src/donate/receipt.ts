// A receipt is an authenticated download (`GET /api/donations/{id}/receipt` needs the bearer
// token), so a plain link cannot fetch it: the client fetches the PDF and the browser saves the
// blob under the receipt number the API names it with.
import { client } from '../api/client';

export async function downloadReceipt(id: string): Promise<void> {
  const { data, response } = await client.GET('/api/donations/{id}/receipt', {
    params: { path: { id } },
    parseAs: 'blob',
  });
  if (!data) throw new Error(response.status === 404 ? 'Receipt not found.' : 'Could not download the receipt.');
  const name = /filename="([^"]+)"/.exec(response.headers.get('content-disposition') ?? '')?.[1] ?? `receipt-${id}.pdf`;
  const url = URL.createObjectURL(data);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  URL.revokeObjectURL(url);
}
