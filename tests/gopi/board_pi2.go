//go:build pi2

package main

import "github.com/usbarmory/tamago/board/raspberrypi/pi2"

func model() string { return pi2.Model() }
