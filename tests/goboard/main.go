// A program that links a package at TamaGo's USB armory Mk II board import path.
package main

import (
	"fmt"

	"github.com/usbarmory/tamago/board/usbarmory/mk2"
)

func main() {
	fmt.Println(mk2.Model())
}
