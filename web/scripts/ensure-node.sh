# Sourced by web/scripts/*.sh, ./run and ./test: makes sure Node >= 20.19 and npm are on PATH.
# Where node is missing or older, installs Debian's nodejs + npm, then a current Node from the
# npm registry's `node` package into web/.tools (project-local) and puts it first on PATH.
# shellcheck shell=bash

_cp_web_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

_cp_node_ok() {
  command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 &&
    node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>20||(a===20&&b>=19)?0:1)' 2>/dev/null
}

ensure_node() {
  local tools="$_cp_web_dir/.tools/node_modules/node/bin"
  if [ -x "$tools/node" ]; then export PATH="$tools:$PATH"; fi
  if _cp_node_ok; then return 0; fi
  echo "==> installing Node (found: $(node --version 2>/dev/null || echo none))"
  if ! command -v npm >/dev/null 2>&1; then
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
  fi
  npm install --prefix "$_cp_web_dir/.tools" --no-audit --no-fund --silent node@22
  export PATH="$tools:$PATH"
  hash -r
  _cp_node_ok || { echo "error: could not install Node >= 20.19" >&2; return 1; }
}

# npm ci unless node_modules was installed from this exact package-lock.json.
ensure_web_deps() {
  local stamp="$_cp_web_dir/node_modules/.commonpot-lock.sha256"
  local want
  want=$(sha256sum "$_cp_web_dir/package-lock.json" | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return 0; fi
  (cd "$_cp_web_dir" && npm ci --no-audit --no-fund --loglevel=error) || return 1
  echo "$want" >"$stamp"
}
