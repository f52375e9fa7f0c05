// Package apikeys mints and verifies Puguh's API keys: the key format, its
// hash, and the Verifier that turns an X-API-Key header into an
// authz.Principal cheaply (a bounded in-process cache, batched last-use
// writes, revocation fanned out to every replica).
package credentials

import (
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash/crc32"
	"math/big"
	"strings"
)

// Key format: "pgh_" + 43 base62 characters (32 random bytes, zero-padded)
// + 6 base62 characters of CRC32 over everything before them, 53 characters
// in all. The fixed prefix lets secret scanners (GitHub push protection,
// gitleaks) recognise a leaked key; the checksum lets us reject a mistyped or
// truncated key without touching the cache or the database, as GitHub's
// tokens do. The checksum is not a secret and adds no security: anyone can
// compute it, it only filters noise.
const (
	Prefix        = "pgh_"
	bodyLen       = 43 // ceil(256 / log2(62))
	checksumLen   = 6  // ceil(32 / log2(62))
	KeyLen        = len(Prefix) + bodyLen + checksumLen
	displayLen    = len(Prefix) + 8
	base62Digits  = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	randomBytes   = 32
	checksumInput = len(Prefix) + bodyLen
)

// ErrMalformed is returned by Parse for anything that is not a well-formed key.
var ErrMalformed = errors.New("apikeys: malformed key")

// Secret is a freshly generated key. Key is shown to its owner once and then
// forgotten; only Hash is stored.
type Secret struct {
	Key     string // the whole key, e.g. pgh_…
	Display string // the first characters, safe to show in listings
	Hash    []byte // SHA-256 of Key
}

// Generate returns a new key from the operating system's CSPRNG: 256 bits of
// entropy (docs/security.md, "Tokens and keys", asks for at least 128).
func Generate() (Secret, error) {
	var b [randomBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		return Secret{}, err
	}
	body := base62(new(big.Int).SetBytes(b[:]), bodyLen)
	key := Prefix + body + checksum(Prefix+body)
	return Secret{Key: key, Display: key[:displayLen], Hash: Hash(key)}, nil
}

// Hash is how a key is stored and looked up.
//
// SHA-256 and not argon2id: a slow, salted hash protects low-entropy secrets
// such as passwords, where an attacker who steals the table can try the likely
// candidates. A key has 256 random bits; even at a trillion SHA-256 guesses
// per second, finding one preimage takes ~10^57 years, so slowness buys
// nothing. It would cost a lot: every API request verifies a key, and argon2id
// at OWASP cost is ~50 ms and 19 MiB per call. An unsalted hash also lets us
// find the key by its hash with a unique index, in one lookup.
func Hash(key string) []byte {
	sum := sha256.Sum256([]byte(key))
	return sum[:]
}

// Parse checks the shape and checksum of key. It answers ErrMalformed for
// anything else, without saying what is wrong.
func Parse(key string) error {
	if len(key) != KeyLen || !strings.HasPrefix(key, Prefix) {
		return ErrMalformed
	}
	for i := len(Prefix); i < len(key); i++ {
		if strings.IndexByte(base62Digits, key[i]) < 0 {
			return ErrMalformed
		}
	}
	if checksum(key[:checksumInput]) != key[checksumInput:] {
		return ErrMalformed
	}
	return nil
}

// DisplayPrefix is the part of a key shown in listings.
func DisplayPrefix(key string) string {
	if len(key) < displayLen {
		return key
	}
	return key[:displayLen]
}

func checksum(s string) string {
	return base62(new(big.Int).SetUint64(uint64(crc32.ChecksumIEEE([]byte(s)))), checksumLen)
}

// base62 writes n in base 62, left-padded with zeros to width.
func base62(n *big.Int, width int) string {
	s := n.Text(62) // big.Int uses 0-9a-zA-Z for bases above 36, as base62Digits does
	if len(s) < width {
		s = strings.Repeat("0", width-len(s)) + s
	}
	return s
}

// ClientSecretPrefix starts every OAuth client secret, for secret scanners.
const ClientSecretPrefix = "pghs_"

// ClientSecret is a freshly generated OAuth client secret: Secret is shown
// to its owner once, only Hash is stored.
type ClientSecret struct {
	Secret string
	Hash   []byte
}

// NewClientSecret returns a new OAuth client secret (applications and
// service accounts): "pghs_" and 32 random bytes in base62, and its
// HashClientSecret. It carries no checksum: it is only ever checked by the
// token endpoint, which must look it up anyway.
func NewClientSecret() (ClientSecret, error) {
	var b [randomBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		return ClientSecret{}, fmt.Errorf("credentials: client secret: %w", err)
	}
	s := ClientSecretPrefix + base62(new(big.Int).SetBytes(b[:]), bodyLen)
	return ClientSecret{Secret: s, Hash: HashClientSecret(s)}, nil
}

// HashClientSecret is how client secrets are stored and compared: SHA-256,
// for the reason given at Hash (the token endpoint's fosite hasher,
// oauth.SecretHasher, computes the same).
func HashClientSecret(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}
