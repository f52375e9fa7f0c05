// Package password hashes and verifies passwords with argon2id, stored in the
// PHC string format so parameters can be raised later without breaking old
// hashes, and checks new passwords against a small policy.
package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id's cost parameters.
type Params struct {
	MemoryKiB   uint32
	Iterations  uint32
	Parallelism uint8
	SaltLen     int
	KeyLen      uint32
}

// OWASP is the OWASP Password Storage Cheat Sheet's argon2id baseline
// (m=19456 KiB, t=2, p=1), which ASVS 5.0 accepts (docs/security.md, "Accounts and sessions").
var OWASP = Params{MemoryKiB: 19456, Iterations: 2, Parallelism: 1, SaltLen: 16, KeyLen: 32}

// MemoryBytes is the memory one hash with p allocates (and holds until it
// returns): argon2id's m, in bytes.
func (p Params) MemoryBytes() int64 { return int64(p.MemoryKiB) << 10 }

// DefaultConcurrency is how many hashes a Hasher made with concurrency 0 runs
// at once: one per CPU the Go scheduler uses (GOMAXPROCS).
func DefaultConcurrency() int { return runtime.GOMAXPROCS(0) }

// ErrMismatch means the password does not match the hash.
var ErrMismatch = errors.New("password: mismatch")

// ErrMalformed means the stored hash is not an argon2id PHC string we can read.
var ErrMalformed = errors.New("password: malformed hash")

// Hasher hashes and verifies passwords. At most a fixed number of hashes run
// at once: argon2id is memory- and CPU-hard on purpose, and unbounded
// concurrent logins would starve every other request of CPU.
type Hasher struct {
	params Params
	slots  chan struct{}
	dummy  string // a real hash of a random password, verified for unknown users
	// reclaim collects a hash's buffer before its slot takes the next hash
	// (ReclaimAfterEachHash).
	reclaim bool
	// afterReclaim is told, after each reclaim, how many bytes of buffers
	// other hashes hold (ObserveReclaims).
	afterReclaim func(othersBytes int64)
	mu           sync.Mutex
	holding      int64 // bytes of the buffers allocated, or about to be
}

// ObserveReclaims calls f right after each hash's reclaim collection (see
// ReclaimAfterEachHash) with the bytes of the buffers other hashes hold at
// that moment: the heap in use then is the rest of the process, those
// buffers, and possibly one whose hash ended during the collection, which
// that hash's own reclaim frees next. serve fits the runtime's memory limit to it.
// Calls may come from several goroutines at once. Call it before the Hasher
// is used.
func (h *Hasher) ObserveReclaims(f func(othersBytes int64)) { h.afterReclaim = f }

// hold adds d bytes of buffer held (negative: a buffer is garbage) and
// returns the bytes held then.
func (h *Hasher) hold(d int64) int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.holding += d
	return h.holding
}

// ReclaimAfterEachHash makes every hash of at least minBytes of memory
// collect its garbage (runtime.GC) before its slot takes the next one, so
// the heap never holds more argon2id buffers than there are slots: each hash
// allocates its buffer (x/crypto/argon2 has no way to reuse one) and drops it
// when it returns, and left to the pacer the dropped buffers pile up while
// new ones are allocated (under saturating sign-ins at OWASP's 19 MiB: a
// 114–118 MB peak RSS without, 76 MB with). The price is a second collection
// per hash, about a tenth more CPU per sign-in in docs/performance.md's
// measurements. Call it before the Hasher is used.
func (h *Hasher) ReclaimAfterEachHash(minBytes int64) {
	h.reclaim = h.params.MemoryBytes() >= minBytes
}

