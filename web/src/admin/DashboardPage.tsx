import { $api } from '../api/client';
import { Link } from 'react-router-dom';
import type { Schemas } from '../api/client';
import { Async, Card, DateText, Empty, Money, PageTitle, Table, Td } from '../components/ui';
import { formatMoney } from '../lib/money';
import { AdminNav } from './AdminNav';
import { formatRate } from './auditLog';
import { BarChart } from './Charts';
import { QueueTable } from './QueueTable';

type Activity = Schemas['ActivityDto'];

// One row per figure: label, then how to show it from a period's activity.
const ACTIVITY_ROWS: Array<[string, (a: Activity) => React.ReactNode]> = [
  ['Donations', (a) => a.donationsCount],
  ['Donated', (a) => <Money amount={a.donationsAmount} />],
  ['New donors', (a) => a.newDonors],
  ['Registrations', (a) => a.registrations],
  ['Campaigns created', (a) => a.campaignsCreated],
  ['Loans submitted', (a) => a.loansSubmitted],
  ['Loans approved', (a) => a.loansApproved],
  ['Loans rejected', (a) => a.loansRejected],
  ['Loans repaid', (a) => a.loansRepaid],
  ['Loans defaulted', (a) => a.loansDefaulted],
  ['Approval rate', (a) => formatRate(a.approvalRateBp)],
  ['Default rate', (a) => formatRate(a.defaultRateBp)],
];

function ActivityTable({ today, month }: { today: Activity; month: Activity }) {
  return (
    <Table caption="Activity today and over the last 30 days" head={['', 'Today (UTC)', 'Last 30 days']}>
      {ACTIVITY_ROWS.map(([name, show]) => (
        <tr key={name}>
          <th scope="row" className="px-3 py-2 text-left font-medium">{name}</th>
          <Td className="tabular-nums">{show(today)}</Td>
          <Td className="tabular-nums">{show(month)}</Td>
        </tr>
      ))}
    </Table>
  );
}

function Pipeline({ p }: { p: Schemas['PipelineDto'] }) {
  return (
    <div className="space-y-3">
      <div className="grid grid-cols-2 gap-3 md:grid-cols-3">
        <Stat label="Outbox lag">{p.outboxLagSeconds} s</Stat>
        <Stat label="Outbox events waiting">{p.outboxUnsent}</Stat>
        <Stat label="Dead letters">
          {p.deadLetters > 0 ? <Link to="/admin/jobs">{p.deadLetters}</Link> : 0}
        </Stat>
      </div>
      <QueueTable queues={p.queues} />
    </div>
  );
}

function Stat({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <Card>
      <p className="text-sm text-slate-700">{label}</p>
      <p className="text-2xl font-bold">{children}</p>
    </Card>
  );
}

export default function DashboardPage() {
  const q = $api.useQuery('get', '/api/admin/dashboard');
  return (
    <div>
      <PageTitle>Admin dashboard</PageTitle>
      <AdminNav />
      <Async q={q}>
        {(d) => {
          const days = [...d.last30Days].sort((a, b) => a.day.localeCompare(b.day));
          return (
            <div className="space-y-6">
              <p className="text-sm text-slate-700">
                Computed <DateText value={d.computedAt} time /> · page cache {d.cache.hits} hits / {d.cache.misses} misses
              </p>
              <div className="grid grid-cols-2 gap-3 md:grid-cols-3">
                <Stat label="Users">{d.totals.users}</Stat>
                <Stat label="Active campaigns">{d.totals.activeCampaigns}</Stat>
                <Stat label="Donations">{d.totals.donationsCount}</Stat>
                <Stat label="Donated"><Money amount={d.totals.donationsAmount} /></Stat>
                <Stat label="Refunded"><Money amount={d.totals.refundedAmount} /></Stat>
                <Stat label="Wallet balances"><Money amount={d.totals.walletBalances} /></Stat>
              </div>
              <section aria-labelledby="activity-h" className="space-y-2">
                <h2 id="activity-h" className="text-lg font-semibold">Activity</h2>
                <p className="text-sm text-slate-700">Today’s figures are live; the 30 days’ are as of the time above.</p>
                <ActivityTable today={d.today} month={d.last30DaysActivity} />
              </section>
              <section aria-labelledby="pipeline-h" className="space-y-2">
                <h2 id="pipeline-h" className="text-lg font-semibold">Background work (live)</h2>
                <Pipeline p={d.pipeline} />
              </section>
              {days.length === 0 ? (
                <Empty>No daily analytics yet (computed nightly).</Empty>
              ) : (
                <div className="grid gap-4 lg:grid-cols-2">
                  <BarChart title="Donated per day" data={days.map((x) => ({ label: x.day, value: x.donationsAmount }))} format={(v) => formatMoney(v)} />
                  <BarChart title="Donations per day" data={days.map((x) => ({ label: x.day, value: x.donationsCount }))} format={String} />
                  <BarChart title="New users per day" data={days.map((x) => ({ label: x.day, value: x.newUsers }))} format={String} />
                  <BarChart title="Loans approved per day" data={days.map((x) => ({ label: x.day, value: x.loansApproved }))} format={String} />
                </div>
              )}
            </div>
          );
        }}
      </Async>
    </div>
  );
}
