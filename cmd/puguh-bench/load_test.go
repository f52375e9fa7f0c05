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
