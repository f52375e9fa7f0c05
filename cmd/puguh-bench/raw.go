package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/arsaka/puguh/provider/password"
)

// rawArgon2 is the machine's argon2id rate, the ceiling REST login is
// measured against.
type rawArgon2 struct {
	Parallel   int     `json:"parallel"`      // hashes at once: the server's bound
	PerSec     float64 `json:"per_sec"`       // hashes per second
	CPUms      float64 `json:"cpu_ms"`        // CPU per hash, this process
	AfterSec   float64 `json:"after_per_sec"` // the same, measured again after the scenario
	AfterCPUms float64 `json:"after_cpu_ms"`
}

// Mean is the rate the scenario is compared with: the mean of the
// measurements taken right before and right after it. On a shared machine the
// two differ when other load came or went during the run.
func (r rawArgon2) Mean() float64 {
	if r.AfterSec == 0 {
		return r.PerSec
	}
	return (r.PerSec + r.AfterSec) / 2
}

// measureRawArgon2 hashes with Puguh's own hasher at OWASP parameters, parallel
// hashes at a time (the server's bound, so that neither side gets more
// parallelism than the other), in this process, for d. The harness calls it
// right before and right after a login scenario, while the server is idle, so
// the ceiling and the logins see the same machine in the same minute.
func measureRawArgon2(parallel int, d time.Duration) (perSec, cpuMs float64) {
	h, err := password.NewHasher(password.OWASP, parallel)
	if err != nil {
		return 0, 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var n atomic.Int64
	var wg sync.WaitGroup
	cpu0 := processCPU()
	start := time.Now()
	for i := 0; i < parallel; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if _, err := h.Hash(context.Background(), "bench password"); err == nil {
					n.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu := processCPU() - cpu0
	if n.Load() == 0 {
		return 0, 0
	}
	return float64(n.Load()) / elapsed.Seconds(), cpu.Seconds() * 1000 / float64(n.Load())
}

// processCPU is this process's user and system CPU time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// serverHashConcurrency is how many hashes the server runs at once: its
// hasher is bounded by its GOMAXPROCS, which it reports in /metrics on its
// admin listener (admin: that listener's base URL). Without the metric, the
// harness assumes the server sees the same CPUs as itself.
func serverHashConcurrency(ctx context.Context, admin string) int {
	if admin == "" {
		return runtime.GOMAXPROCS(0)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, admin+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "go_sched_gomaxprocs_threads "); ok {
				if n, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && n >= 1 {
					return int(n)
				}
			}
		}
	}
	return runtime.GOMAXPROCS(0)
}

func (r rawArgon2) note(rps, serverCPUms float64) string {
	s := fmt.Sprintf("raw argon2id (%d at once): %.0f/s before, %.0f/s after; logins reach %.0f%%", r.Parallel, r.PerSec, r.AfterSec, 100*rps/r.Mean())
	if serverCPUms > 0 && r.CPUms > 0 {
		raw := r.CPUms
		if r.AfterCPUms > 0 {
			raw = (r.CPUms + r.AfterCPUms) / 2
		}
		s += fmt.Sprintf("; server CPU per login %.1f ms vs %.1f ms per raw hash", serverCPUms, raw)
	}
	return s
}
