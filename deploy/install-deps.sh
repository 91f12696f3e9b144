#!/usr/bin/env bash
# Installs what clausewatch needs on a Debian machine, idempotently:
# Debian packages listed in deploy/apt/*.txt that are missing, then a virtualenv in .venv
# with the package and its extras at the versions in requirements/constraints.txt (those the tests
# passed with). Safe to run again; does nothing when all is present.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
for pkg in $(sed -e 's/#.*//' deploy/apt/*.txt | tr -s ' \n' '\n' | sort -u); do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
if ((${#missing[@]})); then
  echo "installing Debian packages: ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  # the clamav-freshclam and nut services would reach for the network or real hardware; tests start
  # their own PostgreSQL, the packaged cluster service is not used
  for svc in postgresql clamav-freshclam clamav-daemon nut-server nut-monitor prometheus prometheus-alertmanager snmpd usbguard; do
    $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || true
  done
fi

PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.deps-stamp
# requirements/*.txt includes constraints.txt: a new pin reinstalls too
want=$(cat pyproject.toml requirements/*.txt | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  .venv/bin/pip install -q --upgrade pip >&2
  extras=$(sed -n 's/^\([a-z]*\) = { file = \["requirements.*/\1/p' pyproject.toml | paste -sd, -)
  .venv/bin/pip install -q -c requirements/constraints.txt -e ".[${extras}]" >&2
  echo "$want" > "$stamp"
fi
