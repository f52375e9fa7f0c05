package main

import (
	"context"
	"log/slog"
	"math"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"sync"
	"time"

	"github.com/arsaka/puguh/cmd/puguh/config"
	"github.com/arsaka/puguh/provider/password"
)

// Serve-time settings of the Go runtime: when heap memory goes back to the
// operating system, and how far the heap may grow under load.
//
// Why: argon2id at OWASP parameters allocates 19 MiB per hash and drops it a
// few milliseconds later. The runtime returns freed pages lazily (a chunk that
// was densely used is only scavenged after a further GC cycle, and an idle
// process collects every two minutes), so a server that has hashed (at start
// for its dummy hash, after a burst of sign-ins) keeps tens of megabytes it
// no longer uses for minutes. memReleaser returns them once the process is
// quiet; while it is busy it does nothing, since releasing pages the next hash
// faults in again costs CPU (see docs/performance.md).

// memSample is what memReleaser looks at.
type memSample struct {
	allocs uint64 // bytes allocated since start, cumulative
	held   uint64 // heap memory held from the OS: objects (dead ones too, until swept), span slack, free pages not yet released
}

// readMemSample reads memSample from runtime/metrics (no stop-the-world).
func readMemSample() memSample {
	v := readBytes("/gc/heap/allocs:bytes", "/memory/classes/heap/objects:bytes",
		"/memory/classes/heap/unused:bytes", "/memory/classes/heap/free:bytes")
	return memSample{allocs: v[0], held: v[1] + v[2] + v[3]}
}

// readBytes reads byte counts from runtime/metrics in one call, 0 for a
// name this Go does not know.
func readBytes(names ...string) []uint64 {
	s := make([]metrics.Sample, len(names))
	for i, n := range names {
		s[i].Name = n
	}
	metrics.Read(s)
	v := make([]uint64, len(s))
	for i := range s {
		if s[i].Value.Kind() == metrics.KindUint64 {
			v[i] = s[i].Value.Uint64()
		}
	}
	return v
}

// memReleaser gives heap memory back to the OS when the process is quiet.
//
// What can be given back is measured against the heap held right after the
// last release (a full collection): the runtime's own "live heap" is the one
// its last collection saw, and under sign-ins that includes the argon2id
// buffers in use at that moment, garbage a few milliseconds later.
type memReleaser struct {
	read    func() memSample
	release func()

	minReclaimable uint64 // less is not worth a forced collection
	quietAlloc     uint64 // allocating less than this per tick counts as quiet
	quietTicks     int    // this many quiet ticks in a row before releasing

	last  memSample
	floor uint64 // heap held after the last release
	quiet int
}

func newMemReleaser() *memReleaser {
	return &memReleaser{
		read: readMemSample, release: debug.FreeOSMemory,
		minReclaimable: 16 << 20, // less than one argon2id hash
		quietAlloc:     4 << 20,  // hundreds of plain requests per second stay under it; one hash does not
		quietTicks:     2,
	}
}

// releaseNow collects garbage and returns free memory to the OS at once.
// serve calls it after start-up, which hashed a dummy password (19 MiB).
func (m *memReleaser) releaseNow() {
	m.release()
	m.last, m.quiet = m.read(), 0
	m.floor = m.last.held
}

// tick is one look: after quietTicks quiet ticks in a row, it releases if the
// heap held has grown by minReclaimable since the last release, and reports
// whether it did.
func (m *memReleaser) tick() bool {
	s := m.read()
	allocated := s.allocs - m.last.allocs
	m.last = s
	if allocated >= m.quietAlloc {
		m.quiet = 0
		return false
	}
	m.quiet++
	if m.quiet < m.quietTicks || s.held < m.floor+m.minReclaimable {
		return false
	}
	m.releaseNow()
	return true
}

// run ticks every interval until ctx ends.
func (m *memReleaser) run(ctx context.Context, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if m.tick() {
				log.Debug("returned idle heap memory to the OS")
			}
		}
	}
}

// autoMemoryLimit is PUGUH_MEMORY_LIMIT=auto: 20 MiB for the runtime and
// request buffers (the idle heap is ~6 MB), cacheAllowance for the in-process
// caches when they are full, plus, per concurrent hash, its buffer and room
// for one more of garbage before a collection has to run. With two hashes at
// OWASP parameters: 20 + 128 + 2 × 2 × 19 = 224 MiB. The limit is a backstop
// against unbounded growth, never under the live working set: a limit below
// it makes the collector run without pause (capped at half the CPU). It
// scales with the hash bound, so a machine hashing more at once gets more.
func autoMemoryLimit(hashes int, hashBytes int64) int64 {
	return 20<<20 + cacheAllowance + 2*int64(hashes)*hashBytes
}

// cacheAllowance is the heap the bounded caches may hold when full: up to
// 50,000 verified Bearer tokens (~1 KB each), 100,000 memberships, 10,000
// API keys, 20,000 OAuth clients and 10,000 users, and the denylist (one
// entry per revocation within an access token's lifetime).
const cacheAllowance = 128 << 20

// applyMemoryLimit sets the runtime's soft memory limit from
// PUGUH_MEMORY_LIMIT (auto: autoMemoryLimit of the server's hasher), unless
// the operator set Go's own GOMEMLIMIT, which the runtime has applied already
// and which wins. It returns the limit in force (math.MaxInt64: none).
func applyMemoryLimit(limit int64, getenv func(string) string) int64 {
	if getenv("GOMEMLIMIT") != "" {
		return debug.SetMemoryLimit(-1)
	}
	if limit == config.MemoryLimitAuto {
		// app.New makes its hasher with password.OWASP and the default bound.
		limit = autoMemoryLimit(password.DefaultConcurrency(), password.OWASP.MemoryBytes())
	}
	if limit > 0 {
		debug.SetMemoryLimit(limit)
	}
	return debug.SetMemoryLimit(-1)
}

