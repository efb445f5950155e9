// A program that links a package at a TamaGo Raspberry Pi board import path, chosen by
// build tag (pizero, pi1, pi2); the tag legacy gives it the RamStart of tamago before
// 2021 (runtime.ramStart = 0) instead of today's (runtime/goos.RamStart = 0x100000).
package main

import "fmt"

func main() {
	fmt.Println(model())
}
