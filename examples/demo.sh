#!/usr/bin/env bash
# The main job on the bundled example: rebuild examples/hello with Go when Go is present
# (else use the committed hello.elf), make fresh development HAB keys, sign it for the USB
# armory Mk II and verify the signed image against the SRK fuse hash.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
IMGTOOL="$VENV/bin/imgtool"
OUT=out
mkdir -p "$OUT"

if command -v go >/dev/null 2>&1; then
  (cd examples/hello && GOOS=linux GOARCH=arm GOARM=7 CGO_ENABLED=0 \
    go build -trimpath -ldflags "-w -T 0x80010000 -R 0x1000" -o "../../$OUT/hello.elf" .)
  echo "demo: built $OUT/hello.elf with $(go version | cut -d' ' -f3)"
else
  cp examples/hello/hello.elf "$OUT/hello.elf"
  echo "demo: Go not found, using the committed examples/hello/hello.elf"
fi

"$IMGTOOL" info "$OUT/hello.elf"
"$IMGTOOL" bin "$OUT/hello.elf" -o "$OUT/hello.bin"
"$IMGTOOL" bin "$OUT/hello.elf" -o "$OUT/hello.hex" --format hex --no-bss
"$IMGTOOL" imx build "$OUT/hello.elf" --board usbarmory-mk2 -o "$OUT/hello.imx" -v

# Fresh development keys every run (never use these for a real device).
rm -rf "$OUT/hab-keys"
"$IMGTOOL" hab keygen "$OUT/hab-keys" --no-password
"$IMGTOOL" imx sign "$OUT/hello.elf" --board usbarmory-mk2 --keys "$OUT/hab-keys" -o "$OUT/hello-signed.imx" -v
"$IMGTOOL" imx verify "$OUT/hello-signed.imx" --fuses "$OUT/hab-keys/SRK_1_2_3_4_fuse.bin"
"$IMGTOOL" hab srk "$OUT"/hab-keys/SRK_{1,2,3,4}_crt.pem -o "$OUT/srk-table.bin"
echo "demo: wrote $OUT/hello.bin, $OUT/hello.hex, $OUT/hello.imx and $OUT/hello-signed.imx (verified)"
