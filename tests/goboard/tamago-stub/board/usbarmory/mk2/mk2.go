// Package mk2 stands in for github.com/usbarmory/tamago/board/usbarmory/mk2 in tests.
package mk2

var model = "UA-MKII-ULZ"

//go:noinline
func Model() string { return model }
