// Fails when src/api/schema.d.ts is stale against ../openapi/openapi.yaml (run `npm run gen`).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'cp-gen-'));
const out = join(dir, 'schema.d.ts');
try {
  execFileSync('node_modules/.bin/openapi-typescript', [ '../openapi/openapi.yaml', '-o', out], { stdio: ['ignore', 'ignore', 'inherit'] });
  const fresh = readFileSync(out, 'utf8');
  const current = readFileSync('src/api/schema.d.ts', 'utf8');
  if (fresh !== current) {
    console.error('src/api/schema.d.ts is stale against openapi/openapi.yaml: run `npm run gen` in web/ and commit it.');
    process.exit(1);
  }
  console.log('generated client is up to date with openapi/openapi.yaml');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
