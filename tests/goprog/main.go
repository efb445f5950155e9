// Test program for imgtool: small, but with real-sized pclntab and rodata (fmt, crypto,
// encoding/json, net/http) and one versioned dependency in its build information.
package main

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/usbarmory/tamago/bits"
)

type reply struct {
	Sum  string `json:"sum"`
	Mask uint32 `json:"mask"`
}

func main() {
	var reg uint32
	bits.SetN(&reg, 4, 0xf, 0xa)
	h := sha256.Sum256([]byte("imgtool"))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(reply{Sum: fmt.Sprintf("%x", h), Mask: reg})
	}))
	defer srv.Close()
	fmt.Println(srv.URL, bits.GetN(&reg, 4, 0xf))
}
