//go:build !openssl || !cgo

package keys

import (
	"crypto"
	"crypto/rsa"
)

// SignerImplementation names the RSA implementation tokens are signed with.
const SignerImplementation = "go-crypto/rsa"

// newRSASigner returns the signer of a private key. The default build signs
// with Go's crypto/rsa: pure Go, constant time, no C toolchain or shared
// library needed (`go run ./cmd/puguh serve` just works). Build with
// `-tags openssl` (cgo, libcrypto 3) for about three times the signatures per
// core; see docs/performance.md.
func newRSASigner(priv *rsa.PrivateKey) (crypto.Signer, error) { return priv, nil }
