import { SubNav } from '../components/Layout';

export function AdminNav() {
  return (
    <SubNav
      label="Admin"
      items={[
        ['/admin', 'Dashboard'],
        ['/admin/loans', 'Loan review'],
        ['/admin/campaigns', 'Campaigns'],
        ['/admin/users', 'Users'],
        ['/admin/refunds', 'Refunds'],
        ['/admin/jobs', 'Jobs'],
        ['/admin/reports', 'Reports'],
        ['/admin/audit-log', 'Audit log'],
        ['/admin/audit', 'Ledger audit'],
      ]}
    />
  );
}
