// Package pi2 stands in for github.com/usbarmory/tamago/board/raspberrypi/pi2 in tests.
package pi2

import (
	"fmt"

	"github.com/usbarmory/tamago/soc/bcm2835"
)

//go:noinline
func Model() string { return fmt.Sprintf("pi2 RamStart %#x", bcm2835.RamStart()) }
