#!/usr/bin/env bash
# The main job on the bundled example: rebuild examples/hello with Go when Go is present
# (else use the committed hello.elf), then describe it and make its flat image.
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
echo "demo: wrote $OUT/hello.bin ($(stat -c %s "$OUT/hello.bin") bytes) and $OUT/hello.hex"
