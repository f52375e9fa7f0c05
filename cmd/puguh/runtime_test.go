package main

import (
	"math"

	"runtime"
	"runtime/debug"
	"testing"

	"github.com/arsaka/puguh/cmd/puguh/config"
	"github.com/arsaka/puguh/provider/password"
)

// fakeMem is a scripted memSample source for memReleaser; a release brings
// the heap held back to live.
type fakeMem struct {
	s        memSample
	live     uint64
	released int
}

func (f *fakeMem) releaser() *memReleaser {
	return &memReleaser{
		read:           func() memSample { return f.s },
		release:        func() { f.released++; f.s.held = f.live },
		minReclaimable: 16 << 20, quietAlloc: 4 << 20, quietTicks: 2,
	}
}

func TestMemReleaserWaitsUntilQuiet(t *testing.T) {
	f := &fakeMem{s: memSample{allocs: 30 << 20, held: 25 << 20}, live: 5 << 20}
	m := f.releaser()
	m.releaseNow() // start-up: the dummy hash's 19 MiB go back at once
	if f.released != 1 || m.floor != 5<<20 {
		t.Fatalf("start-up release: released %d, floor %d", f.released, m.floor)
	}
	// A burst of sign-ins: 19 MiB per hash, 60 MiB held beyond the live heap.
	for i := 0; i < 5; i++ {
		f.s.allocs += 40 << 20
		f.s.held = 65 << 20
		if m.tick() {
			t.Fatalf("tick %d: released while busy", i)
		}
	}
	// Quiet (a few small requests): the first quiet tick waits, the second releases.
	f.s.allocs += 100 << 10
	if m.tick() {
		t.Fatal("released after one quiet tick")
	}
	f.s.allocs += 100 << 10
	if !m.tick() || f.released != 2 {
		t.Fatalf("not released after two quiet ticks (released %d)", f.released)
	}
	// Still quiet, nothing left to give back: no further forced collections.
	for i := 0; i < 5; i++ {
		f.s.allocs += 100 << 10
		if m.tick() {
			t.Fatalf("released again with nothing reclaimable")
		}
	}
	// Busy in between resets the count.
	f.s.held = 65 << 20
	f.s.allocs += 100 << 10
	m.tick()
	f.s.allocs += 20 << 20
	m.tick()
	f.s.allocs += 100 << 10
	if m.tick() {
		t.Fatal("released after one quiet tick following a busy one")
	}
	// A heap that grew by less than minReclaimable is left alone.
	f.s.held = f.live + 8<<20
	for i := 0; i < 3; i++ {
		f.s.allocs += 100 << 10
		if m.tick() {
			t.Fatal("forced a collection for 8 MiB")
		}
	}
}

// The real thing: garbage the size of an argon2id hash is handed back to the OS.
func TestReleaseReturnsGarbageToTheOS(t *testing.T) {
	garbage := make([]byte, 48<<20)
	for i := range garbage {
		garbage[i] = 1
	}
	runtime.KeepAlive(garbage)
	garbage = nil
	runtime.GC() // the garbage is now free but still held (a dense chunk is scavenged only later)
	before := readMemSample().held
	if before < 48<<20 {
		t.Skipf("runtime already returned the memory (%d MiB held); nothing to test", before>>20)
	}
	newMemReleaser().releaseNow()
	if after := readMemSample().held; after > before-32<<20 {
		t.Fatalf("%d MiB held after release, %d MiB before", after>>20, before>>20)
	}
}

func TestApplyMemoryLimit(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	t.Cleanup(func() { debug.SetMemoryLimit(before) })
	debug.SetMemoryLimit(math.MaxInt64)

	if got := applyMemoryLimit(96<<20, func(string) string { return "" }); got != 96<<20 {
		t.Fatalf("limit %d, want 96 MiB", got)
	}
	debug.SetMemoryLimit(math.MaxInt64)
	if got := applyMemoryLimit(0, func(string) string { return "" }); got != math.MaxInt64 {
		t.Fatalf("limit %d with PUGUH_MEMORY_LIMIT off", got)
	}
	debug.SetMemoryLimit(math.MaxInt64)
	want := autoMemoryLimit(password.DefaultConcurrency(), password.OWASP.MemoryBytes())
	if got := applyMemoryLimit(config.MemoryLimitAuto, func(string) string { return "" }); got != want {
		t.Fatalf("auto: limit %d, want %d", got, want)
	}
	// GOMEMLIMIT (applied by the runtime itself) wins over the setting.
	debug.SetMemoryLimit(200 << 20)
	gomemlimit := func(k string) string {
		if k == "GOMEMLIMIT" {
			return "200MiB"
		}
		return ""
	}
	if got := applyMemoryLimit(96<<20, gomemlimit); got != 200<<20 {
		t.Fatalf("limit %d, want GOMEMLIMIT's 200 MiB", got)
	}
	if memoryLimitAttr(math.MaxInt64) != "none" || memoryLimitAttr(96<<20) != "96MiB" {
		t.Fatal("memoryLimitAttr")
	}
}

func TestAutoMemoryLimit(t *testing.T) {
	hash := password.OWASP.MemoryBytes() // 19 MiB
	if got := autoMemoryLimit(2, hash); got != 224<<20 {
		t.Fatalf("2 hashes: %d MiB, want 224", got>>20)
	}
	// More hashes at once: the limit stays above their buffers plus garbage.
	for _, n := range []int{1, 4, 16} {
		if got := autoMemoryLimit(n, hash); got < 2*int64(n)*hash+cacheAllowance+16<<20 {
			t.Fatalf("%d hashes: %d MiB is under their working set", n, got>>20)
		}
	}
}

func TestApplyGCPercent(t *testing.T) {
	before := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(before) })

	if got := applyGCPercent(func(string) string { return "" }); got != serveGCPercent || debug.SetGCPercent(100) != serveGCPercent {
		t.Fatalf("GOGC unset: %d, want %d in force", got, serveGCPercent)
	}
	// GOGC set: the runtime applied it at start (here: 100); it stays.
	gogc := func(k string) string {
		if k == "GOGC" {
			return "100"
		}
		return ""
	}
	if got := applyGCPercent(gogc); got != 100 || debug.SetGCPercent(100) != 100 {
		t.Fatalf("GOGC=100: %d in force", got)
	}
}
