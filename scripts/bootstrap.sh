#!/usr/bin/env bash
# Install what Paydesk needs, idempotently: Debian packages, the virtualenv, Python packages.
#   scripts/bootstrap.sh demo   what `paydesk demo` needs
#   scripts/bootstrap.sh test   that, plus what the test suite needs (Chromium, pcscd, vpcd)
set -euo pipefail
cd "$(dirname "$0")/.."

profile="${1:-demo}"
# swig + libpcsclite-dev build pyscard; python3-venv makes the virtualenv.
debs=(python3-venv python3-dev gcc swig libpcsclite-dev)
if [ "$profile" = test ]; then
  # Chromium for Playwright, pcscd + the virtual reader for the card-reader tests.
  debs+=(chromium pcscd vsmartcard-vpcd pcsc-tools)
  # Node.js + npm install axe-core for the browser tests (e2e/package.json).
  command -v node >/dev/null 2>&1 || debs+=(nodejs npm)
fi

missing=()
for pkg in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "Installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "Missing Debian packages. Install them with:" >&2
    echo "  sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

python="${PYTHON:-python3}"
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
