import { useEffect, useRef, useState, type ReactNode } from 'react';
import { Link, NavLink, useLocation } from 'react-router-dom';
import { RouteNotice } from '../account/RouteNotice';
import { useAuth } from '../auth/AuthContext';
import { VerifyEmailBanner } from '../auth/VerifyEmailBanner';
import { cx } from './ui';

function Item({ to, children, onClick }: { to: string; children: ReactNode; onClick?: () => void }) {
  return (
    <NavLink
      to={to}
      end
      onClick={onClick}
      className={({ isActive }) =>
        cx('block rounded px-2 py-2 text-sm font-medium text-slate-900 no-underline hover:bg-slate-100', isActive && 'bg-emerald-50 text-emerald-900')
      }
    >
      {children}
    </NavLink>
  );
}

export function Layout({ children }: { children: ReactNode }) {
  const { user, signedIn, signOut } = useAuth();
  const [open, setOpen] = useState(false);
  const close = () => setOpen(false);
  const { pathname } = useLocation();
  // A new page (not the first one): move keyboard and screen-reader focus to its content.
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    document.getElementById('main')?.focus({ preventScroll: true });
  }, [pathname]);
  useEffect(() => {
    if (!open) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') setOpen(false);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [open]);
  return (
    <div className="min-h-screen">
      <a href="#main" className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-50 focus:bg-white focus:p-2">
        Skip to content
      </a>
      <header className="border-b border-slate-200 bg-white">
        <div className="mx-auto flex max-w-6xl items-center justify-between gap-3 px-4 py-3">
          <Link to="/" className="text-xl font-extrabold text-emerald-800 no-underline">
            Commonpot
          </Link>
          <button
            type="button"
            className="rounded border border-slate-300 px-3 py-2 text-sm lg:hidden"
            aria-expanded={open}
            aria-controls="main-nav"
            onClick={() => setOpen((o) => !o)}
          >
            Menu
          </button>
          <nav
            id="main-nav"
            aria-label="Main"
            className={cx(
              'absolute left-0 right-0 top-14 z-40 border-b border-slate-200 bg-white px-4 pb-3 lg:static lg:flex lg:border-0 lg:p-0',
              open ? 'block' : 'hidden lg:flex',
            )}
          >
            <ul className="flex flex-col gap-1 lg:flex-row lg:items-center lg:gap-2">
              <li><Item to="/" onClick={close}>Campaigns</Item></li>
              <li><Item to="/loans" onClick={close}>Loans</Item></li>
              <li><Item to="/ledger" onClick={close}>Ledger</Item></li>
              {signedIn ? (
                <>
                  <li><Item to="/wallet" onClick={close}>Wallet</Item></li>
                  <li><Item to="/my/donations" onClick={close}>My giving</Item></li>
                  <li><Item to="/my/campaigns" onClick={close}>My campaigns</Item></li>
                  <li><Item to="/my/loans" onClick={close}>My loans</Item></li>
                  <li><Item to="/my/lending" onClick={close}>My lending</Item></li>
                  <li><Item to="/account/settings" onClick={close}>Account</Item></li>
                  {user?.role === 'admin' && <li><Item to="/admin" onClick={close}>Admin</Item></li>}
                  <li>
                    <button
                      type="button"
                      className="block rounded px-2 py-2 text-sm font-medium text-slate-900 hover:bg-slate-100"
                      onClick={() => {
                        close();
                        void signOut();
                      }}
                    >
                      Sign out
                    </button>
                  </li>
                </>
              ) : (
                <>
                  <li><Item to="/login" onClick={close}>Sign in</Item></li>
                  <li><Item to="/signup" onClick={close}>Sign up</Item></li>
                </>
              )}
            </ul>
          </nav>
        </div>
      </header>
      <main id="main" tabIndex={-1} className="mx-auto max-w-6xl px-4 py-6 focus:outline-none">
        <RouteNotice />
        <VerifyEmailBanner />
        {children}
      </main>
      <footer className="mx-auto max-w-6xl px-4 py-6 text-xs text-slate-600">
        Commonpot · every movement is on a public, verifiable ledger.
      </footer>
    </div>
  );
}

export function SubNav({ label, items }: { label: string; items: Array<[string, string]> }) {
  return (
    <nav aria-label={label} className="mb-4 overflow-x-auto">
      <ul className="flex gap-1">
        {items.map(([to, text]) => (
          <li key={to}>
            <NavLink
              to={to}
              end
              className={({ isActive }) =>
                cx('block whitespace-nowrap rounded px-3 py-1.5 text-sm font-medium no-underline', isActive ? 'bg-emerald-700 text-white' : 'bg-white text-slate-900 border border-slate-200')
              }
            >
              {text}
            </NavLink>
          </li>
        ))}
      </ul>
    </nav>
  );
}
