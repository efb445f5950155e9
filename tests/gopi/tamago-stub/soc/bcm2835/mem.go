//go:build !legacy

// Package bcm2835 stands in for github.com/usbarmory/tamago/soc/bcm2835 in tests: the
// RamStart variable as tamago v1.26.0 declares it (soc/bcm2835/mem.go).
package bcm2835

import _ "unsafe"

//go:linkname ramStart runtime/goos.RamStart
var ramStart uint32 = 0x00100000

//go:noinline
func RamStart() uint32 { return ramStart }
