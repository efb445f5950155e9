module example.com/imgtool-boardprog

go 1.24

require github.com/usbarmory/tamago v1.26.0

// Stock Go cannot build the real board packages (they need GOOS=tamago); this stub
// carries the same import path, which is all board detection reads from the symbols.
replace github.com/usbarmory/tamago => ./tamago-stub
