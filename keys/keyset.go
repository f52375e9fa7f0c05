package keys

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/arsaka/puguh/storage"
)

// key is one published key, decoded. signer is set for the active and next
// keys only: retired keys never sign again, so their private halves stay sealed.
type key struct {
	kid   string
	alg   string
	state string
	pub   crypto.PublicKey
	priv  crypto.Signer // the private key itself (*rsa.PrivateKey, …)
	// signer signs with the private key: crypto/rsa by default, OpenSSL with
	// -tags openssl for RS256; crypto/ecdsa and crypto/ed25519 otherwise.
	signer crypto.Signer
}

// keySet is an immutable snapshot of the keys, swapped atomically on reload so
// signing, verification and JWKS requests never touch the database or decrypt.
type keySet struct {
	active    *key            // the RS256 key that signs
	byAlg     map[string]*key // the active key of every algorithm
	published map[string]*key // next, active and retired keys still within their grace
	rows      []storage.SigningKey
	// fingerprint names the published keys and their states; an equal
	// fingerprint means the snapshot can be kept as it is.
	fingerprint  string
	jwks         []byte
	etag         string
	cacheControl string
}

// isPublished reports whether a row belongs in the JWKS at now. A retired
// key leaves at its RemoveAfter even if the row has not been deleted yet.
func isPublished(r *storage.SigningKey, now time.Time) bool {
	if r.State != storage.KeyStateRetired {
		return true
	}
	return r.RemoveAfter == nil || now.Before(*r.RemoveAfter)
}

// buildKeySet decodes rows into a snapshot, reusing decoded keys from prev so a
// reload without changes costs no decryption and keeps the same ETag.
func buildKeySet(rows []storage.SigningKey, now time.Time, prev *keySet, s *sealer, maxAge time.Duration) (*keySet, error) {
	var fp strings.Builder
	for i := range rows {
		if isPublished(&rows[i], now) {
			fmt.Fprintf(&fp, "%s:%s;", rows[i].KID, rows[i].State)
		}
	}
	if prev != nil && prev.fingerprint == fp.String() {
		next := *prev
		next.rows = rows
		return &next, nil
	}

	set := &keySet{published: make(map[string]*key), byAlg: make(map[string]*key), rows: rows, fingerprint: fp.String()}
	jwks := struct {
		Keys []publicJWK `json:"keys"`
	}{Keys: []publicJWK{}}
	for i := range rows {
		r := &rows[i]
		if !isPublished(r, now) {
			continue
		}
		k, err := decodeKey(r, prev, s)
		if err != nil {
			return nil, err
		}
		set.published[k.kid] = k
		if k.state == storage.KeyStateActive {
			set.byAlg[k.alg] = k
		}
		j := jwkOf(k.pub)
		j.Use, j.Kid = "sig", k.kid
		jwks.Keys = append(jwks.Keys, j)
	}
	set.active = set.byAlg[AlgRS256]
	if set.active == nil {
		return nil, fmt.Errorf("keys: no active RS256 signing key in the database")
	}
	body, err := json.Marshal(jwks)
	if err != nil {
		return nil, fmt.Errorf("keys: encode JWKS: %w", err)
	}
	sum := sha256.Sum256(body)
	set.jwks = body
	// A strong validator (RFC 9110 §8.8.1): it changes with every byte of the body.
	set.etag = `"` + base64.RawURLEncoding.EncodeToString(sum[:]) + `"`
	set.cacheControl = "public, max-age=" + strconv.Itoa(int(maxAge/time.Second))
	return set, nil
}

// decodeKey parses a row, reusing prev's decoded key when the state allows.
func decodeKey(r *storage.SigningKey, prev *keySet, s *sealer) (*key, error) {
	needPriv := r.State == storage.KeyStateActive || r.State == storage.KeyStateNext
	if prev != nil {
		if old, ok := prev.published[r.KID]; ok && (old.signer != nil || !needPriv) {
			return &key{kid: old.kid, alg: old.alg, state: r.State, pub: old.pub, priv: old.priv, signer: old.signer}, nil
		}
	}
	if !ValidAlgorithm(r.Algorithm) {
		return nil, fmt.Errorf("keys: key %s has algorithm %q; supported: %v", r.KID, r.Algorithm, SupportedAlgorithms())
	}
	pub, err := x509.ParsePKIXPublicKey(r.PublicKeyDER)
	if err != nil {
		return nil, fmt.Errorf("keys: key %s: parse public key: %w", r.KID, err)
	}
	if err := checkPublicKey(r.Algorithm, pub); err != nil {
		return nil, fmt.Errorf("keys: key %s: %w", r.KID, err)
	}
	// The kid is the key's RFC 7638 thumbprint, so a row whose public key was
	// replaced is caught here rather than published under a trusted kid.
	if thumbprint(pub) != r.KID {
		return nil, fmt.Errorf("keys: key %s: kid does not match its public key", r.KID)
	}
	k := &key{kid: r.KID, alg: r.Algorithm, state: r.State, pub: pub}
	if !needPriv {
		return k, nil
	}
	der, err := s.open(r.KID, r.PrivateKeySealed)
	if err != nil {
		return nil, err
	}
	parsedPriv, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("keys: key %s: parse private key: %w", r.KID, err)
	}
	priv, ok := parsedPriv.(crypto.Signer)
	if !ok || !publicEqual(priv.Public(), pub) {
		return nil, fmt.Errorf("keys: key %s: private key does not match public key: %w", r.KID, ErrWrongSecret)
	}
	k.priv, k.signer = priv, priv
	if rsaPriv, ok := priv.(*rsa.PrivateKey); ok {
		if k.signer, err = newRSASigner(rsaPriv); err != nil {
			return nil, fmt.Errorf("keys: key %s: %w", r.KID, err)
		}
	}
	return k, nil
}

// publicEqual compares two public keys of any of our types.
func publicEqual(a, b crypto.PublicKey) bool {
	ea, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && ea.Equal(b)
}
