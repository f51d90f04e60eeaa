#!/usr/bin/env bash
# Install what Paydesk needs, idempotently: Debian packages, the virtualenv, Python packages.
#   scripts/bootstrap.sh demo   what `paydesk demo` needs
#   scripts/bootstrap.sh test   that, plus what the test suite needs (Chromium, pcscd, vpcd)
set -euo pipefail
cd "$(dirname "$0")/.."

# version_at_least HAVE NEED: true when dotted version HAVE >= NEED.
version_at_least() {
  [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]
}

# A tool that is already there must also be new enough: finding an old one later, in the
# middle of the test run, costs a newcomer far more than a clear line now.
python="${PYTHON:-python3}"
need_python=$(sed -n 's/^requires-python = ">=\([0-9.]*\)"/\1/p' pyproject.toml)
if have_python=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null); then
  if ! version_at_least "$have_python" "$need_python"; then
    echo "$python is Python $have_python; Paydesk needs $need_python or newer (PYTHON=... picks another)." >&2
    exit 1
  fi
fi

profile="${1:-demo}"
# swig + libpcsclite-dev build pyscard; python3-venv makes the virtualenv.
debs=(python3-venv python3-dev gcc swig libpcsclite-dev)
if [ "$profile" = test ]; then
  # Chromium for Playwright, pcscd + the virtual reader for the card-reader tests.
  debs+=(chromium pcscd vsmartcard-vpcd pcsc-tools)
  # Node.js + npm install axe-core (e2e/package.json) and run the OpenID provider of the SSO
  # tests (tests/support/oidc); the latter's "engines" says which Node it needs. Debian 12's
  # nodejs (18.19) and Debian 13's (20.19) are both new enough.
  need_node=$(sed -n 's/.*"node": ">=\([0-9.]*\)".*/\1/p' tests/support/oidc/package.json)
  if command -v node >/dev/null 2>&1; then
    have_node=$(node --version | sed 's/^v//')
    if ! version_at_least "$have_node" "$need_node"; then
      echo "$(command -v node) is Node.js $have_node; the tests need $need_node or newer" \
        "(tests/support/oidc/package.json). Remove it or put a newer node first on PATH." >&2
      exit 1
    fi
    command -v npm >/dev/null 2>&1 || debs+=(npm)
  else
    debs+=(nodejs npm)
  fi
fi

missing=()
for pkg in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "Installing Debian packages (apt-get; this takes a minute or two): ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "Missing Debian packages. Install them with:" >&2
    echo "  sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
# Reinstall only when the dependency list changed.
stamp=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e '.[dev]'
  rm -f .venv/.installed-*
  touch "$stamp"
fi

# axe-core for the e2e suite, reinstalled only when the lock file changed.
if [ "$profile" = test ]; then
  lock_stamp="e2e/node_modules/.installed-$(sha256sum e2e/package-lock.json | cut -c1-16)"
  if [ ! -f e2e/node_modules/axe-core/axe.min.js ] || [ ! -f "$lock_stamp" ]; then
    npm ci --prefix e2e --no-audit --no-fund --loglevel=error
    touch "$lock_stamp"
  fi
  # The OpenID Connect provider the SSO tests sign in against (tests/support/oidc).
  oidc=tests/support/oidc
  oidc_stamp="$oidc/node_modules/.installed-$(sha256sum "$oidc/package-lock.json" | cut -c1-16)"
  if [ ! -d "$oidc/node_modules/oidc-provider" ] || [ ! -f "$oidc_stamp" ]; then
    npm ci --prefix "$oidc" --no-audit --no-fund --loglevel=error
    touch "$oidc_stamp"
  fi
fi
