// Command puguh-bench is Puguh's load harness. It starts a Puguh binary on
// 127.0.0.1 (or targets one already running), prepares its own data through
// the public API, runs bounded scenarios (fixed duration, fixed concurrency)
// and reports requests/s, latency percentiles, errors and the server's peak
// RSS as a Markdown table and as JSON.
//
//	go build -o /tmp/puguh ./cmd/puguh
//	go run ./cmd/puguh-bench -bin /tmp/puguh -duration 10s -concurrency 32
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

type options struct {
	bin         string
	target      string
	targetAdmin string
	databaseURL string
	redisURL    string
	duration    time.Duration
	concurrency int
	scenarios   string
	jsonOut     string
	mdOut       string
	users       int
	serverEnv   string
	tokenAlg    string
}

func main() {
	var o options
	flag.StringVar(&o.bin, "bin", "", "puguh binary to start (ignored with -target)")
	flag.StringVar(&o.target, "target", "", "base URL of a running Puguh (default: start -bin on a free loopback port)")
	flag.StringVar(&o.targetAdmin, "target-admin", "", "base URL of -target's admin listener (PUGUH_ADMIN_ADDR), for its /metrics")
	flag.StringVar(&o.databaseURL, "database-url", "", "PUGUH_DATABASE_URL for the started server (default: SQLite in a temp dir)")
	flag.StringVar(&o.redisURL, "redis-url", "", "PUGUH_REDIS_URL for the started server")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "duration of each scenario")
	flag.IntVar(&o.concurrency, "concurrency", 32, "concurrent connections")
	flag.StringVar(&o.scenarios, "scenarios", "all", "comma-separated scenario names, or all")
	flag.StringVar(&o.jsonOut, "json", "", "write results as JSON to this file")
	flag.StringVar(&o.mdOut, "markdown", "", "write the Markdown table to this file")
	flag.IntVar(&o.users, "users", 160, "users to prepare (logins are throttled per account: 10 at once, then 1/min)")
	flag.StringVar(&o.serverEnv, "server-env", "", "comma-separated KEY=VALUE pairs for the started server only (e.g. GOGC=50,PUGUH_MEMORY_LIMIT=off)")
	flag.StringVar(&o.tokenAlg, "token-alg", "", "client_credentials as an application whose access tokens use this algorithm (RS256, ES256, EdDSA) instead of the service account (RS256)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "puguh-bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options, stdout io.Writer) error {
	if o.duration <= 0 || o.duration > 10*time.Minute || o.concurrency < 1 || o.concurrency > 1024 {
		return fmt.Errorf("duration must be in (0, 10m] and concurrency in [1, 1024]")
	}
	srv, err := startServer(ctx, o)
	if err != nil {
		return err
	}
	defer srv.stop()
	fmt.Fprintf(stdout, "target %s (database %s, redis %v)\n", srv.base, srv.dbKind, o.redisURL != "")

	fx, err := prepare(ctx, srv.base, o.users, o.concurrency)
	if err != nil {
		return fmt.Errorf("prepare: %w", err)
	}
	if o.tokenAlg != "" {
		if err := fx.useTokenAlgorithm(ctx, o.tokenAlg); err != nil {
			return err
		}
	}
	// Idle after preparation: registrations and sign-ins hashed hundreds of
	// passwords; what the server keeps of that once quiet is what an idle
	// production server that served logins holds.
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(5 * time.Second):
	}
	preparedIdle := srv.rssMB("VmRSS")
	fmt.Fprintf(stdout, "idle RSS %.1f MB after start, %.1f MB after preparing data\n", srv.idleRSS, preparedIdle)
	hashConcurrency := serverHashConcurrency(ctx, srv.admin)
	var results []result
	for _, sc := range scenarios(fx) {
		if !selected(o.scenarios, sc.name) {
			continue
		}
		if sc.skip != "" {
			fmt.Fprintf(stdout, "%-24s skipped: %s\n", sc.name, sc.skip)
			continue
		}
		var raw rawArgon2
		if sc.measureRaw {
			raw.Parallel = hashConcurrency
			raw.PerSec, raw.CPUms = measureRawArgon2(hashConcurrency, rawDuration)
		}
		var cpu0 time.Duration
		res := runScenario(ctx, srv.base, sc, o.duration, o.concurrency, func() {
			srv.resetPeakRSS()
			cpu0 = srv.cpu()
		})
		res.PeakRSSMB = srv.peakRSSMB()
		if cpu := srv.cpu() - cpu0; cpu > 0 && res.Requests > 0 {
			res.ServerCPUms = cpu.Seconds() * 1000 / float64(res.Requests)
		}
		if sc.measureRaw {
			time.Sleep(time.Second) // let requests cut off at the deadline finish
			raw.AfterSec, raw.AfterCPUms = measureRawArgon2(hashConcurrency, rawDuration)
			res.RawArgon2 = &raw
			res.Note = raw.note(res.RPS, res.ServerCPUms)
		}
		res.LoadAvg = loadAvg()
		if sc.extra != nil {
			sc.extra(&res)
		}
		fmt.Fprintf(stdout, "%-24s %9.0f req/s  p50 %7.2f ms  p90 %7.2f ms  p99 %7.2f ms  p99.9 %7.2f ms  max %7.2f ms  errors %d  peak RSS %.1f MB  load %.2f%s\n",
			res.Name, res.RPS, res.P50ms, res.P90ms, res.P99ms, res.P999ms, res.MaxMS, res.Errors, res.PeakRSSMB, res.LoadAvg, res.noteSuffix())
		results = append(results, res)
		if ctx.Err() != nil {
			break
		}
	}
	report := Report{
		Date: time.Now().UTC().Format(time.RFC3339), Database: srv.dbKind, Redis: o.redisURL != "",
		Duration: o.duration.String(), Concurrency: o.concurrency, IdleRSSMB: srv.idleRSS,
		PreparedIdleRSSMB: preparedIdle,
		ColdStartMS:       srv.coldStart.Seconds() * 1000, Machine: machine(), Results: results,
	}
	md := report.Markdown()
	fmt.Fprintln(stdout)
	fmt.Fprint(stdout, md)
	if o.mdOut != "" {
		if err := os.WriteFile(o.mdOut, []byte(md), 0o644); err != nil {
			return err
		}
	}
	if o.jsonOut != "" {
		b, _ := json.MarshalIndent(report, "", "  ")
		if err := os.WriteFile(o.jsonOut, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// rawDuration is how long raw argon2id is measured before and after a login
// scenario.
const rawDuration = 3 * time.Second

func selected(list, name string) bool {
	if list == "all" {
		return true
	}
	for _, s := range strings.Split(list, ",") {
		if strings.TrimSpace(s) == name {
			return true
		}
	}
	return false
}
