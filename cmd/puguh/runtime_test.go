package main

import (
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

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

// fakeLimit records the memory limits a hashMemoryLimit sets.
type fakeLimit struct {
	mu  sync.Mutex
	set []int64
	ch  chan int64
}

func (f *fakeLimit) record(n int64) int64 {
	f.mu.Lock()
	f.set = append(f.set, n)
	f.mu.Unlock()
	if f.ch != nil {
		f.ch <- n
	}
	return 0
}

func (f *fakeLimit) last() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.set[len(f.set)-1]
}

// After each reclaim the limit is the memory in use without the other
// hashes' buffers, plus every slot's buffer and the headroom, over the 97%
// of a limit the runtime aims for; never above the ceiling, never counting
// a negative heap.
func TestHashMemoryLimitFitsTheHeapInUse(t *testing.T) {
	const mib = 1 << 20
	hash := password.OWASP.MemoryBytes()
	fitted := func(rest int64) int64 { return (rest + 2*hash + 2*mib) * 100 / 97 }
	tests := []struct {
		name    string
		inUse   int64
		others  int64
		ceiling int64
		want    int64
	}{
		{"alone", 13 * mib, 0, 224 * mib, fitted(13 * mib)},
		{"the other slot's buffer is not the rest's", 13*mib + hash, hash, 224 * mib, fitted(13 * mib)},
		{"full caches: the ceiling", 205 * mib, 0, 224 * mib, 224 * mib},
		{"an explicit lower ceiling", 13 * mib, 0, 48 * mib, 48 * mib},
		{"more counted than in use", 4 * mib, 2 * hash, 224 * mib, fitted(0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f fakeLimit
			l := newHashMemoryLimit(tt.ceiling, 2, hash)
			l.inUse = func() int64 { return tt.inUse }
			l.set = f.record
			l.idleAfter = time.Hour
			l.afterReclaim(tt.others)
			t.Cleanup(l.stop)
			if got := f.last(); got != tt.want {
				t.Fatalf("limit %.1f MiB, want %.1f MiB", float64(got)/mib, float64(tt.want)/mib)
			}
		})
	}
	// At two OWASP slots and a small heap: about 55 MiB, the order of the
	// 56 MiB that measured well as a fixed limit (docs/performance.md).
	if got := fitted(13 * mib); got < 50*mib || got > 60*mib {
		t.Fatalf("a small heap's fitted limit is %d MiB", got/mib)
	}
}

// Once no reclaim has come for idleAfter the ceiling is back; a timer that
// fires right after a reclaim leaves the fitted limit alone; stop restores
// the ceiling for good.
func TestHashMemoryLimitRestoresTheCeiling(t *testing.T) {
	clock := time.Unix(1_000_000, 0)
	f := fakeLimit{ch: make(chan int64, 16)}
	l := newHashMemoryLimit(224<<20, 2, password.OWASP.MemoryBytes())
	l.inUse = func() int64 { return 13 << 20 }
	l.set = f.record
	l.now = func() time.Time { return clock }
	l.idleAfter = time.Hour // the timer stays out of the way; restore is called by hand

	l.afterReclaim(0)
	fitted := <-f.ch
	if fitted >= 224<<20 {
		t.Fatalf("fitted limit %d is the ceiling", fitted)
	}
	clock = clock.Add(time.Minute)
	l.restore()
	if len(f.ch) != 0 {
		t.Fatalf("restored to %d a minute after a reclaim, idleAfter an hour", <-f.ch)
	}
	clock = clock.Add(time.Hour)
	l.restore()
	if got := <-f.ch; got != 224<<20 {
		t.Fatalf("after an idle hour: limit %d, want the ceiling", got)
	}
	l.afterReclaim(0)
	<-f.ch
	l.stop()
	if got := <-f.ch; got != 224<<20 {
		t.Fatalf("after stop: limit %d, want the ceiling", got)
	}
	// A reclaim after stop (a request outliving the drain) and a late
	// timer leave the ceiling alone.
	l.afterReclaim(0)
	clock = clock.Add(2 * time.Hour)
	l.restore()
	if len(f.ch) != 0 {
		t.Fatalf("after stop the limit moved to %d", <-f.ch)
	}
}

// The timer itself puts the ceiling back once reclaims stop.
func TestHashMemoryLimitTimer(t *testing.T) {
	f := fakeLimit{ch: make(chan int64, 16)}
	l := newHashMemoryLimit(224<<20, 2, password.OWASP.MemoryBytes())
	l.inUse = func() int64 { return 13 << 20 }
	l.set = f.record
	l.idleAfter = 10 * time.Millisecond
	t.Cleanup(l.stop)
	l.afterReclaim(0)
	if got := <-f.ch; got >= 224<<20 {
		t.Fatalf("fitted limit %d is the ceiling", got)
	}
	select {
	case got := <-f.ch:
		if got != 224<<20 {
			t.Fatalf("the timer set %d, want the ceiling", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the ceiling never came back")
	}
}

// memoryInUse reads this process: more than its live heap, less than all
// the runtime holds.
func TestMemoryInUse(t *testing.T) {
	runtime.GC()
	live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(live)
	inUse := memoryInUse()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if inUse <= int64(live[0].Value.Uint64()) || inUse >= int64(ms.Sys) {
		t.Fatalf("in use %d: want above the live heap %d and below the runtime's total %d", inUse, live[0].Value.Uint64(), ms.Sys)
	}
}

// serve fits the limit while hashing only when the limit is PUGUH_MEMORY_LIMIT's
// and every hash is reclaimed.
func TestFitMemoryLimitWhileHashing(t *testing.T) {
	none := func(string) string { return "" }
	gomemlimit := func(k string) string {
		if k == "GOMEMLIMIT" {
			return "200MiB"
		}
		return ""
	}
	tests := []struct {
		name    string
		reclaim bool
		limit   int64
		getenv  func(string) string
		fitted  bool
	}{
		{"auto", true, 224 << 20, none, true},
		{"explicit", true, 96 << 20, none, true},
		{"PUGUH_MEMORY_LIMIT=off", true, math.MaxInt64, none, false},
		{"GOMEMLIMIT set", true, 200 << 20, gomemlimit, false},
		{"PUGUH_ARGON2_RECLAIM=false", false, 224 << 20, none, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fit := fitMemoryLimitWhileHashing(tt.reclaim, tt.limit, tt.getenv)
			if (fit != nil) != tt.fitted {
				t.Fatalf("fitted = %v, want %v", fit != nil, tt.fitted)
			}
			if fit != nil && (fit.ceiling != tt.limit || fit.working != int64(password.DefaultConcurrency())*password.OWASP.MemoryBytes()) {
				t.Fatalf("ceiling %d, working %d", fit.ceiling, fit.working)
			}
		})
	}
}
