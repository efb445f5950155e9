//go:build legacy

// Package bcm2835: RamStart as tamago declared it before 2021 (runtime.ramStart = 0,
// before commit 3d51445 moved it to 0x100000).
package bcm2835

import _ "unsafe"

//go:linkname ramStart runtime.ramStart
var ramStart uint32 = 0

//go:noinline
func RamStart() uint32 { return ramStart }
