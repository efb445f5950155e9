//go:build pi1

package main

import "github.com/usbarmory/tamago/board/raspberrypi/pi1"

func model() string { return pi1.Model() }
