// Prints the campaign page's initial JavaScript (entry chunk + the campaign page's lazy chunk and
// everything both import statically), gzipped, and fails above the budget.
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';

const BUDGET = Number(process.env.WEB_JS_BUDGET_KB ?? 200) * 1024;
const dist = 'dist';
const manifest = JSON.parse(readFileSync(join(dist, '.vite/manifest.json'), 'utf8'));

const seen = new Set();
function collect(key) {
  const entry = manifest[key];
  if (!entry || seen.has(key)) return;
  seen.add(key);
  for (const imp of entry.imports ?? []) collect(imp);
}
collect('index.html');
const page = 'src/campaigns/CampaignPage.tsx';
if (!manifest[page]) {
  console.error(`no chunk for ${page} in the manifest`);
  process.exit(1);
}
collect(page);

let total = 0;
const rows = [];
for (const key of seen) {
  const file = manifest[key].file;
  if (!file.endsWith('.js')) continue;
  const size = gzipSync(readFileSync(join(dist, file)), { level: 9 }).length;
  total += size;
  rows.push([file, size]);
}
for (const [file, size] of rows.sort((a, b) => b[1] - a[1])) console.log(`  ${(size / 1024).toFixed(1).padStart(7)} kB  ${file}`);
const kb = (n) => `${(n / 1024).toFixed(1)} kB`;
console.log(`campaign page initial JS: ${kb(total)} gzipped (budget ${kb(BUDGET)})`);
if (total > BUDGET) {
  console.error('over budget');
  process.exit(1);
}
