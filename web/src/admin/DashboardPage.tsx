import { $api } from '../api/client';
import { Async, Card, DateText, Empty, Money, PageTitle } from '../components/ui';
import { formatMoney } from '../lib/money';
import { AdminNav } from './AdminNav';
import { BarChart } from './Charts';

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
