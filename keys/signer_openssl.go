//go:build openssl && cgo

package keys

/*
#cgo LDFLAGS: -lcrypto
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

static EVP_PKEY *puguh_load_rsa(const unsigned char *der, long len) {
	const unsigned char *p = der;
	return d2i_AutoPrivateKey(NULL, &p, len);
}

// puguh_sign_sha256 signs a SHA-256 digest with RSASSA-PKCS1-v1_5 (RS256).
static int puguh_sign_sha256(EVP_PKEY *pkey, const unsigned char *digest, unsigned char *sig, size_t *siglen) {
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(pkey, NULL);
	if (ctx == NULL) return 0;
	int ok = EVP_PKEY_sign_init(ctx) > 0
		&& EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0
		&& EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) > 0
		&& EVP_PKEY_sign(ctx, sig, siglen, digest, 32) > 0;
	EVP_PKEY_CTX_free(ctx);
	return ok;
}
*/
import "C"

import (
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"runtime"
	"unsafe"
)

// SignerImplementation names the RSA implementation tokens are signed with.
const SignerImplementation = "openssl"

// opensslSigner signs RS256 digests with OpenSSL's libcrypto. EVP_PKEY is
// safe to share between threads for signing; each call has its own context.
type opensslSigner struct {
	pub  *rsa.PublicKey
	pkey *C.EVP_PKEY
	size int
}

// newRSASigner loads priv into OpenSSL. The key material is passed as DER
// and freed by OpenSSL with the EVP_PKEY when the signer is collected.
func newRSASigner(priv *rsa.PrivateKey) (crypto.Signer, error) {
	der := x509.MarshalPKCS1PrivateKey(priv)
	pkey := C.puguh_load_rsa((*C.uchar)(unsafe.Pointer(&der[0])), C.long(len(der)))
	clear(der)
	if pkey == nil {
		return nil, errors.New("keys: openssl could not load the signing key")
	}
	s := &opensslSigner{pub: &priv.PublicKey, pkey: pkey, size: priv.Size()}
	runtime.AddCleanup(s, func(p *C.EVP_PKEY) { C.EVP_PKEY_free(p) }, pkey)
	return s, nil
}

func (s *opensslSigner) Public() crypto.PublicKey { return s.pub }

// Sign signs a SHA-256 digest; it is the only hash our tokens use.
func (s *opensslSigner) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if opts.HashFunc() != crypto.SHA256 || len(digest) != 32 {
		return nil, fmt.Errorf("keys: openssl signer: only SHA-256 digests are supported")
	}
	sig := make([]byte, s.size)
	n := C.size_t(len(sig))
	ok := C.puguh_sign_sha256(s.pkey, (*C.uchar)(unsafe.Pointer(&digest[0])), (*C.uchar)(unsafe.Pointer(&sig[0])), &n)
	runtime.KeepAlive(s)
	if ok != 1 {
		return nil, errors.New("keys: openssl signing failed")
	}
	return sig[:n], nil
}
