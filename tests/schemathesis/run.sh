#!/usr/bin/env bash
# Fuzzes the whole OpenAPI spec with Schemathesis against a real api + worker on a fresh
# database, and fails on any server error or any response that disagrees with the spec
# (status code, body schema, content type).
#
# Three phases, each with its own token: anonymous, a signed-up user, and the admin. Routes
# that end the caller's session (logout) run only in the anonymous phase, where they are 401.
#
#   tests/schemathesis/run.sh              # quick profile: fixed seed, ~2 minutes on 2 cores
#   ST_PROFILE=long tests/schemathesis/run.sh   # more cases per operation, several times longer
#
# Needs PostgreSQL, Redis and the local S3 server (started if missing, as ./test does) and
# Python 3 with venv: Schemathesis is installed into .tools/venv on first use.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
source deploy/dev/services.sh
export PATH="$HOME/.cargo/bin:$PATH"

ST_VERSION="4.32.5"
profile="${ST_PROFILE:-quick}"
case "$profile" in
  quick) examples=25; seed=20261128 ;;
  long) examples=200; seed="${ST_SEED:-20261128}" ;;
  *) echo "ST_PROFILE must be quick or long" >&2; exit 2 ;;
esac

venv="$root/.tools/venv"
if ! "$venv/bin/st" --version 2>/dev/null | grep -q "$ST_VERSION"; then
  log "installing schemathesis $ST_VERSION into .tools/venv"
  if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' 2>/dev/null; then
    ensure_packages python3-venv
  fi
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q "schemathesis==$ST_VERSION"
fi

s3_dir="${TMPDIR:-/tmp}/commonpot-test-s3"
ensure_services "$s3_dir"

db="commonpot_st_$$"
work="$(mktemp -d "${TMPDIR:-/tmp}/commonpot-st.XXXXXX")"
pids=()
cleanup() {
  local status=$?
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  psql "$PG_URL_ADMIN" -qc "drop database if exists \"$db\" with (force)" >/dev/null 2>&1 || true
  if [ "$status" -eq 0 ]; then rm -rf "$work"; else echo "logs and reports kept in $work" >&2; fi
  exit "$status"
}
trap cleanup EXIT INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port="$(free_port)"
base="http://127.0.0.1:$port"

log "building api and worker"
cargo build -q -p commonpot-api -p commonpot-worker --bins

psql "$PG_URL_ADMIN" -qc "create database \"$db\"" >/dev/null
set -a
# shellcheck disable=SC1091
source .env.example
APP_ENV=development
BIND_ADDR="127.0.0.1:$port"
PUBLIC_URL="$base"
DATABASE_URL="postgres://postgres:postgres@127.0.0.1:5432/$db"
REDIS_KEY_PREFIX="cp:st:$$:"
S3_ENDPOINT="http://127.0.0.1:$S3_PORT"
S3_BUCKET="commonpot-st-$$"
MAIL_DIR="$work/mail"
LOG_FORMAT=json
RUST_LOG="${RUST_LOG:-warn}"
# The fuzzer sends thousands of requests a minute: raise the limits so it tests the routes,
# not the limiter (429 is documented on every /api route all the same).
RATE_LIMIT_ANONYMOUS=1000000/60
RATE_LIMIT_AUTHENTICATED=1000000/60
RATE_LIMIT_PREMIUM=1000000/60
# The fuzzer cannot read the verification mail: let its users create campaigns and lend.
REQUIRE_VERIFIED_EMAIL=false
ADMIN_EMAIL=admin@commonpot.local
ADMIN_PASSWORD=admin-password-123
set +a

target/debug/api migrate >"$work/migrate.log" 2>&1
target/debug/api seed >"$work/seed.log" 2>&1
target/debug/worker >"$work/worker.log" 2>&1 &
pids+=($!)
target/debug/api >"$work/api.log" 2>&1 &
pids+=($!)
wait_for "api on $base" curl -fsS "$base/health/ready"

login() { # login EMAIL PASSWORD -> access token
  curl -fsS -X POST "$base/api/auth/login" -H 'content-type: application/json' \
    -d "{\"email\":\"$1\",\"password\":\"$2\"}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["accessToken"])'
}
user_email="st-user-$$@example.com"
curl -fsS -X POST "$base/api/auth/register" -H 'content-type: application/json' \
  -d "{\"email\":\"$user_email\",\"password\":\"st-password-123\",\"firstName\":\"Fuzz\",\"lastName\":\"User\"}" \
  >/dev/null

# One worker: the result is reproducible from the seed, and Python 3.11's ast.parse is not
# thread-safe (Hypothesis describes strategies with it; two workers fail at random with
# "AST constructor recursion depth mismatch").
checks="not_a_server_error,status_code_conformance,response_schema_conformance,content_type_conformance"
failed=0
run_phase() { # run_phase NAME [st args...]
  local name=$1; shift
  log "schemathesis: $name ($profile profile, seed $seed, up to $examples examples per operation)"
  local started=$SECONDS status=0
  "$venv/bin/st" --config-file tests/schemathesis/schemathesis.toml run "$base/openapi.json" \
    --checks "$checks" --seed "$seed" --max-examples "$examples" \
    --phases examples,coverage,fuzzing --workers 1 --request-timeout 10 \
    --suppress-health-check all --no-color \
    --report junit --report-dir "$work/report-$name" "$@" >"$work/st-$name.log" 2>&1 || status=$?
  if [ "$status" -ne 0 ]; then
    sed -n '/FAILURES/,$p' "$work/st-$name.log" | head -150
    failed=1
  fi
  echo "   $name: $((SECONDS - started)) s, exit $status: $(grep -E 'test cases|generated' "$work/st-$name.log" | tail -n 2 | tr -s ' \n' ' ')"
}

# The SSE route never ends for an existing campaign; the fuzzer only ever sends unknown ids
# (404), but a timeout would still be an error, so it is capped like every request.
run_phase anonymous
user_token="$(login "$user_email" st-password-123)"
run_phase user -H "Authorization: Bearer $user_token" --exclude-operation-id logout
admin_token="$(login admin@commonpot.local admin-password-123)"
run_phase admin -H "Authorization: Bearer $admin_token" --exclude-operation-id logout

# A handler that answers an error status its operation does not document logs it (the check
# above sees only what the fuzzer happened to compare).
if grep -q 'undocumented error status' "$work/api.log"; then
  echo "the api answered error statuses its spec does not document:" >&2
  grep 'undocumented error status' "$work/api.log" | head -20 >&2
  failed=1
fi
if grep -q '"level":"ERROR"' "$work/api.log"; then
  echo "the api logged errors:" >&2
  grep '"level":"ERROR"' "$work/api.log" | head -20 >&2
fi
exit "$failed"
