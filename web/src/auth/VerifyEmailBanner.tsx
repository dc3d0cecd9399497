import { useLocation } from 'react-router-dom';
import { Notice } from '../components/ui';
import { useAuth } from './AuthContext';
import { ResendVerification } from './ResendVerification';

/** Reminds a signed-in person whose address is not verified yet, with a way to get a new link. */
export function VerifyEmailBanner() {
  const { user } = useAuth();
  const { pathname } = useLocation();
  // The verification page says the rest itself.
  if (!user || user.emailVerified || pathname === '/verify-email') return null;
  return (
    <Notice tone="warn">
      <p className="mb-2">
        Please confirm your email address: we sent a link to <strong>{user.email}</strong>. Until then you can give, but not start campaigns or lend.
      </p>
      <ResendVerification />
    </Notice>
  );
}
