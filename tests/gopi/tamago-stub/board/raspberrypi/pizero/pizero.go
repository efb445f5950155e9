// Package pizero stands in for github.com/usbarmory/tamago/board/raspberrypi/pizero in tests.
package pizero

import (
	"fmt"

	"github.com/usbarmory/tamago/soc/bcm2835"
)

//go:noinline
func Model() string { return fmt.Sprintf("pizero RamStart %#x", bcm2835.RamStart()) }