// NewHasher returns a Hasher with params, running at most concurrency hashes at
// once (0: GOMAXPROCS).
func NewHasher(params Params, concurrency int) (*Hasher, error) {
	if params.MemoryKiB < 8*uint32(params.Parallelism) || params.Iterations < 1 || params.Parallelism < 1 || params.SaltLen < 8 || params.KeyLen < 16 {
		return nil, fmt.Errorf("password: argon2id parameters too weak: %+v", params)
	}
	if concurrency <= 0 {
		concurrency = DefaultConcurrency()
	}
	h := &Hasher{params: params, slots: make(chan struct{}, concurrency)}
	var random [24]byte
	if _, err := rand.Read(random[:]); err != nil {
		return nil, fmt.Errorf("password: %w", err)
	}
	dummy, err := h.Hash(context.Background(), base64.RawStdEncoding.EncodeToString(random[:]))
	if err != nil {
		return nil, err
	}
	h.dummy = dummy
	return h, nil
}

// Hash returns the PHC string of password: $argon2id$v=19$m=…,t=…,p=…$salt$hash.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, h.params.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password: salt: %w", err)
	}
	key, err := h.derive(ctx, password, salt, h.params)
	if err != nil {
		return "", err
	}
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version,
		h.params.MemoryKiB, h.params.Iterations, h.params.Parallelism, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Verify checks password against a PHC hash in constant time. It returns
// ErrMismatch for a wrong password, and reports whether the hash should be
// replaced because it uses weaker parameters than the current ones.
func (h *Hasher) Verify(ctx context.Context, phc, password string) (needsRehash bool, err error) {
	p, salt, want, err := parsePHC(phc)
	if err != nil {
		return false, err
	}
	got, err := h.derive(ctx, password, salt, p)
	if err != nil {
		return false, err
	}
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return false, ErrMismatch
	}
	return p.MemoryKiB < h.params.MemoryKiB || p.Iterations < h.params.Iterations || p.Parallelism != h.params.Parallelism, nil
}

// VerifyDummy spends the same time as Verify on a hash that never matches. Use
// it when the account does not exist, so that "no such user" and "wrong
// password" take the same time (docs/security.md, "Accounts and sessions").
func (h *Hasher) VerifyDummy(ctx context.Context, password string) error {
	_, err := h.Verify(ctx, h.dummy, password+"\x00never")
	if errors.Is(err, ErrMismatch) {
		return nil
	}
	return err
}

func (h *Hasher) derive(ctx context.Context, password string, salt []byte, p Params) ([]byte, error) {
	select {
	case h.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("password: waiting for a hashing slot: %w", ctx.Err())
	}
	defer func() { <-h.slots }()
	h.hold(p.MemoryBytes())
	key := argon2.IDKey([]byte(password), salt, p.Iterations, p.MemoryKiB, p.Parallelism, p.KeyLen)
	h.hold(-p.MemoryBytes())
	if h.reclaim {
		runtime.GC() // the buffer is garbage now: free it while this slot is still taken
		if h.afterReclaim != nil {
			h.afterReclaim(h.hold(0))
		}
	}
	return key, nil
}

// parsePHC reads $argon2id$v=19$m=M,t=T,p=P$salt$hash.
func parsePHC(phc string) (Params, []byte, []byte, error) {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return Params{}, nil, nil, ErrMalformed
	}
	var p Params
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if !ok || err != nil {
			return Params{}, nil, nil, ErrMalformed
		}
		switch k {
		case "m":
			p.MemoryKiB = uint32(n)
		case "t":
			p.Iterations = uint32(n)
		case "p":
			if n > 255 {
				return Params{}, nil, nil, ErrMalformed
			}
			p.Parallelism = uint8(n)
		default:
			return Params{}, nil, nil, ErrMalformed
		}
	}
	// Refuse absurd costs from a tampered row rather than allocate gigabytes.
	if p.MemoryKiB == 0 || p.MemoryKiB > 4<<20 || p.Iterations == 0 || p.Iterations > 100 || p.Parallelism == 0 {
		return Params{}, nil, nil, ErrMalformed
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	key, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(key) < 16 || len(key) > 128 {
		return Params{}, nil, nil, ErrMalformed
	}
	p.SaltLen, p.KeyLen = len(salt), uint32(len(key))
	return p, salt, key, nil
}
