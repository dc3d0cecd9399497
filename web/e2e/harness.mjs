// Starts a private copy of the system for the browser tests: its own database, Redis key
// prefix, S3 bucket, mail folder and port; the real api, worker and scheduler binaries; the web
// build served by the api (WEB_DIR) or, when the api does not serve it, by `vite preview`
// proxying /api to it. Everything is stopped and dropped by stop().
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, createWriteStream, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../..');
const WEB = resolve(ROOT, 'web');
const PG_ADMIN = process.env.PG_URL_ADMIN ?? 'postgres://postgres:postgres@127.0.0.1:5432/postgres';
const S3 = process.env.TEST_S3_ENDPOINT ?? 'http://127.0.0.1:9000';

export function log(...a) {
  console.log(`[e2e ${new Date().toISOString().slice(11, 19)}]`, ...a);
}

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.unref();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

function readEnvFile(path) {
  const env = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (!m) continue;
    let v = m[2];
    if ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'"))) v = v.slice(1, -1);
    env[m[1]] = v;
  }
  return env;
}

function psql(sql) {
  execFileSync('psql', [PG_ADMIN, '-qtAc', sql], { stdio: ['ignore', 'pipe', 'inherit'] });
}

function s3(method, path) {
  return execFileSync(
    'curl',
    ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-H', 'x-amz-content-sha256: UNSIGNED-PAYLOAD', '--aws-sigv4', 'aws:amz:us-east-1:s3', '--user', 'commonpot:commonpot-secret', '-X', method, `${S3}${path}`],
    { encoding: 'utf8' },
  );
}

