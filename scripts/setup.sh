#!/usr/bin/env bash
# Set-up on a fresh Debian machine: the reference tools the tests compare against, the Go
# toolchain if missing, and a virtual environment with imgtool and its test dependencies.
# Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
APT_PACKAGES=(binutils-multiarch u-boot-tools openssl imx-code-signing-tool softhsm2 python3-venv gcc chromium golang-1.19-go)

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ! command -v go >/dev/null 2>&1; then missing+=(golang-go); fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# An older distribution Go fetches the toolchain the go.mod files ask for (Go module proxy).
export GOTOOLCHAIN=${GOTOOLCHAIN:-auto}

if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q -e ".[test,pkcs11]"
