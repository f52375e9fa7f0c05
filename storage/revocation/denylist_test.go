package revocation

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/arsaka/puguh/storage"
	"github.com/arsaka/puguh/storage/sqlstore"
	"github.com/arsaka/puguh/storage/sqlstore/sqltest"
)

// A denial is in the database when Deny returns, even if the request's
// context was already cancelled; a new list on the same database (a
// restart, or another replica starting) loads it. An expired one is neither
// loaded nor kept: it is swept. On SQLite and PostgreSQL.
func TestDenyIsRecordedBeforeItReturns(t *testing.T) {
	sqltest.ForEach(t, func(t *testing.T, db *sqlstore.Store) {
		now := time.Now()
		clock := func() time.Time { return now }
		cancelled, cancel := context.WithCancel(context.Background())
		cancel() // the client hung up: the revocation is recorded anyway

		l := NewDenylist(db, Options{Now: clock})
		if err := l.Load(context.Background()); err != nil {
			t.Fatal(err)
		}
		for _, key := range []string{"jti:a", "sid:short"} {
			until := now.Add(time.Hour)
			if key == "sid:short" {
				until = now.Add(time.Minute)
			}
			if err := l.Deny(cancelled, key, until); err != nil {
				t.Fatalf("deny %s: %v", key, err)
			}
		}
		if !l.Denied("jti:a") || l.Denied("jti:b") {
			t.Fatal("deny → denied")
		}
		rows, err := db.DenialsAfter(context.Background(), 0, now)
		if err != nil || len(rows) != 2 {
			t.Fatalf("table after Deny returned: %v, %v; want both denials", rows, err)
		}

		restarted := NewDenylist(db, Options{Now: clock})
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
		late := NewDenylist(db, Options{Now: clock})
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
	})
}

type failingStore struct{ Store }

var errDown = errors.New("database is down")

func (failingStore) PutDenial(context.Context, string, time.Time) error { return errDown }

func (failingStore) DenialsAfter(context.Context, int64, time.Time) ([]storage.Denial, error) {
	return nil, errDown
}

func (failingStore) DeleteExpiredDenials(context.Context, time.Time, int) (int, error) {
	return 0, errDown
}

// A denial that cannot be recorded is reported and is not in force, not even
// here: the request fails as a whole, and its retry (which presents the same
// token) must find the token still working to revoke everything again.
func TestDenyWhenTheDatabaseFails(t *testing.T) {
	l := NewDenylist(failingStore{}, Options{})
	err := l.Deny(context.Background(), "jti:a", time.Now().Add(time.Minute))
	if !errors.Is(err, errDown) {
		t.Fatalf("deny = %v, want the database's error", err)
	}
	if l.Denied("jti:a") {
		t.Fatal("an unrecorded denial is in force")
	}
}

// Replicas sharing one database without Redis: a denial made on one applies
// on the other once its Run has read the table again.
func TestReplicasConvergeThroughTheTable(t *testing.T) {
	sqltest.ForEach(t, func(t *testing.T, db *sqlstore.Store) {
		a, b := NewDenylist(db, Options{}), NewDenylist(db, Options{})
		b.poll = 10 * time.Millisecond
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { b.Run(ctx); close(done) }()
		defer func() { cancel(); <-done }()
		if err := a.Deny(context.Background(), "sid:fam", time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		waitFor(t, func() bool { return b.Denied("sid:fam") })
	})
}

// countingStore records where each read of the table started.
type countingStore struct {
	Store
	mu     sync.Mutex
	afters []int64
}

func (c *countingStore) DenialsAfter(ctx context.Context, after int64, now time.Time) ([]storage.Denial, error) {
	c.mu.Lock()
	c.afters = append(c.afters, after)
	c.mu.Unlock()
	return c.Store.DenialsAfter(ctx, after, now)
}

func (c *countingStore) last() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.afters[len(c.afters)-1]
}

