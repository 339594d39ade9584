#!/usr/bin/env bash
# Install what the tests need (Debian mail servers, a virtual environment) and run the tests.
# Safe to run again: installed parts are skipped.
#
#   ./scripts/test.sh [PYTEST ARGS]          the linters (ruff, mypy, import contracts), then the three
#                                            layers in turn: unit, integration, e2e
#   ./scripts/test.sh LAYER [PYTEST ARGS]    one layer only (unit, integration or e2e), no linters
#
# Extra arguments go to pytest in every layer run (-x, -k NAME, -m crash -s, a test file...); a test
# named on the command line runs in its own layer only. Each layer is reported with its counts, its
# wall time and every skip with its reason. A failing layer does not stop the next one, but makes the
# script exit non-zero; the last line totals all layers as `N passed, N failed, N skipped`.
set -euo pipefail
cd "$(dirname "$0")/.."

LAYERS=(unit integration e2e)
if [[ $# -gt 0 && " ${LAYERS[*]} " == *" $1 "* ]]; then
  LAYERS=("$1"); LINT=0; shift
else
  LINT=1
fi

if [[ "${LAYERS[*]}" != unit ]]; then  # the unit layer needs no mail servers
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
fi

PY=${PYTHON:-python3}
[[ -x .venv/bin/python ]] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'

if ((LINT)); then
  .venv/bin/ruff check service tests
  .venv/bin/mypy --strict service
  .venv/bin/lint-imports  # the import contracts in pyproject.toml
fi

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
seconds() { printf '%d.%ds' $(($1 / 1000)) $(($1 % 1000 / 100)); }
count() {  # count WORD FILE: the number before WORD in pytest's closing line (0 when absent)
  local line; line=$(tail -n 1 "$2")
  [[ $line =~ ([0-9]+)\ $1 ]] && echo "${BASH_REMATCH[1]}" || echo 0
}

status=0 ran=0 passed=0 failed=0 skipped=0 all_start=$(now_ms)
summary=()
for layer in "${LAYERS[@]}"; do
  echo
  echo "=== $layer tests (tests/$layer/) ==="
  start=$(now_ms)
  set +e
  # a line per test file with its dots and the share of the layer done so far; -rfEs then lists
  # failures, errors and every skip with its reason
  .venv/bin/python -m pytest -p no:cacheprovider --no-header -rfEs --layer "$layer" "$@" 2>&1 | tee "$logs/$layer"
  rc=${PIPESTATUS[0]}
  set -e
  took=$(seconds $(( $(now_ms) - start )))
  p=$(count passed "$logs/$layer") f=$(count failed "$logs/$layer") s=$(count skipped "$logs/$layer")
  e=$(count error "$logs/$layer") d=$(count deselected "$logs/$layer")
  line="$layer: $p passed, $f failed, $s skipped"
  ((e)) && line+=", $e errors"
  ((d)) && line+=", $d deselected"
  line+=" in $took"
  case $rc in
    0) ran=1 ;;
    5) line+=" (no test selected in this layer)" ;;  # e.g. -m crash selects e2e tests only
    *) ran=1; status=1; line+=" (pytest exit code $rc)" ;;
  esac
  summary+=("$line")
  while IFS= read -r skip; do summary+=("  $skip"); done < <(grep '^SKIPPED ' "$logs/$layer" || true)
  passed=$((passed + p)) failed=$((failed + f + e)) skipped=$((skipped + s))
done

echo
echo "=== summary ==="
printf '%s\n' "${summary[@]}"
echo "wall time, all layers: $(seconds $(( $(now_ms) - all_start )))"
echo "total: $passed passed, $failed failed, $skipped skipped"
if ((status)); then exit 1; fi
((ran)) || exit 5  # as pytest: nothing selected anywhere (a mistyped -k) is not a pass
