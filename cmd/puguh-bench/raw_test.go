package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"
)

func TestServerHashConcurrency(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("# HELP go_sched_gomaxprocs_threads The current runtime.GOMAXPROCS setting.\n" +
			"# TYPE go_sched_gomaxprocs_threads gauge\ngo_sched_gomaxprocs_threads 3\ngo_threads 9\n"))
	}))
	defer srv.Close()
	if n := serverHashConcurrency(context.Background(), srv.URL); n != 3 {
		t.Fatalf("got %d, want the server's GOMAXPROCS 3", n)
	}
	none := httptest.NewServer(http.NotFoundHandler())
	defer none.Close()
	if n := serverHashConcurrency(context.Background(), none.URL); n != runtime.GOMAXPROCS(0) {
		t.Fatalf("got %d without the metric, want this process's GOMAXPROCS", n)
	}
}

func TestStatCPU(t *testing.T) {
	// proc(5): pid (comm) state ppid ... utime stime; comm may hold ") (".
	stat := "4242 (puguh) (x) S 1 4242 4242 0 -1 4194560 5000 0 0 0 1234 56 0 0 20 0 9 0 100 0 0"
	if got, want := statCPU(stat), 12900*time.Millisecond; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func TestRawArgon2Mean(t *testing.T) {
	r := rawArgon2{Parallel: 2, PerSec: 100, AfterSec: 80, CPUms: 20, AfterCPUms: 22}
	if r.Mean() != 90 {
		t.Fatalf("mean %v", r.Mean())
	}
	if got := r.note(81, 23); got != "raw argon2id (2 at once): 100/s before, 80/s after; logins reach 90%; server CPU per login 23.0 ms vs 21.0 ms per raw hash" {
		t.Fatalf("note %q", got)
	}
}
