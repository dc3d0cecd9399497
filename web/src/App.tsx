import { lazy, Suspense, type ReactNode } from 'react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { BrowserRouter, Route, Routes } from 'react-router-dom';
import { AuthProvider, RequireAuth } from './auth/AuthContext';
import { Layout } from './components/Layout';
import { Loading } from './components/ui';

// Every page is its own chunk: the shell (router, query client, layout) is all that loads first.
const BrowsePage = lazy(() => import('./campaigns/BrowsePage'));
const CampaignPage = lazy(() => import('./campaigns/CampaignPage'));
const CampaignEditorPage = lazy(() => import('./campaigns/CampaignEditorPage'));
const MyCampaignsPage = lazy(() => import('./campaigns/MyCampaignsPage'));
const LoginPage = lazy(() => import('./auth/LoginPage'));
const SignupPage = lazy(() => import('./auth/SignupPage'));
const ForgotPasswordPage = lazy(() => import('./auth/ForgotPasswordPage'));
const ResetPasswordPage = lazy(() => import('./auth/ResetPasswordPage'));
const VerifyEmailPage = lazy(() => import('./auth/VerifyEmailPage'));
const WalletPage = lazy(() => import('./wallet/WalletPage'));
const MyDonationsPage = lazy(() => import('./donate/MyDonationsPage'));
const ReceiptPage = lazy(() => import('./donate/ReceiptPage'));
const MarketplacePage = lazy(() => import('./loans/MarketplacePage'));
const LoanPage = lazy(() => import('./loans/LoanPage'));
const ApplyLoanPage = lazy(() => import('./loans/ApplyLoanPage'));
const MyLoansPage = lazy(() => import('./loans/MyLoansPage'));
const LendingPage = lazy(() => import('./loans/LendingPage'));
const DigestsPage = lazy(() => import('./ledger/DigestsPage'));
const ApiKeysPage = lazy(() => import('./account/ApiKeysPage'));
const WebhooksPage = lazy(() => import('./account/WebhooksPage'));
const SettingsPage = lazy(() => import('./account/SettingsPage'));
const SessionsPage = lazy(() => import('./account/SessionsPage'));
const AdminDashboardPage = lazy(() => import('./admin/DashboardPage'));
const AdminLoansPage = lazy(() => import('./admin/LoanQueuePage'));
const AdminCampaignsPage = lazy(() => import('./admin/CampaignsPage'));
const AdminUsersPage = lazy(() => import('./admin/UsersPage'));
const AdminRefundsPage = lazy(() => import('./admin/RefundsPage'));
const AdminJobsPage = lazy(() => import('./admin/JobsPage'));
const AdminReportsPage = lazy(() => import('./admin/ReportsPage'));
const AdminAuditPage = lazy(() => import('./admin/AuditPage'));
const AdminAuditLogPage = lazy(() => import('./admin/AuditLogPage'));

const queryClient = new QueryClient({
  defaultOptions: {
    queries: { staleTime: 15_000, retry: 1, refetchOnWindowFocus: false },
  },
});

const auth = (el: ReactNode) => <RequireAuth>{el}</RequireAuth>;
const admin = (el: ReactNode) => <RequireAuth admin>{el}</RequireAuth>;

export function App() {
  return (
    <QueryClientProvider client={queryClient}>
      <BrowserRouter>
        <AuthProvider>
          <Layout>
            <Suspense fallback={<Loading />}>
              <Routes>
                <Route path="/" element={<BrowsePage />} />
                <Route path="/campaigns/new" element={auth(<CampaignEditorPage />)} />
                <Route path="/campaigns/:id" element={<CampaignPage />} />
                <Route path="/campaigns/:id/manage" element={auth(<CampaignEditorPage />)} />
                <Route path="/my/campaigns" element={auth(<MyCampaignsPage />)} />
                <Route path="/login" element={<LoginPage />} />
                <Route path="/signup" element={<SignupPage />} />
                <Route path="/forgot-password" element={<ForgotPasswordPage />} />
                <Route path="/reset-password" element={<ResetPasswordPage />} />
                <Route path="/verify-email" element={<VerifyEmailPage />} />
                <Route path="/wallet" element={auth(<WalletPage />)} />
                <Route path="/my/donations" element={auth(<MyDonationsPage />)} />
                <Route path="/my/donations/:id/receipt" element={auth(<ReceiptPage />)} />
                <Route path="/loans" element={<MarketplacePage />} />
                <Route path="/loans/apply" element={auth(<ApplyLoanPage />)} />
                <Route path="/loans/:id" element={<LoanPage />} />
                <Route path="/my/loans" element={auth(<MyLoansPage />)} />
                <Route path="/my/lending" element={auth(<LendingPage />)} />
                <Route path="/ledger" element={<DigestsPage />} />
                <Route path="/account/api-keys" element={auth(<ApiKeysPage />)} />
                <Route path="/account/webhooks" element={auth(<WebhooksPage />)} />
                <Route path="/account/settings" element={auth(<SettingsPage />)} />
                <Route path="/account/sessions" element={auth(<SessionsPage />)} />
                <Route path="/admin" element={admin(<AdminDashboardPage />)} />
                <Route path="/admin/loans" element={admin(<AdminLoansPage />)} />
                <Route path="/admin/campaigns" element={admin(<AdminCampaignsPage />)} />
                <Route path="/admin/users" element={admin(<AdminUsersPage />)} />
                <Route path="/admin/refunds" element={admin(<AdminRefundsPage />)} />
                <Route path="/admin/jobs" element={admin(<AdminJobsPage />)} />
                <Route path="/admin/reports" element={admin(<AdminReportsPage />)} />
                <Route path="/admin/audit" element={admin(<AdminAuditPage />)} />
                <Route path="/admin/audit-log" element={admin(<AdminAuditLogPage />)} />
                <Route path="*" element={<p className="py-8">Page not found.</p>} />
              </Routes>
            </Suspense>
          </Layout>
        </AuthProvider>
      </BrowserRouter>
    </QueryClientProvider>
  );
}
