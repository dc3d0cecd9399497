import { SubNav } from '../components/Layout';

export function AccountNav() {
  return (
    <SubNav
      label="Account"
      items={[
        ['/account/settings', 'Settings'],
        ['/account/sessions', 'Sessions'],
        ['/account/api-keys', 'API keys'],
        ['/account/webhooks', 'Webhooks'],
      ]}
    />
  );
}