// serveGCPercent is the collector's target for serve unless GOGC is set: the
// heap may grow by half its live size between collections instead of Go's
// default of all of it. Under sign-ins the live heap is mostly argon2id
// buffers that are garbage milliseconds later; at 100 the heap peaked near
// 150 MB, at 50 near 130 MB at the same sign-in rate (less address space to
// fault in), at 35 and below the extra collections cost sign-in throughput.
const serveGCPercent = 50

// applyGCPercent sets serveGCPercent unless the operator set GOGC, and
// returns the percentage in force.
func applyGCPercent(getenv func(string) string) int {
	if getenv("GOGC") != "" {
		p := debug.SetGCPercent(-1)
		debug.SetGCPercent(p)
		return p
	}
	debug.SetGCPercent(serveGCPercent)
	return serveGCPercent
}

func memoryLimitAttr(limit int64) string {
	if limit == math.MaxInt64 {
		return "none"
	}
	return strconv.FormatInt(limit>>20, 10) + "MiB"
}

// hashMemoryLimit lowers the soft memory limit to what password hashing
// needs while sign-ins run, and puts the usual limit back once they stop.
//
// Why: with the reclaim on, two hashes hold at most two 19 MiB buffers, but
// the resident set may hold a third. When a new buffer cannot take the pages
// of the one collected before it (other requests' small allocations landed
// in them), it is placed in fresh pages, and the collected buffer's pages
// stay resident until the background scavenger gets to them. A memory limit
// near the working set makes the runtime return free pages before it maps
// new ones (docs/performance.md, "sign-in memory under mixed load"). A fixed
// limit that low would sit under the caches' live heap on a busy replica, so
// the limit follows the heap: right after each hash's reclaim collection it
// is the memory in use then without the other hashes' buffers, plus every
// slot's buffer, plus headroom for the garbage made between collections,
// plus the 3% the runtime keeps below a limit, never above the ceiling.
type hashMemoryLimit struct {
	ceiling   int64 // the limit in force otherwise (PUGUH_MEMORY_LIMIT)
	working   int64 // every hash slot's buffer at once
	headroom  int64
	idleAfter time.Duration // no reclaim for this long: the ceiling again

	inUse func() int64      // memoryInUse
	set   func(int64) int64 // debug.SetMemoryLimit
	now   func() time.Time

	mu      sync.Mutex
	last    time.Time // of the last reclaim
	timer   *time.Timer
	stopped bool
}

// fitMemoryLimitWhileHashing returns the hashMemoryLimit serve uses, or nil
// when the limit is not ours to move (the operator set GOMEMLIMIT), there is
// none (PUGUH_MEMORY_LIMIT=off), or hashes are not reclaimed one by one
// (PUGUH_ARGON2_RECLAIM=false), which the fitted limit's readings need.
func fitMemoryLimitWhileHashing(reclaim bool, limit int64, getenv func(string) string) *hashMemoryLimit {
	if !reclaim || limit == math.MaxInt64 || getenv("GOMEMLIMIT") != "" {
		return nil
	}
	// app.New makes its hasher with password.OWASP and the default bound.
	return newHashMemoryLimit(limit, password.DefaultConcurrency(), password.OWASP.MemoryBytes())
}

func newHashMemoryLimit(ceiling int64, hashes int, hashBytes int64) *hashMemoryLimit {
	return &hashMemoryLimit{
		ceiling: ceiling, working: int64(hashes) * hashBytes, headroom: 2 << 20, idleAfter: time.Second,
		inUse: memoryInUse, set: debug.SetMemoryLimit, now: time.Now,
	}
}

// afterReclaim is password.Hasher's ObserveReclaims callback.
func (l *hashMemoryLimit) afterReclaim(othersBytes int64) {
	need := max(l.inUse()-othersBytes, 0) + l.working + l.headroom
	limit := min(need*100/97, l.ceiling)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped {
		return
	}
	l.set(limit)
	l.last = l.now()
	if l.timer == nil {
		l.timer = time.AfterFunc(l.idleAfter, l.restore)
	} else {
		l.timer.Reset(l.idleAfter)
	}
}

// restore puts the ceiling back unless a reclaim came within idleAfter (a
// timer that fired while afterReclaim held the lock).
func (l *hashMemoryLimit) restore() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped || l.now().Sub(l.last) < l.idleAfter {
		return
	}
	l.set(l.ceiling)
}

// stop puts the ceiling back for good: later reclaims (a request outliving
// the shutdown's drain) leave it alone.
func (l *hashMemoryLimit) stop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stopped = true
	if l.timer != nil {
		l.timer.Stop()
	}
	l.set(l.ceiling)
}

// memoryInUse reads, from runtime/metrics, what the memory limit counts
// minus the heap's free pages: objects (right after a collection, the live
// ones, the buffers of running hashes among them), span fragmentation,
// stacks and the runtime's metadata.
func memoryInUse() int64 {
	v := readBytes("/memory/classes/total:bytes", "/memory/classes/heap/released:bytes", "/memory/classes/heap/free:bytes")
	return max(int64(v[0])-int64(v[1])-int64(v[2]), 0)
}