// Polls read only what is new: from the highest Seq seen at least readMargin
// ago, not the whole table. On SQLite and PostgreSQL.
func TestPollsReadIncrementally(t *testing.T) {
	sqltest.ForEach(t, func(t *testing.T, db *sqlstore.Store) {
		ctx := context.Background()
		now := time.Now()
		clock := func() time.Time { return now }
		writer := NewDenylist(db, Options{Now: clock})
		for i := range 3 {
			if err := writer.Deny(ctx, fmt.Sprintf("jti:%d", i), now.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
		}
		rows, err := db.DenialsAfter(ctx, 0, now)
		if err != nil || len(rows) != 3 {
			t.Fatalf("rows = %v, %v", rows, err)
		}
		third := rows[2].Seq

		store := &countingStore{Store: db}
		r := NewDenylist(store, Options{Now: clock})
		if err := r.Load(ctx); err != nil {
			t.Fatal(err)
		}
		now = now.Add(PollInterval)
		if err := r.catchUp(ctx); err != nil || store.last() != 0 {
			t.Fatalf("poll within readMargin of the load read after %d (%v), want 0: a late commit could still be missing", store.last(), err)
		}
		now = now.Add(readMargin)
		if err := writer.Deny(ctx, "jti:new", now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if err := r.catchUp(ctx); err != nil || store.last() != 0 {
			t.Fatalf("the first poll past readMargin read after %d (%v), want 0", store.last(), err)
		}
		if !r.Denied("jti:new") {
			t.Fatal("a poll missed a new denial")
		}
		now = now.Add(PollInterval)
		if err := r.catchUp(ctx); err != nil || store.last() != third {
			t.Fatalf("later polls read after %d (%v), want %d: the whole table again", store.last(), err, third)
		}
		if err := writer.Deny(ctx, "jti:newer", now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		now = now.Add(PollInterval)
		if err := r.catchUp(ctx); err != nil || !r.Denied("jti:newer") {
			t.Fatalf("poll after %d missed a new denial (%v)", store.last(), err)
		}
		// An entry extended to a later expiry is written again, and read again.
		if err := writer.Deny(ctx, "jti:0", now.Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		now = now.Add(90 * time.Minute) // past jti:0's first expiry
		if err := r.catchUp(ctx); err != nil || !r.Denied("jti:0") {
			t.Fatalf("an extended denial was not read again (%v)", err)
		}
	})
}

// On PostgreSQL a denial can commit after a later one (its transaction was
// open longer); a reader that has already seen the later one must still see
// it. SQLite has one writer, so Seq order is commit order there.
func TestPollsSeeALateCommit(t *testing.T) {
	db := sqltest.Open(t, sqltest.Backend{Name: "postgres", URL: sqltest.PostgresURL})
	ctx := context.Background()
	writer := NewDenylist(db, Options{})
	reader := NewDenylist(db, Options{})
	if err := reader.Load(ctx); err != nil {
		t.Fatal(err)
	}

	tx, err := db.DB().BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if err := writer.Deny(sqlstore.WithTx(ctx, tx), "sid:slow", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := writer.Deny(ctx, "sid:quick", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := reader.catchUp(ctx); err != nil {
		t.Fatal(err)
	}
	if !reader.Denied("sid:quick") || reader.Denied("sid:slow") {
		t.Fatal("want the committed denial only: the test proves nothing")
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := reader.catchUp(ctx); err != nil {
		t.Fatal(err)
	}
	if !reader.Denied("sid:slow") {
		t.Fatal("a denial committed after a later one was skipped")
	}
}

func redisClient(t *testing.T) *redis.Client {
	t.Helper()
	u := os.Getenv("PUGUH_TEST_REDIS_URL")
	if u == "" {
		t.Skip("Redis case skipped: set PUGUH_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/15) to run it")
	}
	opts, err := redis.ParseURL(u)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opts)
	t.Cleanup(func() { c.Close() })
	return c
}

func namespace() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "test:" + hex.EncodeToString(b[:]) + ":"
}

// running starts l.Run and stops it when the test ends, checking that it
// returns (or App.Close would wait forever).
func running(t *testing.T, l *Denylist) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { l.Run(ctx); close(done) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("Run did not return within 5s of cancel")
		}
	})
}

func subscribed(t *testing.T, client *redis.Client, l *Denylist) {
	t.Helper()
	waitFor(t, func() bool { return client.PubSubNumSub(context.Background(), l.topic).Val()[l.topic] > 0 })
}

// With Redis a denial reaches another replica at once (its polls are turned
// off here, so only Redis can bring it), and a replica that subscribes later
// reloads the table: a denial recorded while it was not listening, or while
// Redis was down for the denying replica, is not missed.
func TestRedisFanOut(t *testing.T) {
	client := redisClient(t)
	db := sqltest.Open(t, sqltest.Backends()[0])
	ns := namespace()
	a := NewDenylist(db, Options{Redis: client, Namespace: ns})
	b := NewDenylist(db, Options{Redis: client, Namespace: ns})
	b.poll = time.Hour
	running(t, b)
	subscribed(t, client, b)

	if err := a.Deny(context.Background(), "sid:fam1", time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if !a.Denied("sid:fam1") {
		t.Fatal("the revoking replica must deny at once")
	}
	waitFor(t, func() bool { return b.Denied("sid:fam1") })

	// A replica whose Redis is down: the denial is recorded, the failed
	// publication only logged.
	dead := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	defer dead.Close()
	cut := NewDenylist(db, Options{Redis: dead, Namespace: ns})
	if err := cut.Deny(context.Background(), "sid:unpublished", time.Now().Add(time.Minute)); err != nil {
		t.Fatalf("deny with Redis down: %v", err)
	}
	late := NewDenylist(db, Options{Redis: client, Namespace: ns})
	late.poll = time.Hour
	running(t, late)
	subscribed(t, client, late)
	waitFor(t, func() bool { return late.Denied("sid:unpublished") && late.Denied("sid:fam1") })
	if b.Denied("sid:unpublished") {
		t.Fatal("a denial that was never published reached a subscriber: the test proves nothing")
	}
}

// Run returns when its context ends, with and without Redis, even when the
// database fails.
func TestRunStopsWithContext(t *testing.T) {
	running(t, NewDenylist(failingStore{}, Options{}))
	if os.Getenv("PUGUH_TEST_REDIS_URL") != "" {
		client := redisClient(t)
		l := NewDenylist(failingStore{}, Options{Redis: client, Namespace: namespace()})
		running(t, l)
		subscribed(t, client, l)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The denials an older Puguh kept only in Redis are moved into the table at
// start, expired ones dropped, and their keys deleted; a second import finds
// nothing.
func TestImportFromRedis(t *testing.T) {
	client := redisClient(t)
	db := sqltest.Open(t, sqltest.Backends()[0])
	ns := namespace()
	ctx := context.Background()
	now := time.Now()
	live, gone := now.Add(time.Hour).Truncate(time.Millisecond), now.Add(-time.Minute)
	for k, until := range map[string]time.Time{"jti:old": live, "sid:old": live, "jti:expired": gone} {
		if err := client.Set(ctx, ns+"deny:"+k, until.UnixMilli(), time.Hour).Err(); err != nil {
			t.Fatal(err)
		}
	}
	l := NewDenylist(db, Options{Redis: client, Namespace: ns})
	n, err := l.ImportFromRedis(ctx, ns)
	if err != nil || n != 2 {
		t.Fatalf("ImportFromRedis = %d, %v; want 2 live denials", n, err)
	}
	if err := l.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if !l.Denied("jti:old") || !l.Denied("sid:old") || l.Denied("jti:expired") {
		t.Fatal("imported denials are not in force after loading the table")
	}
	if keys, err := client.Keys(ctx, ns+"deny:*").Result(); err != nil || len(keys) != 0 {
		t.Fatalf("keys left in Redis: %v %v", keys, err)
	}
	if n, err := l.ImportFromRedis(ctx, ns); err != nil || n != 0 {
		t.Fatalf("second import = %d, %v; want nothing", n, err)
	}
}
