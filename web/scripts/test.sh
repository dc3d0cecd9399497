#!/usr/bin/env bash
# Every web check: generated-client staleness, spec lint, types, ESLint, unit tests, production
# build + bundle budget, and the browser tests against the real api/worker/scheduler.
# Called by ../test; runs on its own too (from anywhere). About 3–4 minutes on 2 cores once
# node_modules and the Rust binaries are there. WEB_SKIP_E2E=1 skips the browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(cd .. && pwd)
source scripts/ensure-node.sh
export PATH="$HOME/.cargo/bin:$PATH"

step() { printf '\033[1;35m--> web: %s\033[0m\n' "$*"; step_start=$SECONDS; }
timings=()
done_step() { timings+=("$(printf '%4ss  %s' $((SECONDS - step_start)) "$1")"); }

step "node and dependencies"
ensure_node
ensure_web_deps
done_step "node + npm ci"

step "generated client is up to date with the spec"
node scripts/check-gen.mjs
done_step "gen staleness"

step "redocly lint ../openapi/openapi.yaml"
# Errors fail the run (warnings are printed as a count). WEB_LINT_SPEC_NONFATAL=1 only reports.
lint_log=$(mktemp)
if npm run -s lint:spec -- --format=stylish >"$lint_log" 2>&1; then
  grep -cw warning "$lint_log" | xargs -I{} echo "spec lint: no errors, {} warnings"
else
  grep -w error "$lint_log" || cat "$lint_log"
  echo "spec lint: $(grep -cw error "$lint_log") errors, $(grep -cw warning "$lint_log") warnings"
  if [ -z "${WEB_LINT_SPEC_NONFATAL:-}" ]; then rm -f "$lint_log"; exit 1; fi
fi
rm -f "$lint_log"
done_step "lint:spec"

step "tsc --noEmit"
node_modules/.bin/tsc --noEmit -p tsconfig.json
done_step "tsc"

step "eslint"
node_modules/.bin/eslint --max-warnings 0 .
done_step "eslint"

step "vitest"
node_modules/.bin/vitest run
done_step "vitest"

step "vite build + size budget"
node_modules/.bin/vite build --logLevel warn
node scripts/check-size.mjs
done_step "build + budget"

if [ -z "${WEB_SKIP_E2E:-}" ]; then
  step "browser tests (chromium + real api/worker/scheduler)"
  if [ ! -x /usr/bin/chromium ]; then
    echo "==> installing Debian's chromium"
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd=sudo
    $sudo_cmd apt-get update -qq
    $sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
  (source "$ROOT/deploy/dev/services.sh" && ensure_services "${TMPDIR:-/tmp}/commonpot-test-s3")
  node e2e/run.mjs
  done_step "e2e"
fi

printf '\nweb timings:\n'
printf '  %s\n' "${timings[@]}"
