// Browser tests against the real system (see harness.mjs). Prints "N passed, N failed".
// Screenshots of every main page at desktop and phone width go to e2e/screenshots/, each checked
// with axe (no serious or critical violation allowed).
import { createHmac } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import AxeBuilderModule from '@axe-core/playwright';
import { log, start, stop } from './harness.mjs';

const AxeBuilder = AxeBuilderModule.default ?? AxeBuilderModule;
const SHOTS = resolve(import.meta.dirname, 'screenshots');
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };
const T = 15_000;

let sys;
let browser;
const results = [];
const a11yFailures = [];
const notes = [];
// Every admin action the browser takes, as the audit log should record it (checked at the end).
const adminActions = [];
function expectAudit(action, targetType, targetId, reason = null) {
  adminActions.push({ action, targetType, targetId, reason });
}

// ---------- API helpers (the tests' own setup and checks, beside the browser) ----------
async function api(method, path, { token, body, headers = {} } = {}) {
  const res = await fetch(`${sys.apiUrl}${path}`, {
    method,
    headers: {
      ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
      ...(token ? { Authorization: `Bearer ${token}` } : {}),
      ...headers,
    },
    body: body !== undefined ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${text}`);
  return data;
}

let userSeq = 0;
/** A registered user; `verify` follows the mailed verification link, which creating campaigns and lending need. */
async function newUser(first, { deposit = 0, verify = false } = {}) {
  userSeq += 1;
  const email = `${first.toLowerCase()}-${process.pid}-${userSeq}@e2e.test`;
  const password = 'e2e-password-123';
  const auth = await api('POST', '/api/auth/register', { body: { email, password, firstName: first, lastName: 'Tester' } });
  if (verify) {
    const link = await eventually('the verification mail', async () => mailedLink(email, '/verify-email'));
    await api('POST', '/api/auth/verify-email', { body: { token: link.searchParams.get('token') } });
  }
  if (deposit) {
    await api('POST', '/api/wallet/deposits', { token: auth.accessToken, body: { amount: deposit }, headers: { 'Idempotency-Key': crypto.randomUUID() } });
  }
  return { email, password, first, auth, token: auth.accessToken, id: auth.user.id };
}

async function adminLogin() {
  return api('POST', '/api/auth/login', { body: { email: sys.env.ADMIN_EMAIL, password: sys.env.ADMIN_PASSWORD } });
}

async function newCampaign(owner, title, goal = 100_000) {
  const c = await api('POST', '/api/campaigns', {
    token: owner.token,
    body: { title, description: `${title}: an end-to-end test campaign with a long enough description.`, goalAmount: goal, currency: 'USD', category: 'community', fundingModel: 'keep_it_all' },
  });
  await api('POST', `/api/campaigns/${c.id}/publish`, { token: owner.token });
  return c;
}

async function eventually(what, fn, ms = 20_000) {
  const until = Date.now() + ms;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** The link to `path` mailed to `email` (the worker writes one .eml file per message to MAIL_DIR). */
function mailedLink(email, path) {
  const dir = sys.env.MAIL_DIR;
  if (!existsSync(dir)) return null;
  for (const f of readdirSync(dir)) {
    // Undo quoted-printable soft line breaks and escaped '=' so the link reads whole.
    const mail = readFileSync(join(dir, f), 'utf8').replace(/=\r?\n/g, '').replace(/=3D/g, '=');
    if (!mail.includes(`To: ${email}`)) continue;
    const link = new RegExp(`\\S+${path}\\?token=\\S+`).exec(mail);
    if (link) return new URL(link[0]);
  }
  return null;
}

// ---------- browser helpers ----------
async function context(user) {
  const ctx = await browser.newContext({ viewport: DESKTOP, baseURL: sys.baseUrl });
  ctx.setDefaultTimeout(T);
  const page = await ctx.newPage();
  page.on('pageerror', (e) => log('page error:', e.message));
  if (user) {
    await page.goto('/ledger');
    const auth = user.auth ?? user;
    await page.evaluate((a) => {
      localStorage.setItem('commonpot.auth', JSON.stringify({ accessToken: a.accessToken, refreshToken: a.refreshToken, expiresAt: Date.now() + a.expiresIn * 1000 }));
    }, auth);
  }
  return { ctx, page };
}

async function shoot(page, name) {
  // Every section has loaded (no "Loading…" status left).
  await page.waitForFunction(() => ![...document.querySelectorAll('[role="status"]')].some((e) => /Loading/.test(e.textContent ?? '')));
  for (const [label, size] of [['desktop', DESKTOP], ['phone', PHONE]]) {
    await page.setViewportSize(size);
    await page.waitForTimeout(150);
    await page.screenshot({ path: join(SHOTS, `${name}-${label}.png`), fullPage: true });
    const axe = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
    for (const v of axe.violations) {
      if (v.impact === 'serious' || v.impact === 'critical') {
        a11yFailures.push(`${name} (${label}): ${v.id} [${v.impact}] ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(' | ')}`);
      }
    }
  }
  await page.setViewportSize(DESKTOP);
}

async function visit(page, path, name, ready) {
  await page.goto(path);
  await ready(page);
  await shoot(page, name);
}

const heading = (page, name) => page.getByRole('heading', { level: 1, name }).waitFor();

async function test(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    results.push({ name, ok: true });
    log(`✓ ${name} (${((Date.now() - t0) / 1000).toFixed(1)}s)`);
  } catch (e) {
    results.push({ name, ok: false, error: e });
    log(`✗ ${name}: ${e.stack ?? e}`);
  }
}

// Tiny PNG (1x1) and PDF for uploads.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');
const PDF = Buffer.from('%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj 3 0 obj<</Type/Page/MediaBox[0 0 3 3]/Parent 2 0 R>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n');

// ---------- the scenarios ----------
async function donorFlow() {
  const creator = await newUser('Creator', { verify: true });
  const camp = await newCampaign(creator, `Live progress ${process.pid}`, 10_000);

  const a = await context();
  // Sign up in the browser.
  await a.page.goto('/signup');
  await shootOnce(a.page, 'signup', () => heading(a.page, 'Create your account'));
  const email = `donor-${process.pid}@e2e.test`;
  await a.page.getByLabel('First name').fill('Dana');
  await a.page.getByLabel('Last name').fill('Donor');
  await a.page.getByLabel('Email').fill(email);
  await a.page.getByLabel('Password').fill('short');
  await a.page.getByRole('button', { name: 'Sign up' }).click();
  // The API's field error is shown next to the field.
  await a.page.getByRole('alert').filter({ hasText: /password must be/i }).waitFor();
  const describedBy = await a.page.getByLabel('Password').getAttribute('aria-describedby');
  if (!(await a.page.locator(`[id="${describedBy}"]`).textContent())?.match(/password must be/i)) throw new Error('field error not tied to the password field');
  await a.page.getByLabel('Password').fill('donor-password-123');
  await a.page.getByRole('button', { name: 'Sign up' }).click();
  await heading(a.page, 'Campaigns');

  // The new address waits for the mailed link; following it in the browser verifies it.
  const unverified = a.page.getByText('Please confirm your email address');
  await unverified.waitFor();
  const verifyLink = await eventually('the verification mail', async () => mailedLink(email, '/verify-email'));
  if (verifyLink.origin !== sys.apiUrl) throw new Error(`the verification link points at ${verifyLink.origin}, not ${sys.apiUrl}`);
  await a.page.goto(verifyLink.pathname + verifyLink.search);
  await a.page.getByText('Your email address is verified').waitFor();
  await shoot(a.page, 'verify-email');

  // Deposit.
  await a.page.goto('/wallet');
  await heading(a.page, 'Wallet');
  if (await unverified.count()) throw new Error('the verification banner stayed after the link was followed');
  await a.page.getByLabel('Amount (USD)').fill('100');
  await a.page.getByRole('button', { name: 'Deposit' }).click();
  await a.page.getByText('Deposit of $100.00').waitFor();
  await a.page.getByTestId('balance').getByText('$100.00').waitFor();
  await shoot(a.page, 'wallet');

  // Donate and watch the bar move without reloading.
  await a.page.goto(`/campaigns/${camp.id}`);
  await heading(a.page, camp.title);
  await a.page.getByText('Live: updates as gifts arrive.').waitFor();
  await a.page.evaluate(() => {
    window.__noReload = true;
  });
  await a.page.getByRole('button', { name: '$25', exact: true }).click();
  await a.page.getByLabel('Message (optional)').fill('From the browser');
  await a.page.getByRole('button', { name: 'Donate $25.00' }).click();
  await a.page.getByText('Thank you! You gave $25.00.').waitFor();
  await a.page.getByTestId('raised').getByText('$25.00').waitFor();
  await a.page.getByRole('progressbar', { name: 'Funding progress' }).and(a.page.locator('[aria-valuenow="25"]')).waitFor();

  // A second person donates anonymously in another browser context; the first page sees it.
  const other = await newUser('Olive', { deposit: 10_000 });
  const b = await context();
  await b.page.goto(`/login?next=${encodeURIComponent(`/campaigns/${camp.id}`)}`);
  await b.page.getByLabel('Email').fill(other.email);
  await b.page.getByLabel('Password').fill(other.password);
  await b.page.getByRole('button', { name: 'Sign in' }).click();
  await heading(b.page, camp.title);
  await b.page.getByRole('button', { name: '$50', exact: true }).click();
  await b.page.getByLabel('Give anonymously').check();
  await b.page.getByRole('button', { name: 'Donate $50.00' }).click();
  await b.page.getByText('Thank you! You gave $50.00.').waitFor();

  await a.page.getByTestId('raised').getByText('$75.00').waitFor();
  await a.page.locator('[role="progressbar"][aria-valuenow="75"]').waitFor();
  if (!(await a.page.evaluate(() => window.__noReload === true))) throw new Error('the campaign page reloaded');
  await a.page.getByTestId('donors').getByText('Anonymous').waitFor();
  await a.page.getByTestId('donors').getByText('Dana D').first().waitFor().catch(async () => {
    await a.page.getByTestId('donors').getByText(/Dana/).first().waitFor();
  });
  await shoot(a.page, 'campaign');
  await b.ctx.close();

  // Double-clicking Donate gives once.
  const camp2 = await newCampaign(creator, `Double click ${process.pid}`);
  await a.page.goto(`/campaigns/${camp2.id}`);
  await heading(a.page, camp2.title);
  await a.page.getByRole('button', { name: 'Donate $25.00' }).dblclick();
  await a.page.getByText('Thank you! You gave $25.00.').waitFor();
  await a.page.waitForTimeout(1000);
  const token = await a.page.evaluate(() => JSON.parse(localStorage.getItem('commonpot.auth')).accessToken);
  const mine = await api('GET', '/api/donations/me?limit=100', { token });
  const toCamp2 = mine.items.filter((d) => d.campaignId === camp2.id);
  if (toCamp2.length !== 1) throw new Error(`expected exactly one donation after a double click, found ${toCamp2.length}`);
  const pub = await api('GET', `/api/campaigns/${camp2.id}/donations`);
  if (pub.total !== 1) throw new Error(`campaign shows ${pub.total} donations after a double click`);

  // A monthly gift: start it on the campaign page, pause and resume it under My giving.
  await a.page.getByText('Give monthly instead').click();
  await a.page.getByLabel('Monthly amount (USD)').fill('5');
  await a.page.getByLabel('Day of the month (1–28)').fill('15');
  await a.page.getByRole('button', { name: 'Start monthly gift' }).click();
  await a.page.getByText(/Monthly gift of \$5\.00 set up/).waitFor();
  await a.page.goto('/my/donations');
  await heading(a.page, 'My giving');
  await a.page.getByRole('button', { name: /^Pause plan/ }).click();
  await a.page.getByRole('button', { name: /^Resume plan/ }).click();
  await a.page.getByRole('button', { name: /^Pause plan/ }).waitFor();
  await visit(a.page, '/my/donations', 'my-donations', (p) => heading(p, 'My giving'));
  await a.ctx.close();
}

const shotDone = new Set();
async function shootOnce(page, name, ready) {
  await ready();
  if (shotDone.has(name)) return;
  shotDone.add(name);
  await shoot(page, name);
}

async function creatorFlow() {
  const creator = await newUser('Carmen', { verify: true });
  const { ctx, page } = await context(creator);
  await visit(page, '/campaigns/new', 'campaign-new', (p) => heading(p, 'Start a campaign'));
  const title = `Community garden ${process.pid}`;
  await page.getByLabel('Title').fill(title);
  await page.getByLabel('Description').fill('Raised beds, tools and seeds for the whole street to share.');
  await page.getByLabel('Goal (USD)').fill('1,000.50');
  await page.getByLabel('Category').selectOption('environment');
  await page.getByRole('button', { name: 'Create draft' }).click();
  await heading(page, `Manage: ${title}`);
  const id = page.url().split('/campaigns/')[1].split('/')[0];
  const draft = await api('GET', `/api/campaigns/${id}`, { token: creator.token });
  if (draft.goalAmount !== 100050 || draft.status !== 'draft') throw new Error(`unexpected draft ${JSON.stringify(draft)}`);

  await page.getByLabel(/^Image/).setInputFiles({ name: 'garden.png', mimeType: 'image/png', buffer: PNG });
  await page.getByRole('button', { name: 'Upload image' }).click();
  await page.getByRole('img', { name: 'Campaign image' }).first().waitFor();

  await page.getByRole('button', { name: 'Publish' }).click();
  await page.getByText('Published: the campaign now takes donations.').waitFor();
  await page.getByRole('button', { name: 'Publish' }).waitFor({ state: 'detached' });

  // Someone gives, then the creator withdraws part of it.
  const donor = await newUser('Gus', { deposit: 5_000 });
  await api('POST', `/api/donations/campaign/${id}`, { token: donor.token, body: { amount: 2_000 }, headers: { 'Idempotency-Key': crypto.randomUUID() } });
  await page.reload();
  await page.getByRole('heading', { name: 'Withdraw to your wallet' }).waitFor();
  await page.getByRole('form', { name: 'Withdraw funds' }).getByLabel('Amount (USD)').fill('5');
  await page.getByRole('button', { name: 'Withdraw', exact: true }).click();
  await page.getByText('Withdrew 5.00 USD to your wallet.').waitFor();
  await shoot(page, 'campaign-manage');
  const wallet = await api('GET', '/api/wallet', { token: creator.token });
  if (wallet.balance !== 500) throw new Error(`creator wallet is ${wallet.balance}, expected 500`);

  await visit(page, '/my/campaigns', 'my-campaigns', (p) => p.getByRole('link', { name: title, exact: true }).waitFor());
  await ctx.close();
}

async function loanFlow() {
  const borrower = await newUser('Bea');
  const lender = await newUser('Leo', { deposit: 50_000, verify: true });
  const admin = await adminLogin();

  // The borrower applies and uploads a document.
  const bb = await context(borrower);
  await visit(bb.page, '/loans/apply', 'loan-apply', (p) => heading(p, 'Apply for a loan'));
  await bb.page.getByLabel('Amount (USD)').fill('300');
  await bb.page.getByLabel('Term').selectOption('3');
  await bb.page.getByLabel('Purpose').fill('Sewing machine');
  await bb.page.getByLabel('Tell lenders about it').fill('A second sewing machine doubles what my shop can make each week.');
  await bb.page.getByRole('button', { name: 'Submit application' }).click();
  await heading(bb.page, 'Sewing machine');
  const loanId = bb.page.url().split('/loans/')[1];
  await bb.page.getByLabel(/^Document/).setInputFiles({ name: 'plan.pdf', mimeType: 'application/pdf', buffer: PDF });
  await bb.page.getByRole('button', { name: 'Upload document' }).click();
  await bb.page.getByText('Document uploaded.').waitFor();
  await bb.page.getByRole('list', { name: 'Uploaded documents' }).getByRole('link').first().waitFor();
  await shoot(bb.page, 'loan-borrower');

  // The worker scores it; an admin approves it in the review queue.
  await eventually('the loan to be scored', async () => (await api('GET', `/api/loans/${loanId}`, { token: borrower.token })).status === 'pending_review');
  const ad = await context(admin);
  await visit(ad.page, '/admin/loans', 'admin-loans', (p) => p.getByRole('link', { name: 'Sewing machine' }).first().waitFor());
  await ad.page.getByText(/Score \d+/).first().waitFor();
  await ad.page.getByRole('button', { name: 'Approve loan Sewing machine' }).first().click();
  await eventually('approval', async () => (await api('GET', `/api/loans/${loanId}`, { token: borrower.token })).status === 'fundraising');
  expectAudit('loan.approved', 'loan', loanId);

  // Another application is rejected, with the reason the borrower is told.
  const other = await newUser('Rex');
  const purpose = `Market stall ${process.pid}`;
  const rejected = await api('POST', '/api/loans', {
    token: other.token,
    body: { amount: 20_000, termMonths: 6, purpose, description: 'A stall at the Saturday market, with a canopy and two tables.' },
  });
  await eventually('the second loan to be scored', async () => (await api('GET', `/api/loans/${rejected.id}`, { token: other.token })).status === 'pending_review');
  await ad.page.reload();
  await ad.page.getByRole('button', { name: `Reject loan ${purpose}` }).click();
  const rejectForm = ad.page.getByRole('form', { name: `Reject loan ${purpose}` });
  const rejectReason = 'The stall plan has no costs or expected takings yet.';
  await rejectForm.getByLabel(/^Why reject it\?/).fill(rejectReason);
  await rejectForm.getByRole('button', { name: 'Reject loan' }).click();
  await eventually('rejection', async () => (await api('GET', `/api/loans/${rejected.id}`, { token: other.token })).status === 'rejected');
  expectAudit('loan.rejected', 'loan', rejected.id, rejectReason);

  // A lender finds it in the marketplace and funds it.
  const ll = await context(lender);
  await visit(ll.page, '/loans', 'loans', (p) => p.getByRole('link', { name: 'Sewing machine' }).first().waitFor());
  await ll.page.getByText('$300.00 left to fund').first().waitFor();
  await ll.page.goto(`/loans/${loanId}`);
  await heading(ll.page, 'Sewing machine');
  await ll.page.getByLabel('Amount (USD)').fill('300');
  await ll.page.getByRole('button', { name: 'Lend', exact: true }).click();
  await ll.page.getByText('You lent $300.00.').waitFor();
  await shoot(ll.page, 'loan');
  await eventually('disbursement', async () => ['active'].includes((await api('GET', `/api/loans/${loanId}`, { token: borrower.token })).status));

  // The borrower sees the schedule and repays.
  await bb.page.reload();
  await bb.page.getByRole('heading', { name: 'Repayment schedule' }).waitFor();
  await bb.page.getByRole('form', { name: 'Repay' }).getByLabel('Amount (USD)').fill('100');
  await bb.page.getByRole('button', { name: 'Repay', exact: true }).click();
  await bb.page.getByText(/Repaid \$100\.00\. Outstanding: \$200\.00\./).waitFor();
  await visit(bb.page, '/my/loans', 'my-loans', (p) => p.getByRole('link', { name: 'Sewing machine' }).waitFor());

  // The lender sees the repayment: their share on the loan page and the money in the wallet.
  await ll.page.goto(`/loans/${loanId}`);
  await ll.page.getByText('Repaid $100.00 of $300.00').waitFor();
  const seen = await api('GET', `/api/loans/${loanId}`, { token: lender.token });
  if (seen.lenders?.some((l) => l.lenderId === lender.id)) await ll.page.getByTestId('my-share').getByText('You lent $300.00').waitFor();
  else notes.push('GET /api/loans/{id} does not show a lender their own share (lenders list omitted); the lender sees repayments in the wallet.');
  await ll.page.goto('/wallet');
  await ll.page.getByTestId('balance').getByText('$300.00').waitFor(); // 500 - 300 + 100
  await ll.page.getByRole('cell', { name: '$100.00', exact: true }).first().waitFor();
  await bb.ctx.close();
  await ll.ctx.close();
  await ad.ctx.close();
}

async function moderationFlow() {
  const creator = await newUser('Sam', { verify: true });
  const donor = await newUser('Dora', { deposit: 5_000 });
  const title = `Suspicious raffle ${process.pid}`;
  const camp = await newCampaign(creator, title);
  const search = `/?q=${encodeURIComponent(title)}`;
  const anon = await context();
  await anon.page.goto(search);
  await anon.page.getByRole('link', { name: title }).waitFor();

  const admin = await adminLogin();
  const asAdmin = async () => api('GET', `/api/campaigns/${camp.id}`, { token: admin.accessToken });
  const ad = await context(admin);
  await ad.page.goto('/admin/campaigns');
  await ad.page.getByLabel('Search').fill(title);

  // Suspend: the reason is asked for, and the server's refusal of a blank one is shown by the field.
  await ad.page.getByRole('button', { name: `Suspend ${title}` }).click();
  const suspendForm = ad.page.getByRole('form', { name: `Suspend ${title}` });
  await suspendForm.getByRole('button', { name: 'Suspend campaign' }).click();
  await suspendForm.getByRole('alert').filter({ hasText: /reason is required/i }).waitFor();
  if ((await asAdmin()).status !== 'active') throw new Error('a suspension without a reason went through');
  const suspendReason = 'The raffle prizes do not exist (reported by three donors).';
  await suspendForm.getByLabel(/^Why suspend it\?/).fill(suspendReason);
  await suspendForm.getByRole('button', { name: 'Suspend campaign' }).click();
  await eventually('suspension', async () => (await asAdmin()).status === 'suspended');
  expectAudit('campaign.suspended', 'campaign', camp.id, suspendReason);
  await ad.page.getByLabel('Status').selectOption('suspended');
  await ad.page.getByRole('button', { name: `Reinstate ${title}` }).waitFor();
  await shoot(ad.page, 'admin-campaigns');

  // Hidden from the public: gone from browse, its page and API answer 404.
  await eventually('the campaign to leave browse', async () => {
    await anon.page.goto(search);
    await anon.page.getByText('No campaigns match').waitFor({ timeout: 3000 });
    return true;
  });
  const hidden = await fetch(`${sys.apiUrl}/api/campaigns/${camp.id}`);
  if (hidden.status !== 404) throw new Error(`a suspended campaign answers ${hidden.status} to the public`);
  await anon.page.goto(`/campaigns/${camp.id}`);
  await anon.page.getByRole('alert').waitFor();
  if (await anon.page.getByRole('heading', { level: 1, name: title }).count()) throw new Error('the public still sees the suspended campaign');

  // Its creator still sees it, marked as suspended.
  const cr = await context(creator);
  await visit(cr.page, '/my/campaigns', 'my-campaigns-suspended', (p) => p.getByRole('heading', { name: 'Suspended by the moderators' }).waitFor());
  await cr.page.getByRole('region', { name: 'Your suspended campaigns' }).getByRole('link', { name: title, exact: true }).waitFor();
  await cr.page.goto(`/campaigns/${camp.id}`);
  await heading(cr.page, title);
  await cr.page.getByText(/Suspended by the moderators: only you and admins can see this campaign/).waitFor();
  await shoot(cr.page, 'campaign-suspended');
  await cr.ctx.close();

  // Reinstate, with a reason.
  await ad.page.getByRole('button', { name: `Reinstate ${title}` }).click();
  const reinstateReason = 'The creator showed the prizes and the raffle licence.';
  const reinstateForm = ad.page.getByRole('form', { name: `Reinstate ${title}` });
  await reinstateForm.getByLabel(/^Why reinstate it\?/).fill(reinstateReason);
  await reinstateForm.getByRole('button', { name: 'Reinstate campaign' }).click();
  await eventually('reinstatement', async () => (await asAdmin()).status === 'active');
  expectAudit('campaign.reinstated', 'campaign', camp.id, reinstateReason);

  // Feature it: the public finds it under "Featured only", badged; then unfeature it.
  await ad.page.getByLabel('Status').selectOption('active');
  await ad.page.getByRole('button', { name: `Feature ${title}` }).click();
  await ad.page.getByRole('button', { name: `Unfeature ${title}` }).waitFor();
  expectAudit('campaign.featured', 'campaign', camp.id);
  await anon.page.goto(search);
  await anon.page.getByLabel('Featured only').check();
  await anon.page.waitForURL(/featured=true/);
  const card = anon.page.getByRole('article').filter({ has: anon.page.getByRole('link', { name: title }) });
  await card.getByText('Featured', { exact: true }).waitFor();
  await shoot(anon.page, 'browse-featured');
  await ad.page.getByRole('button', { name: `Unfeature ${title}` }).click();
  await ad.page.getByRole('button', { name: `Feature ${title}` }).waitFor();
  expectAudit('campaign.unfeatured', 'campaign', camp.id);
  // The campaign's own page is cached and invalidated through the outbox: it follows shortly.
  await eventually('the campaign to read as not featured', async () => !(await asAdmin()).featured);
  await eventually('the campaign to leave the featured list', async () => {
    await anon.page.reload();
    await anon.page.getByText('No campaigns match').waitFor({ timeout: 3000 });
    return true;
  });

  // Refund a donation to it, with a reason; the money goes back to the donor's wallet.
  const gift = await api('POST', `/api/donations/campaign/${camp.id}`, { token: donor.token, body: { amount: 1_200 }, headers: { 'Idempotency-Key': crypto.randomUUID() } });
  await ad.page.goto('/admin/refunds');
  await ad.page.getByLabel('Find a campaign').fill(title);
  await ad.page.getByLabel('Campaign', { exact: true }).selectOption({ label: `${title} (active)` });
  await ad.page.getByRole('button', { name: 'Refund $12.00 from Dora T.' }).click();
  const refundForm = ad.page.getByRole('form', { name: 'Refund $12.00 from Dora T.' });
  const refundReason = 'Donor gave to the wrong campaign by mistake.';
  await refundForm.getByLabel(/^Why refund it\?/).fill(refundReason);
  await shoot(ad.page, 'admin-refund-reason');
  await refundForm.getByRole('button', { name: 'Refund donation' }).click();
  await ad.page.getByText('Refunded $12.00.').waitFor();
  expectAudit('donation.refunded', 'donation', gift.id, refundReason);
  const wallet = await api('GET', '/api/wallet', { token: donor.token });
  if (wallet.balance !== 5_000) throw new Error(`donor wallet is ${wallet.balance} after the refund, expected 5000`);
  await anon.ctx.close();
  await ad.ctx.close();
}

async function passwordResetFlow() {
  const user = await newUser('Rita');
  const elsewhere = await api('POST', '/api/auth/login', { body: { email: user.email, password: user.password } });
  const { ctx, page } = await context();
  await page.goto('/login');
  await page.getByRole('link', { name: 'Forgot password?' }).click();
  await heading(page, 'Reset your password');
  await page.getByLabel('Email').fill(user.email);
  await page.getByRole('button', { name: 'Send reset link' }).click();
  await page.getByText('If an account exists for that address').waitFor();
  await shoot(page, 'forgot-password');

  // The worker sends the mail; the link points at PUBLIC_URL (the api), the page may be on vite preview.
  const link = await eventually('the reset mail', async () => mailedLink(user.email, '/reset-password'));
  if (link.origin !== sys.apiUrl) throw new Error(`the reset link points at ${link.origin}, not ${sys.apiUrl}`);
  await page.goto(link.pathname + link.search);
  await heading(page, 'Choose a new password');
  const newPassword = 'a-new-e2e-password';
  await page.getByLabel('New password', { exact: true }).fill(newPassword);
  await page.getByLabel('Repeat the new password').fill(`${newPassword}!`);
  await page.getByRole('button', { name: 'Set new password' }).click();
  await page.getByText('The two passwords do not match.').waitFor();
  await shoot(page, 'reset-password');
  await page.getByLabel('Repeat the new password').fill(newPassword);
  await page.getByRole('button', { name: 'Set new password' }).click();
  await page.getByText('Your new password is set').waitFor();

  // Every earlier session ended, and the link works once.
  const old = await fetch(`${sys.apiUrl}/api/users/me`, { headers: { Authorization: `Bearer ${elsewhere.accessToken}` } });
  if (old.status !== 401) throw new Error(`a session from before the reset answers ${old.status}`);
  await page.goto(link.pathname + link.search);
  await page.getByLabel('New password', { exact: true }).fill(`${newPassword}-again`);
  await page.getByLabel('Repeat the new password').fill(`${newPassword}-again`);
  await page.getByRole('button', { name: 'Set new password' }).click();
  await page.getByText('This reset link is invalid, has expired or was already used.').waitFor();

  // Sign in with the new password; another device signed in meanwhile is listed and signed out.
  await page.goto('/login?next=%2Faccount%2Fsessions');
  await page.getByLabel('Email').fill(user.email);
  await page.getByLabel('Password').fill(newPassword);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await heading(page, 'Sessions');
  const other = await api('POST', '/api/auth/login', { body: { email: user.email, password: newPassword } });
  await page.reload();
  const rows = page.getByRole('table', { name: 'Your sessions' }).locator('tbody tr');
  await eventually('both sessions listed', async () => (await rows.count()) === 2);
  if ((await rows.filter({ hasText: 'This device' }).count()) !== 1) throw new Error('expected exactly one session marked "This device"');
  await shoot(page, 'sessions');
  await page.getByRole('button', { name: 'Sign out all other sessions' }).click();
  await page.getByText('Signed out 1 other session.').waitFor();
  await eventually('one session left', async () => (await rows.count()) === 1);
  const ended = await fetch(`${sys.apiUrl}/api/users/me`, { headers: { Authorization: `Bearer ${other.accessToken}` } });
  if (ended.status !== 401) throw new Error(`a signed-out session answers ${ended.status}`);
  await ctx.close();
}

async function payoutFlow() {
  const u = await newUser('Payee', { deposit: 20_000, verify: true });
  const { ctx, page } = await context(u);
  await page.goto('/wallet');
  await heading(page, 'Wallet');
  const add = page.getByRole('form', { name: 'Add bank account' });
  await add.getByLabel('Account number').fill('000123456789');
  await add.getByLabel('Routing number').fill('110000000');
  await add.getByRole('button', { name: 'Add bank account' }).click();
  await page.getByRole('list', { name: 'Bank accounts' }).getByText('Sandbox Bank ending 6789').waitFor();
  const pay = page.getByRole('form', { name: 'Pay out' });
  await pay.getByLabel('Amount (USD)').fill('50');
  await pay.getByRole('button', { name: 'Pay out' }).click();
  await pay.getByText('$49.75 reaches your bank').waitFor();
  await page.getByTestId('balance').getByText('$150.00').waitFor();
  const [payout] = (await api('GET', '/api/wallet/payouts', { token: u.token })).items;
  if (payout.status !== 'pending' || payout.amount !== 5_000) throw new Error(`payout is ${JSON.stringify(payout)}`);
  // The provider confirms through its signed webhook; the page picks it up on its own.
  const body = JSON.stringify({ id: `evt_${crypto.randomUUID()}`, type: 'payout.paid', data: { payoutId: payout.id, amount: 5_000 } });
  const t = Math.floor(Date.now() / 1000);
  const sig = createHmac('sha256', sys.env.PAYMENTS_WEBHOOK_SECRET).update(`${t}.${body}`).digest('hex');
  const res = await fetch(`${sys.apiUrl}/api/payments/webhook`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'Payment-Signature': `t=${t},v1=${sig}` }, body });
  if (!res.ok) throw new Error(`payout webhook → ${res.status} ${await res.text()}`);
  await page.getByRole('region', { name: 'Payouts' }).getByRole('cell', { name: /^Paid/ }).waitFor({ timeout: 25_000 });
  await shoot(page, 'wallet-payouts');
  await ctx.close();
}

async function pagesTour() {
  const admin = await adminLogin();
  const anon = await context();
  await visit(anon.page, '/', 'browse', (p) => p.getByRole('article').first().waitFor());
  await visit(anon.page, '/login', 'login', (p) => heading(p, 'Sign in'));
  await visit(anon.page, '/ledger', 'ledger-digests', (p) => heading(p, 'Published ledger digests'));
  // 401 → sign in, then back to the page asked for.
  await anon.page.goto('/wallet');
  await heading(anon.page, 'Sign in');
  if (!anon.page.url().includes('next=%2Fwallet')) throw new Error(`no return path in ${anon.page.url()}`);
  const demo = { email: 'demo@commonpot.local', password: 'demo-password-123' };
  await anon.page.getByLabel('Email').fill(demo.email);
  await anon.page.getByLabel('Password').fill(demo.password);
  await anon.page.getByRole('button', { name: 'Sign in' }).click();
  await heading(anon.page, 'Wallet');
  await visit(anon.page, '/account/settings', 'settings', (p) => p.getByLabel('First name').waitFor());
  await anon.page.getByRole('button', { name: 'Create key' }).waitFor({ state: 'detached' }).catch(() => {});
  await anon.page.goto('/account/api-keys');
  await anon.page.getByLabel('Key name').fill('e2e key');
  await anon.page.getByRole('button', { name: 'Create key' }).click();
  await anon.page.getByText('it is shown only once').waitFor();
  await shoot(anon.page, 'api-keys');
  await visit(anon.page, '/account/webhooks', 'webhooks', (p) => heading(p, 'Outgoing webhooks'));
  await anon.ctx.close();

  const ad = await context(admin);
  await visit(ad.page, '/admin', 'admin-dashboard', (p) => p.getByRole('table', { name: 'Activity today and over the last 30 days' }).getByText('Approval rate').waitFor());
  await visit(ad.page, '/admin/users', 'admin-users', (p) => p.getByRole('table').waitFor());
  const uma = await newUser('Uma');
  await ad.page.getByLabel('Search by name or email').fill(uma.email);
  await ad.page.getByLabel('Tier of Uma Tester').selectOption('premium');
  await eventually('the tier change', async () => (await api('GET', `/api/admin/users?q=${encodeURIComponent(uma.email)}`, { token: admin.accessToken })).items[0]?.tier === 'premium');
  expectAudit('user.updated', 'user', uma.id);
  await visit(ad.page, '/admin/refunds', 'admin-refunds', (p) => heading(p, 'Refunds'));
  await visit(ad.page, '/admin/jobs', 'admin-jobs', (p) => p.getByRole('heading', { name: 'Dead letters' }).waitFor());
  await visit(ad.page, '/admin/reports', 'admin-reports', (p) => heading(p, 'Reports'));
  await ad.page.getByRole('button', { name: 'Generate' }).click();
  await ad.page.getByText(/donations by campaign/).first().waitFor();
  const [reportId] = await ad.page.evaluate(() => JSON.parse(localStorage.getItem('commonpot.reports') ?? '[]'));
  expectAudit('report.requested', 'report', reportId);
  await visit(ad.page, '/admin/audit', 'admin-audit', (p) => p.getByText(/ledger lines checked/).waitFor());
  await ad.ctx.close();
}

async function auditLogCheck() {
  const admin = await adminLogin();
  const entries = [];
  for (let before; ; ) {
    const page = await api('GET', `/api/admin/audit-log?limit=100${before ? `&before=${before}` : ''}`, { token: admin.accessToken });
    entries.push(...page.entries);
    if (!page.nextBefore) break;
    before = page.nextBefore;
  }
  for (let i = 1; i < entries.length; i++) if (entries[i].id >= entries[i - 1].id) throw new Error('the audit log is not newest first');
  const problems = [];
  const left = [...entries];
  for (const x of adminActions) {
    const i = left.findIndex((e) => e.action === x.action && e.targetType === x.targetType && e.targetId === x.targetId);
    if (i < 0) {
      problems.push(`missing: ${x.action} ${x.targetType} ${x.targetId}`);
      continue;
    }
    const [e] = left.splice(i, 1);
    if (e.actorId !== admin.user.id || e.actorEmail !== sys.env.ADMIN_EMAIL) problems.push(`${x.action}: actor ${e.actorId} ${e.actorEmail}`);
    if ((e.reason ?? null) !== x.reason) problems.push(`${x.action}: reason ${JSON.stringify(e.reason)}, expected ${JSON.stringify(x.reason)}`);
    if (!e.requestId) problems.push(`${x.action}: no request id`);
  }
  // The browser tests are the only admins at work: anything else in the log is an action this
  // run did not account for.
  for (const e of left) problems.push(`unexpected: ${e.action} ${e.targetType} ${e.targetId} by ${e.actorEmail}`);
  if (adminActions.length < 9) problems.push(`only ${adminActions.length} admin actions were taken (did a scenario stop early?)`);
  if (problems.length) throw new Error(`\n  ${problems.join('\n  ')}`);

  // The page lists them all, newest first, with their reasons, and filters by action and target.
  const ad = await context(admin);
  const table = ad.page.getByRole('table', { name: 'Admin audit log' });
  const rows = table.locator('tbody tr');
  await visit(ad.page, '/admin/audit-log', 'admin-audit-log', () => table.waitFor());
  const count = await rows.count();
  if (count !== entries.length) throw new Error(`the page lists ${count} entries, the API ${entries.length}`);
  for (const x of adminActions.filter((a) => a.reason)) await table.getByRole('cell', { name: x.reason, exact: true }).waitFor();
  const suspension = adminActions.find((a) => a.action === 'campaign.suspended');
  await ad.page.getByLabel('Action').selectOption('campaign.suspended');
  await eventually('the action filter', async () => (await rows.count()) === 1);
  await rows.first().getByRole('cell', { name: suspension.reason, exact: true }).waitFor();
  await rows.first().getByText('status: active → suspended').waitFor();
  await ad.page.getByRole('button', { name: 'Clear' }).click();
  await ad.page.getByLabel('Target id').fill(suspension.targetId);
  await ad.page.getByRole('button', { name: 'Apply filters' }).click();
  const onCampaign = adminActions.filter((a) => a.targetId === suspension.targetId).length;
  await eventually('the target filter', async () => (await rows.count()) === onCampaign);
  await ad.ctx.close();
}

async function main() {
  const t0 = Date.now();
  rmSync(SHOTS, { recursive: true, force: true });
  mkdirSync(SHOTS, { recursive: true });
  try {
    sys = await start();
    browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: CHROMIUM_ARGS, headless: true });
    // Two lanes at once (the scenarios use their own users and campaigns).
    await Promise.all([
      (async () => {
        await test('a new donor signs up, verifies their email by the mailed link, deposits, donates and sees another context’s gift live; a double click gives once', donorFlow);
        await test('an admin suspends (with a reason) and reinstates a campaign, features and unfeatures it, and refunds a donation to it', moderationFlow);
        await test('every main page renders at desktop and phone width', pagesTour);
      })(),
      (async () => {
        await test('a creator creates, uploads an image, publishes and withdraws', creatorFlow);
        await test('a borrower applies with a document, an admin approves, a lender funds, the borrower repays and the lender sees it', loanFlow);
        await test('a forgotten password is reset by the mailed link (once), earlier sessions end, and the sessions page signs the others out', passwordResetFlow);
        await test('a user adds a bank account, pays out from the wallet, and sees the provider confirm it paid', payoutFlow);
      })(),
    ]);
    await test('the admin audit log holds every admin action the browser tests took, by the admin, with its reason', auditLogCheck);
    await test('axe: no serious or critical violation on any screenshotted page', async () => {
      if (a11yFailures.length) throw new Error(`\n  ${a11yFailures.join('\n  ')}`);
    });
  } catch (e) {
    results.push({ name: 'harness', ok: false, error: e });
    log(`harness failed: ${e.stack ?? e}`);
  } finally {
    const tc = Date.now();
    await browser?.close().catch(() => {});
    log(`browser closed in ${((Date.now() - tc) / 1000).toFixed(1)}s`);
    const failing = results.some((r) => !r.ok);
    if (failing && sys?.logFile) log(`server logs kept: ${sys.logFile}`);
    await stop(sys, { keepLogs: failing });
  }
  for (const n of notes) log(`note: ${n}`);
  const passed = results.filter((r) => r.ok).length;
  const failed = results.length - passed;
  log(`browser tests took ${((Date.now() - t0) / 1000).toFixed(0)}s; screenshots in web/e2e/screenshots/`);
  console.log(`e2e: ${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

main();
