//go:build pizero

package main

import "github.com/usbarmory/tamago/board/raspberrypi/pizero"

func model() string { return pizero.Model() }
