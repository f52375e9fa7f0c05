package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
)

// errSkipSample marks a request that is load, not a measurement.
var errSkipSample = errors.New("not measured")

// scenario is one bounded load. newWorker builds a worker's request function;
// workers keep their own state (a refresh-token chain, a user).
type scenario struct {
	name      string
	skip      string // why it cannot run against this server
	newWorker func(id int) func(ctx context.Context, c *http.Client) error
	extra     func(*result) // adds measurements of its own
	// measureRaw: measure raw argon2id right before and after the scenario,
	// the ceiling its rate is compared with.
	measureRaw bool
}

type result struct {
	Name      string  `json:"name"`
	Requests  int     `json:"requests"`
	Errors    int     `json:"errors"`
	RPS       float64 `json:"rps"`
	P50ms     float64 `json:"p50_ms"`
	P90ms     float64 `json:"p90_ms"`
	P99ms     float64 `json:"p99_ms"`
	P999ms    float64 `json:"p999_ms"`
	MaxMS     float64 `json:"max_ms"`
	PeakRSSMB float64 `json:"peak_rss_mb"`
	// LoadAvg is the machine's one-minute load average (/proc/loadavg) when
	// the scenario ended: with other work on the machine, the numbers are
	// only comparable with runs at a similar load.
	LoadAvg float64 `json:"load_avg,omitempty"`
	// ServerCPUms is the server's CPU time (user + system) per request.
	ServerCPUms float64    `json:"server_cpu_ms,omitempty"`
	RawArgon2   *rawArgon2 `json:"raw_argon2,omitempty"`
	Note        string     `json:"note,omitempty"`
	FirstErr    string     `json:"first_error,omitempty"`
}

func (r result) noteSuffix() string {
	s := ""
	if r.Note != "" {
		s += "  (" + r.Note + ")"
	}
	if r.FirstErr != "" {
		s += "  first error: " + r.FirstErr
	}
	return s
}

// sharedTransport is every client's connection pool.
var sharedTransport = &http.Transport{
	MaxIdleConns:        2048,
	MaxIdleConnsPerHost: 2048,
	IdleConnTimeout:     time.Minute,
}

func newClient(int) *http.Client {
	return &http.Client{
		Timeout:       30 * time.Second,
		Transport:     forwarded{sharedTransport},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// forwarded gives every request a random client address in X-Forwarded-For.
// The harness starts Puguh with 127.0.0.1 as a trusted proxy, as behind a load
// balancer: the per-IP limits then see many clients, as in production, instead
// of throttling the one load generator.
type forwarded struct{ next http.RoundTripper }

func (f forwarded) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	n := rand.Uint32()
	r.Header.Set("X-Forwarded-For", fmt.Sprintf("10.%d.%d.%d", byte(n>>16), byte(n>>8), byte(n)))
	return f.next.RoundTrip(r)
}

// runScenario runs sc with concurrency workers for d. The loop is bounded by
// the deadline: every worker stops by itself.
// Each worker's setup (newWorker: the code flow signs its browser in) runs
// before ready is called and the clock starts, so neither the rate nor the
// peak RSS that ready resets counts it.
func runScenario(ctx context.Context, base string, sc scenario, d time.Duration, concurrency int, ready func()) result {
	client := newClient(concurrency)
	workers := make([]func(context.Context, *http.Client) error, concurrency)
	for i := range workers {
		workers[i] = sc.newWorker(i)
	}
	if ready != nil {
		ready()
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var (
		mu        sync.Mutex
		latencies []time.Duration
		errs      int
		firstErr  string
	)
	var wg sync.WaitGroup
	start := time.Now()
	for _, do := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]time.Duration, 0, 4096)
			localErrs := 0
			var localFirst string
			for ctx.Err() == nil {
				t0 := time.Now()
				err := do(ctx, client)
				if ctx.Err() != nil {
					break // the deadline cut this request short: not a result
				}
				if err == errSkipSample {
					continue // background load, not measured
				}
				local = append(local, time.Since(t0))
				if err != nil {
					localErrs++
					if localFirst == "" {
						localFirst = err.Error()
					}
				}
			}
			mu.Lock()
			latencies = append(latencies, local...)
			errs += localErrs
			if firstErr == "" {
				firstErr = localFirst
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(latencies)
	pct := func(p float64) float64 { return ms(percentile(latencies, p)) }
	return result{
		Name: sc.name, Requests: len(latencies), Errors: errs,
		RPS:   float64(len(latencies)) / elapsed.Seconds(),
		P50ms: pct(50), P90ms: pct(90), P99ms: pct(99), P999ms: pct(99.9), MaxMS: pct(100),
		FirstErr: firstErr,
	}
}

// percentile is the nearest-rank percentile (p in 0..100) of sorted
// latencies: the smallest value that at least p% of the samples do not
// exceed. Zero samples give zero.
func percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	rank := int(math.Ceil(p*float64(n)/100 - 1e-9)) // 1e-9: 99.9 is not exact in binary
	return sorted[min(max(rank, 1), n)-1]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// expect sends req and checks the status, draining the body so the
// connection is reused.
func expect(c *http.Client, req *http.Request, want int) (*http.Response, []byte, error) {
	resp, err := c.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp, nil, err
	}
	if resp.StatusCode != want {
		return resp, body, fmt.Errorf("%s %s: %d %s", req.Method, req.URL.Path, resp.StatusCode, truncate(string(body), 120))
	}
	return resp, body, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// Report is the whole run, for JSON and Markdown.
type Report struct {
	Date        string  `json:"date"`
	Machine     string  `json:"machine"`
	Database    string  `json:"database"`
	Redis       bool    `json:"redis"`
	Duration    string  `json:"duration"`
	Concurrency int     `json:"concurrency"`
	IdleRSSMB   float64 `json:"idle_rss_mb"`
	// PreparedIdleRSSMB is the idle RSS after preparation (400 registrations
	// and sign-ins by default) and a quiet pause.
	PreparedIdleRSSMB float64  `json:"prepared_idle_rss_mb"`
	ColdStartMS       float64  `json:"cold_start_ms"`
	Results           []result `json:"results"`
}

// Markdown renders the report as a table.
func (r Report) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Puguh load run %s on %s; database %s, Redis %v; %s per scenario at %d connections; "+
		"idle RSS %.1f MB (%.1f MB after preparing data); cold start %.0f ms.\n\n", r.Date, r.Machine, r.Database, r.Redis, r.Duration, r.Concurrency,
		r.IdleRSSMB, r.PreparedIdleRSSMB, r.ColdStartMS)
	b.WriteString("| scenario | req/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | errors | peak RSS MB | load | note |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, x := range r.Results {
		fmt.Fprintf(&b, "| %s | %.0f | %.2f | %.2f | %.2f | %.2f | %.2f | %d | %.1f | %.2f | %s |\n", x.Name, x.RPS, x.P50ms, x.P90ms, x.P99ms,
			x.P999ms, x.MaxMS, x.Errors, x.PeakRSSMB, x.LoadAvg, x.Note)
	}
	return b.String()
}

func machine() string {
	return fmt.Sprintf("%s/%s, %d CPUs, %s", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version())
}
