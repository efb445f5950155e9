// hello: the example imgtool's README runs its main job on. A small Go program linked
// in the USB armory Mk II layout (TEXT_START 0x80010000, as TamaGo boards do):
//
//	GOOS=linux GOARCH=arm GOARM=7 go build -ldflags "-w -T 0x80010000 -R 0x1000" -o hello.elf
//
// (GOOS=tamago needs the tamago-go toolchain; the link layout is what imgtool cares about.)
package main

import (
	"crypto/sha256"
	"fmt"
)

func main() {
	sum := sha256.Sum256([]byte("hello, bare metal"))
	fmt.Printf("hello %x\n", sum[:8])
}
