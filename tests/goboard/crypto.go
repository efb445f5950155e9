//go:build withcrypto

// With -tags withcrypto the program also imports crypto/rand, as a TamaGo program does
// through its runtime: since Go 1.26 that links crypto/internal/fips140/drbg.memory, a
// 32 MiB .noptrbss variable (the compact-image tests, docs/compact.md).
package main

import "crypto/rand"

// seed keeps the read from being optimised away.
var seed byte

func init() {
	var b [16]byte
	_, _ = rand.Read(b[:])
	seed = b[0]
}
