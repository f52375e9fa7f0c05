package main

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// A worker's setup (signing a browser in) is not part of the measurement:
// it runs before ready and before the clock starts.
func TestRunScenarioExcludesSetup(t *testing.T) {
	var setups, readyAfter atomic.Int32
	sc := scenario{name: "setup-heavy", newWorker: func(int) func(context.Context, *http.Client) error {
		time.Sleep(50 * time.Millisecond) // 4 workers: 200 ms of setup, twice the scenario
		setups.Add(1)
		return func(context.Context, *http.Client) error {
			time.Sleep(time.Millisecond)
			return nil
		}
	}}
	readyCalls := 0
	res := runScenario(context.Background(), "http://127.0.0.1:1", sc, 100*time.Millisecond, 4, func() {
		readyCalls++
		readyAfter.Store(setups.Load())
	})
	if readyCalls != 1 || readyAfter.Load() != 4 {
		t.Fatalf("ready called %d times, after %d of 4 setups; want once, after all", readyCalls, readyAfter.Load())
	}
	if res.Requests == 0 || res.Errors != 0 {
		t.Fatalf("%d requests, %d errors: the setup ate the scenario's time", res.Requests, res.Errors)
	}
}

// Nearest rank: p99.9 of 1,000 samples is the 999th, not the maximum; of 10
// samples it is the maximum.
func TestPercentile(t *testing.T) {
	samples := func(n int) []time.Duration {
		s := make([]time.Duration, n)
		for i := range s {
			s[i] = time.Duration(i+1) * time.Millisecond
		}
		return s
	}
	for _, tc := range []struct {
		n    int
		p    float64
		want time.Duration
	}{
		{1000, 50, 500 * time.Millisecond},
		{1000, 99, 990 * time.Millisecond},
		{1000, 99.9, 999 * time.Millisecond},
		{1000, 100, 1000 * time.Millisecond},
		{10, 99.9, 10 * time.Millisecond},
		{10, 50, 5 * time.Millisecond},
		{1, 99.9, time.Millisecond},
		{0, 99, 0},
	} {
		if got := percentile(samples(tc.n), tc.p); got != tc.want {
			t.Errorf("percentile(%d samples, %v) = %v, want %v", tc.n, tc.p, got, tc.want)
		}
	}
}
