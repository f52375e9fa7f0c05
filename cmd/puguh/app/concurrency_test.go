package app

import (
	"runtime"
	"testing"

	"github.com/arsaka/puguh/cmd/puguh/config"
	"github.com/arsaka/puguh/keys"
)

// auto becomes a bound per processor; a number the operator chose, or off
// (0), is kept as it is. client_credentials gets two slots per processor only
// where the signature is a cgo call (OpenSSL).
func TestConcurrencyResolvesAuto(t *testing.T) {
	procs := runtime.GOMAXPROCS(0)
	for _, tc := range []struct {
		n, perProcessor, want int
	}{
		{config.ConcurrencyAuto, 1, procs},
		{config.ConcurrencyAuto, 2, 2 * procs},
		{0, 2, 0},
		{7, 2, 7},
	} {
		if got := concurrency(tc.n, tc.perProcessor); got != tc.want {
			t.Errorf("concurrency(%d, %d) = %d, want %d", tc.n, tc.perProcessor, got, tc.want)
		}
	}
	want := 1
	if keys.SignerImplementation == "openssl" {
		want = 2
	}
	if got := signingPerProcessor(); got != want {
		t.Errorf("signingPerProcessor() with %s = %d, want %d", keys.SignerImplementation, got, want)
	}
}
