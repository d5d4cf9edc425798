#!/usr/bin/env bash
# Install what dcoprover needs on Debian/Ubuntu: Coq 8.16 with the libraries MiniF2F-Coq uses,
# then the package and its dev tools into ./.venv. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
# Coq and the libraries MiniF2F-Coq uses; csdp, the SDP solver behind Coq's `psatz`; shellcheck
# for the tests of the setup scripts; eprover, z3 and cvc4, the provers CoqHammer's `hammer` calls.
PACKAGES=(coq libcoq-stdlib libcoq-coquelicot libcoq-hammer eprover z3 cvc4 coinor-csdp shellcheck)
if ! command -v coqtop >/dev/null || ! dpkg -s "${PACKAGES[@]}" >/dev/null 2>&1; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${PACKAGES[@]}" >/dev/null
fi
# The service's tests start their own redis-server. The dashboard's tests drive Debian's
# headless Chromium (Playwright is pointed at /usr/bin/chromium; it downloads no browser of its
# own). docker-compose.yml is validated by the dev extras' Compose; the live compose test needs
# a Docker engine, which scripts/docker_engine.sh provides (CI runs it).
SERVICE_PACKAGES=(redis-server chromium)
if ! dpkg -s "${SERVICE_PACKAGES[@]}" >/dev/null 2>&1; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    "${SERVICE_PACKAGES[@]}" >/dev/null
fi

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then "$PYTHON" -m venv .venv; fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e '.[dev]'
echo "installed: $(coqtop -v | head -1); $(.venv/bin/prover --help >/dev/null && echo 'prover CLI ready in .venv/bin/prover')"
