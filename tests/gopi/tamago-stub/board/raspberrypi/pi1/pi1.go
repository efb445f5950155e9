// Package pi1 stands in for github.com/usbarmory/tamago/board/raspberrypi/pi1 in tests.
package pi1

import (
	"fmt"

	"github.com/usbarmory/tamago/soc/bcm2835"
)

//go:noinline
func Model() string { return fmt.Sprintf("pi1 RamStart %#x", bcm2835.RamStart()) }