async function waitHttp(url, what, ms = 60_000) {
  const until = Date.now() + ms;
  for (;;) {
    try {
      const r = await fetch(url);
      if (r.ok) return;
    } catch {
      // not yet
    }
    if (Date.now() > until) throw new Error(`${what} did not come up at ${url}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export async function start() {
  const id = `${process.pid}`;
  const tmp = mkdtempSync(join(tmpdir(), `commonpot-e2e-${id}-`));
  const db = `commonpot_e2e_${id}`;
  const bucket = `cp-e2e-${id}`;
  const port = await freePort();
  const apiUrl = `http://127.0.0.1:${port}`;
  const procs = [];
  const state = { tmp, db, bucket, procs, apiUrl, baseUrl: apiUrl, servedByApi: true };

  if (!process.env.E2E_SKIP_CARGO) {
    log('building api, worker and scheduler (cargo build)');
    execFileSync('cargo', ['build', '-q', '-p', 'commonpot-api', '-p', 'commonpot-worker', '-p', 'commonpot-scheduler', '--bins'], {
      cwd: ROOT,
      stdio: 'inherit',
    });
  }

  log(`database ${db}, bucket ${bucket}, api on :${port}`);
  psql(`drop database if exists "${db}" with (force)`);
  psql(`create database "${db}"`);
  const code = s3('PUT', `/${bucket}`);
  if (!['200', '409'].includes(code)) throw new Error(`could not create bucket ${bucket}: HTTP ${code}`);

  const env = {
    ...process.env,
    ...readEnvFile(join(ROOT, '.env.example')),
    APP_ENV: 'development',
    BIND_ADDR: `127.0.0.1:${port}`,
    // Our own metrics ports too: .env.example's fixed ones may be held by a dev worker/scheduler.
    WORKER_METRICS_ADDR: `127.0.0.1:${await freePort()}`,
    SCHEDULER_METRICS_ADDR: `127.0.0.1:${await freePort()}`,
    PUBLIC_URL: apiUrl,
    DATABASE_URL: `postgres://postgres:postgres@127.0.0.1:5432/${db}`,
    REDIS_URL: 'redis://127.0.0.1:6379',
    REDIS_KEY_PREFIX: `cp-e2e-${id}:`,
    S3_ENDPOINT: S3,
    S3_BUCKET: bucket,
    MAIL_DIR: join(tmp, 'mail'),
    LOG_FORMAT: 'json',
    RUST_LOG: 'warn',
    RATE_LIMIT_ANONYMOUS: '100000/60',
    RATE_LIMIT_AUTHENTICATED: '100000/60',
    RATE_LIMIT_PREMIUM: '100000/60',
    WEB_DIR: join(WEB, 'dist'),
    ADMIN_EMAIL: 'admin@commonpot.local',
    ADMIN_PASSWORD: 'admin-password-123',
  };
  state.env = env;
  const bin = (n) => join(ROOT, 'target/debug', n);
  execFileSync(bin('api'), ['migrate'], { env, cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  execFileSync(bin('api'), ['seed'], { env, cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });

  const logs = createWriteStream(join(tmp, 'servers.log'));
  state.logFile = join(tmp, 'servers.log');
  const run = (cmd, args, extraEnv = {}, cwd = ROOT) => {
    const p = spawn(cmd, args, { env: { ...env, ...extraEnv }, cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: false });
    p.stdout.pipe(logs, { end: false });
    p.stderr.pipe(logs, { end: false });
    procs.push(p);
    return p;
  };
  run(bin('worker'), []);
  run(bin('scheduler'), []);
  run(bin('api'), []);
  try {
    await serve(state, run);
  } catch (e) {
    // Nobody else holds `state` yet: stop what was started, or it outlives the run.
    await stop(state, { keepLogs: true });
    throw e;
  }
  return state;
}

/** Waits for the api, and serves the web build through vite preview when the api does not. */
async function serve(state, run) {
  const { apiUrl } = state;
  await waitHttp(`${apiUrl}/health/live`, 'the api');

  // Does the api serve the web build (WEB_DIR) with an SPA fallback?
  let html = '';
  try {
    const r = await fetch(`${apiUrl}/campaigns/00000000-0000-4000-8000-000000000000`);
    html = r.ok ? await r.text() : '';
  } catch {
    html = '';
  }
  if (!html.includes('id="root"')) {
    const previewPort = await freePort();
    log(`the api does not serve web/dist yet: vite preview on :${previewPort} proxying /api`);
    run(
      join(WEB, 'node_modules/.bin/vite'),
      ['preview', '--port', String(previewPort), '--strictPort', '--host', '127.0.0.1'],
      { COMMONPOT_API_URL: apiUrl },
      WEB,
    );
    state.baseUrl = `http://127.0.0.1:${previewPort}`;
    state.servedByApi = false;
    await waitHttp(state.baseUrl, 'vite preview');
  } else {
    log('the api serves web/dist');
  }
}

export async function stop(state, { keepLogs = false } = {}) {
  if (!state) return;
  const t0 = Date.now();
  for (const p of state.procs) {
    try {
      p.kill('SIGTERM');
    } catch {
      // already gone
    }
  }
  await new Promise((r) => setTimeout(r, 500));
  for (const p of state.procs) {
    if (p.exitCode === null) {
      try {
        p.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  try {
    psql(`drop database if exists "${state.db}" with (force)`);
  } catch (e) {
    log('could not drop the database', e.message);
  }
  try {
    // Empty and remove the bucket.
    const list = execFileSync(
      'curl',
      ['-sS', '-H', 'x-amz-content-sha256: UNSIGNED-PAYLOAD', '--aws-sigv4', 'aws:amz:us-east-1:s3', '--user', 'commonpot:commonpot-secret', `${S3}/${state.bucket}?list-type=2`],
      { encoding: 'utf8' },
    );
    for (const m of list.matchAll(/<Key>([^<]+)<\/Key>/g)) s3('DELETE', `/${state.bucket}/${m[1]}`);
    s3('DELETE', `/${state.bucket}`);
  } catch (e) {
    log('could not remove the bucket', e.message);
  }
  try {
    const prefix = state.env?.REDIS_KEY_PREFIX;
    if (prefix) {
      execFileSync('bash', ['-c', 'redis-cli --scan --pattern "$1*" | xargs -r -n 500 redis-cli del >/dev/null', '_', prefix]);
    }
  } catch {
    // best effort
  }
  log(`stopped and cleaned up in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  if (existsSync(state.tmp) && !keepLogs && !process.env.E2E_KEEP_TMP) rmSync(state.tmp, { recursive: true, force: true });
}
