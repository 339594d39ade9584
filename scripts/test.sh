#!/usr/bin/env bash
# Install what the tests need (Debian mail servers, a virtual environment) and
# run the whole suite with the linters. Safe to run again: installed parts are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for pkg in postfix dovecot-imapd dovecot-lmtpd openssl; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || need+=("$pkg")
done
if ((${#need[@]})); then
  SUDO=""; [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  # package scripts must not start daemons: the suite starts its own on loopback
  made_policy=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d; made_policy=1
  fi
  echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  ((made_policy)) && $SUDO rm -f /usr/sbin/policy-rc.d
fi

PY=${PYTHON:-python3}
[[ -x .venv/bin/python ]] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'

.venv/bin/ruff check service tests
.venv/bin/mypy --strict service
.venv/bin/python -m pytest -p no:cacheprovider -q "$@"
