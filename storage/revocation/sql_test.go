package revocation

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/arsaka/puguh/storage/sqlstore"
	"github.com/arsaka/puguh/storage/sqlstore/sqltest"
)

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// A denial survives a restart: a new list on the same database loads it. An
// expired one is not loaded, and is swept. On SQLite and PostgreSQL.
func TestSQLSurvivesRestart(t *testing.T) {
	sqltest.ForEach(t, func(t *testing.T, db *sqlstore.Store) {
		now := time.Now()
		clock := func() time.Time { return now }
		cancelled, cancel := context.WithCancel(context.Background())
		cancel() // the client hung up: the revocation is recorded anyway

		l := NewSQL(db, discard(), clock)
		if err := l.Load(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := l.Deny(cancelled, "jti:a", now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := l.Deny(cancelled, "sid:short", now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if !l.Denied("jti:a") || l.Denied("jti:b") {
			t.Fatal("deny → denied")
		}

		restarted := NewSQL(db, discard(), clock)
		if restarted.Denied("jti:a") {
			t.Fatal("a new list denies before loading: the test proves nothing")
		}
		if err := restarted.Load(context.Background()); err != nil {
			t.Fatal(err)
		}
		if !restarted.Denied("jti:a") || !restarted.Denied("sid:short") {
			t.Fatal("a denial did not survive the restart")
		}

		now = now.Add(2 * time.Minute) // sid:short has expired
		late := NewSQL(db, discard(), clock)
		late.batch = 1 // sweep in several statements
		if err := late.Load(context.Background()); err != nil {
			t.Fatal(err)
		}
		if late.local.Len() != 1 || !late.Denied("jti:a") {
			t.Fatalf("loaded %d entries, want only the unexpired jti:a", late.local.Len())
		}
		for i := range 3 {
			if err := db.PutDenial(context.Background(), fmt.Sprintf("jti:old%d", i), now.Add(-time.Second)); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := late.Sweep(context.Background()); err != nil || n != 4 {
			t.Fatalf("sweep = %d, %v; want the 4 expired rows", n, err)
		}
		if n, err := late.Sweep(context.Background()); err != nil || n != 0 {
			t.Fatalf("second sweep = %d, %v; want 0", n, err)
		}
		if got, err := db.ActiveDenials(context.Background(), now); err != nil || len(got) != 1 {
			t.Fatalf("after sweeping: %v, %v; want jti:a only", got, err)
		}
	})
}

type failingStore struct{ DenialStore }

var errDown = errors.New("database is down")

func (failingStore) PutDenial(context.Context, string, time.Time) error { return errDown }

// A failed database write still denies on this replica, and is reported.
func TestSQLDenyWhenDatabaseFails(t *testing.T) {
	l := NewSQL(failingStore{}, discard(), nil)
	err := l.Deny(context.Background(), "jti:a", time.Now().Add(time.Minute))
	if !errors.Is(err, errDown) {
		t.Fatalf("deny = %v, want the database's error", err)
	}
	if !l.Denied("jti:a") {
		t.Fatal("a failed write must still deny locally")
	}
}

// Run returns when its context ends, or App.Close would wait forever.
func TestSQLRunStopsWithContext(t *testing.T) {
	l := NewSQL(failingStore{}, discard(), nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { l.Run(ctx); close(done) }()
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return within 5s of cancel")
	}
}

// blockingStore's writes wait for release, as a write waits on SQLite for the
// caller's own transaction to commit.
type blockingStore struct {
	DenialStore
	release chan struct{}
	written chan string
}

func (b blockingStore) PutDenial(_ context.Context, key string, _ time.Time) error {
	<-b.release
	b.written <- key
	return nil
}

// A write that cannot finish at once does not hold the caller past the wait:
// it finishes in the background, and Run waits for it before returning.
func TestSQLDenyDoesNotWaitOnABlockedWrite(t *testing.T) {
	store := blockingStore{release: make(chan struct{}), written: make(chan string, 1)}
	l := NewSQL(store, discard(), nil)
	l.wait = 10 * time.Millisecond
	if err := l.Deny(context.Background(), "sid:f", time.Now().Add(time.Minute)); err != nil {
		t.Fatalf("deny: %v", err)
	}
	if !l.Denied("sid:f") {
		t.Fatal("not denied locally while the write is pending")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	done := make(chan struct{})
	go func() { l.Run(ctx); close(done) }()
	select {
	case <-done:
		t.Fatal("Run returned with a write in flight")
	case <-time.After(50 * time.Millisecond):
	}
	close(store.release)
	if key := <-store.written; key != "sid:f" {
		t.Fatalf("wrote %q", key)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after the write finished")
	}
}

// Replicas sharing one database without Redis: a denial made on one applies
// on the other once its Run has read the table again.
func TestSQLReplicasConverge(t *testing.T) {
	sqltest.ForEach(t, func(t *testing.T, db *sqlstore.Store) {
		a, b := NewSQL(db, discard(), nil), NewSQL(db, discard(), nil)
		b.reload = 10 * time.Millisecond
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { b.Run(ctx); close(done) }()
		defer func() { cancel(); <-done }()
		if err := a.Deny(context.Background(), "sid:fam", time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for !b.Denied("sid:fam") {
			if time.Now().After(deadline) {
				t.Fatal("the other replica never saw the denial")
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
}
