#!/usr/bin/env bash
# Set-up on a fresh Debian machine: the reference tools the tests compare against, the Go
# toolchain if missing, and a virtual environment with imgtool and its test dependencies.
# Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
# gcc-*-linux-gnu: cross compilers for the position-independent (cgo, GNU ld) test programs.
# qemu-system-*, ovmf: the boot tests (Raspberry Pi, i.MX, SeaBIOS, OVMF incl. Secure Boot);
# binutils/gcc-arm-none-eabi: freestanding ARM payloads and the stub sources; sbsigntool,
# osslsigncode: Authenticode references; dosfstools, mtools, gdisk, fdisk: disk references.
APT_PACKAGES=(binutils-multiarch u-boot-tools openssl imx-code-signing-tool softhsm2 python3-venv gcc chromium golang-1.19-go
              gcc-aarch64-linux-gnu gcc-arm-linux-gnueabihf gcc-riscv64-linux-gnu
              qemu-system-arm qemu-system-x86 ovmf binutils-arm-none-eabi gcc-arm-none-eabi
              sbsigntool osslsigncode dosfstools mtools gdisk fdisk)

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Go: the tests need Go >= 1.26 (tests/goprog/go.mod). Debian's Go 1.19 (installed above for
# the Go 1.18-format pclntab tests) is too old, so without a Go on PATH fetch the official
# toolchain module through the Go module proxy with it, and install that.
GO_TOOLCHAIN_VERSION=${GO_TOOLCHAIN_VERSION:-1.26.8}
if ! command -v go >/dev/null 2>&1; then
  echo "setup: installing Go $GO_TOOLCHAIN_VERSION (toolchain module via the Go module proxy)"
  arch=$(dpkg --print-architecture)
  tmpcache=$(mktemp -d)
  dir=$(cd "$tmpcache" && GOMODCACHE="$tmpcache/mod" GOFLAGS=-mod=mod /usr/lib/go-1.19/bin/go mod download -json \
        "golang.org/toolchain@v0.0.1-go$GO_TOOLCHAIN_VERSION.linux-$arch" \
        | python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')
  dest=/usr/local/lib/go-$GO_TOOLCHAIN_VERSION
  $SUDO rm -rf "$dest"
  $SUDO cp -r "$dir" "$dest"
  $SUDO chmod -R u+w "$dest"
  $SUDO chmod +x "$dest"/bin/* "$dest"/pkg/tool/*/*
  $SUDO ln -sf "$dest/bin/go" /usr/local/bin/go
  chmod -R u+w "$tmpcache" && rm -rf "$tmpcache"
  go version
fi

if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q -e ".[test,pkcs11]"
