package password

import (
	"context"
	"errors"
	"runtime"
	"runtime/metrics"
	"strings"
	"sync"
	"testing"
)

// fast keeps the suite quick; OWASP parameters are exercised by the benchmark.
var fast = Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}

func TestHashVerify(t *testing.T) {
	ctx := context.Background()
	h, err := NewHasher(fast, 2)
	if err != nil {
		t.Fatal(err)
	}
	phc, err := h.Hash(ctx, "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(phc, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("not a PHC argon2id string: %s", phc)
	}
	if _, err := h.Verify(ctx, phc, "correct horse battery"); err != nil {
		t.Fatalf("right password: %v", err)
	}
	if _, err := h.Verify(ctx, phc, "correct horse batter"); !errors.Is(err, ErrMismatch) {
		t.Fatalf("wrong password: %v", err)
	}
	// A long password is not truncated: changing its last character matters.
	long := strings.Repeat("x", 200) + "a"
	phc2, _ := h.Hash(ctx, long)
	if _, err := h.Verify(ctx, phc2, strings.Repeat("x", 200)+"b"); !errors.Is(err, ErrMismatch) {
		t.Fatal("long password truncated")
	}
	if err := h.VerifyDummy(ctx, "anything"); err != nil {
		t.Fatal(err)
	}
	stronger, _ := NewHasher(Params{MemoryKiB: 128, Iterations: 2, Parallelism: 1, SaltLen: 16, KeyLen: 32}, 1)
	if rehash, err := stronger.Verify(ctx, phc, "correct horse battery"); err != nil || !rehash {
		t.Fatalf("old parameters should ask for a rehash: %v %v", rehash, err)
	}
}

func TestVerifyMalformed(t *testing.T) {
	h, _ := NewHasher(fast, 1)
	for _, phc := range []string{
		"", "plain", "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=18$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=64,t=1,p=1$!!$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=64,t=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
	} {
		if _, err := h.Verify(context.Background(), phc, "x"); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: got %v, want ErrMalformed", phc, err)
		}
	}
}

func TestNewHasherRejectsWeakParams(t *testing.T) {
	if _, err := NewHasher(Params{MemoryKiB: 1, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}, 1); err == nil {
		t.Fatal("accepted 1 KiB")
	}
}

func TestProblem(t *testing.T) {
	for _, tc := range []struct {
		pw, email, want string
	}{
		{"short", "a@b.co", "ensure this value has at least 8 characters"},
		{strings.Repeat("é", 8), "a@b.co", ""},
		{strings.Repeat("a", 257), "a@b.co", "ensure this value has at most 256 characters"},
		{"Password123", "a@b.co", "password is too common"},
		{"jane.doe@example.com", "Jane.Doe@example.com", "password must not be your email address"},
		{"jane.doe", "jane.doe@example.com", "password must not be your email address"},
		{"zzzzzzzzzz", "a@b.co", "password must not repeat one character"},
		{"correct horse battery staple", "a@b.co", ""},
		// The public API guide registers and logs in with these; its curls must work verbatim.
		{"secure_password", "newuser@example.com", ""},
		{"your_password", "user@example.com", ""},
		{"\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8", "a@b.co", "password is not valid UTF-8"},
	} {
		if got := Problem(tc.pw, tc.email); got != tc.want {
			t.Errorf("Problem(%q) = %q, want %q", tc.pw, got, tc.want)
		}
	}
}

func BenchmarkHashOWASP(b *testing.B) {
	h, _ := NewHasher(OWASP, 0)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := h.Hash(ctx, "correct horse battery staple"); err != nil {
			b.Fatal(err)
		}
	}
}

func TestParamsMemoryBytes(t *testing.T) {
	// serve sizes its memory limit from this: argon2id's m is in KiB.
	if got := OWASP.MemoryBytes(); got != 19456*1024 {
		t.Fatalf("OWASP.MemoryBytes() = %d", got)
	}
	if DefaultConcurrency() != runtime.GOMAXPROCS(0) {
		t.Fatal("DefaultConcurrency is not GOMAXPROCS")
	}
}

// ReclaimAfterEachHash switches on for hashes of at least minBytes only, and
// a reclaiming Hasher's hashes verify as before, each followed by the
// collection that frees its buffer.
func TestReclaimAfterEachHash(t *testing.T) {
	small := Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}
	h, err := NewHasher(small, 1)
	if err != nil {
		t.Fatal(err)
	}
	h.ReclaimAfterEachHash(8 << 20)
	if h.reclaim {
		t.Fatal("reclaim on for 64 KiB hashes")
	}
	h, err = NewHasher(OWASP, 1)
	if err != nil {
		t.Fatal(err)
	}
	h.ReclaimAfterEachHash(8 << 20)
	if !h.reclaim {
		t.Fatal("reclaim off for OWASP hashes")
	}
	ctx := context.Background()
	phc, err := h.Hash(ctx, "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	forced := func() uint64 {
		s := []metrics.Sample{{Name: "/gc/cycles/forced:gc-cycles"}}
		metrics.Read(s)
		return s[0].Value.Uint64()
	}
	before := forced()
	for range 4 {
		if _, err := h.Verify(ctx, phc, "correct horse battery"); err != nil {
			t.Fatal(err)
		}
	}
	if n := forced() - before; n < 4 {
		t.Fatalf("%d collections after 4 hashes, want 4", n)
	}
}

// ObserveReclaims hears of every reclaim with the buffers other hashes hold:
// none for a hash alone, a whole number of buffers below the slots while
// hashes overlap, and nothing when the reclaim is off.
func TestObserveReclaims(t *testing.T) {
	ctx := context.Background()
	h, err := NewHasher(fast, 2)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var seen []int64
	h.ObserveReclaims(func(others int64) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, others)
	})
	if _, err := h.Hash(ctx, "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 0 {
		t.Fatalf("observed %v with the reclaim off", seen)
	}

	h.ReclaimAfterEachHash(0)
	phc, err := h.Hash(ctx, "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 1 || seen[0] != 0 {
		t.Fatalf("one hash alone: observed %v, want [0]", seen)
	}

	seen = nil
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := h.Verify(ctx, phc, "correct horse battery"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if len(seen) != 8 {
		t.Fatalf("8 hashes: %d reclaims observed", len(seen))
	}
	for _, others := range seen {
		// Two slots: at most the other slot's buffer.
		if others != 0 && others != fast.MemoryBytes() {
			t.Fatalf("observed %d bytes held by others, want 0 or one %d-byte buffer", others, fast.MemoryBytes())
		}
	}
	if held := h.hold(0); held != 0 {
		t.Fatalf("%d bytes still counted as held after every hash ended", held)
	}

	// Another hash holding a buffer of a different size throughout: every
	// reclaim reports exactly it, never this hash's own.
	const other = 3 << 20
	h.hold(other)
	seen = nil
	for range 2 {
		if _, err := h.Verify(ctx, phc, "correct horse battery"); err != nil {
			t.Fatal(err)
		}
	}
	h.hold(-other)
	if len(seen) != 2 || seen[0] != other || seen[1] != other {
		t.Fatalf("with another hash's %d bytes held: observed %v", other, seen)
	}
}
