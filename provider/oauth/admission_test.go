package oauth

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// The admission runs n requests at once; the next ones wait, in the order
// they came, until one gives its slot back, or until their client goes away.
func TestAdmissionBoundsAndOrders(t *testing.T) {
	ctx := context.Background()
	a := newAdmission(2)
	first, err := a.enter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	second, err := a.enter(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// Three more wait, queued one after the other; each says when it is in
	// and hands over its release.
	type admitted struct {
		name    string
		release func()
	}
	in := make(chan admitted, 3)
	for _, name := range []string{"third", "fourth", "fifth"} {
		go func() {
			release, err := a.enter(ctx)
			if err != nil {
				t.Error(err)
				close(in)
				return
			}
			in <- admitted{name, release}
		}()
		// Not a timing assertion: the pause lets this waiter queue before
		// the next one starts, so that the order below is defined.
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case got := <-in:
		t.Fatalf("%s got in while both slots were held", got.name)
	default:
	}

	// Each slot given back lets in the one that has waited longest.
	next := func(want string) admitted {
		t.Helper()
		got, ok := <-in
		if !ok {
			t.FailNow()
		}
		if got.name != want {
			t.Fatalf("the slot went to %s, want %s", got.name, want)
		}
		return got
	}
	first()
	third := next("third")
	second()
	fourth := next("fourth")
	third.release()
	fifth := next("fifth")
	fourth.release()
	fifth.release()
}

// A request whose client goes away while it waits leaves the queue and takes
// no slot.
func TestAdmissionWaiterLeavesWhenItsClientGoes(t *testing.T) {
	a := newAdmission(1)
	held, err := a.enter(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		release, err := a.enter(ctx)
		if err == nil {
			release()
		}
		done <- err
	}()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("enter after the client went: %v, want context.Canceled", err)
	}
	held()
	// The slot is free again: the one that left did not keep it.
	release, err := a.enter(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	release()
}

// Without a bound (0 or less) every request is let in at once.
func TestAdmissionOff(t *testing.T) {
	for _, n := range []int{0, -1} {
		a := newAdmission(n)
		if a != nil {
			t.Fatalf("newAdmission(%d) = %v, want nil", n, a)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		for range 100 {
			release, err := a.enter(ctx)
			if err != nil {
				t.Fatalf("enter without a bound: %v", err)
			}
			release()
		}
	}
}

// A request whose context ends while it waits is answered 503
// temporarily_unavailable, not left without an answer (an empty 200).
func TestWaitTurnAnswersWhenTheWaitEnds(t *testing.T) {
	a := newAdmission(1)
	held, err := a.enter(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := httptest.NewRequestWithContext(ctx, http.MethodPost, "/oauth/token", nil)
	w := httptest.NewRecorder()
	if release, ok := waitTurn(w, r, a); ok {
		release()
		t.Fatal("admitted although the slot was held and the request had ended")
	}
	want := `{"error":"temporarily_unavailable","error_description":"The request ended while it waited for its turn."}`
	if w.Code != http.StatusServiceUnavailable || w.Body.String() != want || w.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("got %d %s (Cache-Control %q), want 503 %s", w.Code, w.Body, w.Header().Get("Cache-Control"), want)
	}

	// With the slot free it is let in and answers nothing itself.
	held()
	w = httptest.NewRecorder()
	release, ok := waitTurn(w, httptest.NewRequest(http.MethodPost, "/oauth/token", nil), a)
	if !ok || w.Body.Len() != 0 {
		t.Fatalf("free slot: ok %v, wrote %q", ok, w.Body)
	}
	release()
}
