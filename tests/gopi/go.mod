module example.com/imgtool-piprog

go 1.24

require github.com/usbarmory/tamago v1.26.0

// Stock Go cannot build the real board packages (they need GOOS=tamago); this stub
// carries their import paths and TamaGo's RamStart variable, which is all
// `imgtool rpi kernel` reads from the symbols.
replace github.com/usbarmory/tamago => ./tamago-stub
