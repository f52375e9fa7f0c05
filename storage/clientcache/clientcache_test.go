package clientcache

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/arsaka/puguh/storage"
)

// fakeStore is an in-memory Store that counts the reads reaching it.
type fakeStore struct {
	mu       sync.Mutex
	apps     map[string]storage.Application
	accounts map[string]storage.ServiceAccount // by id
	reads    atomic.Int64
	fail     error           // returned by every read and write when set
	onRead   func(id string) // called inside an application read, after it looked (a slow query)
}

func newFakeStore() *fakeStore {
	return &fakeStore{apps: map[string]storage.Application{}, accounts: map[string]storage.ServiceAccount{}}
}

func (s *fakeStore) ApplicationByID(_ context.Context, id string) (*storage.Application, error) {
	s.reads.Add(1)
	s.mu.Lock()
	a, ok := s.apps[id]
	fail, hook := s.fail, s.onRead
	s.mu.Unlock()
	if hook != nil {
		hook(id)
	}
	if fail != nil {
		return nil, fmt.Errorf("application by id: %w", fail)
	}
	if !ok {
		return nil, fmt.Errorf("application by id: %w", storage.ErrNotFound)
	}
	return cloneApplication(&a), nil
}

func (s *fakeStore) ServiceAccountByClientID(_ context.Context, clientID string) (*storage.ServiceAccount, error) {
	s.reads.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return nil, fmt.Errorf("service account by client id: %w", s.fail)
	}
	for _, sa := range s.accounts {
		if sa.ClientID == clientID {
			return cloneServiceAccount(&sa), nil
		}
	}
	return nil, fmt.Errorf("service account by client id: %w", storage.ErrNotFound)
}

func (s *fakeStore) CreateApplication(_ context.Context, a *storage.Application) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	if _, ok := s.apps[a.ID]; ok {
		return storage.ErrConflict
	}
	s.apps[a.ID] = *cloneApplication(a)
	return nil
}

func (s *fakeStore) UpdateApplication(_ context.Context, a *storage.Application) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	if old, ok := s.apps[a.ID]; !ok || old.OrganizationID != a.OrganizationID {
		return storage.ErrNotFound
	}
	s.apps[a.ID] = *cloneApplication(a)
	return nil
}

func (s *fakeStore) DeleteApplication(_ context.Context, orgID, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	if old, ok := s.apps[id]; !ok || old.OrganizationID != orgID {
		return storage.ErrNotFound
	}
	delete(s.apps, id)
	return nil
}

func (s *fakeStore) CreateServiceAccount(_ context.Context, sa *storage.ServiceAccount) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	s.accounts[sa.ID] = *cloneServiceAccount(sa)
	return nil
}

func (s *fakeStore) DeleteServiceAccount(_ context.Context, orgID, id string, _ time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	if old, ok := s.accounts[id]; !ok || old.OrganizationID != orgID {
		return storage.ErrNotFound
	}
	delete(s.accounts, id)
	return nil
}

// put writes behind the cache's back, as another replica would.
func (s *fakeStore) putApp(a storage.Application) {
	s.mu.Lock()
	s.apps[a.ID] = a
	s.mu.Unlock()
}

func (s *fakeStore) setFail(err error) {
	s.mu.Lock()
	s.fail = err
	s.mu.Unlock()
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

const orgA = "org-a"

func testApp(id string) storage.Application {
	return storage.Application{ID: id, OrganizationID: orgA, Name: "app " + id, SecretHash: []byte("hash-1"),
		RedirectURIs: []string{"https://a.example/cb"}, GrantTypes: []string{"client_credentials"},
		ResponseTypes: []string{}, Scopes: []string{"read"}, TokenEndpointAuthMethod: "client_secret_basic"}
}

func testAccount(id string) storage.ServiceAccount {
	return storage.ServiceAccount{ID: id, OrganizationID: orgA, Name: "robot", Role: "member", ClientID: "sa-" + id,
		SecretHash: []byte("sa-hash")}
}

type fixture struct {
	store *fakeStore
	clock *clock
	c     *Cache
}

func newFixture(t testing.TB, cfg Config) *fixture {
	t.Helper()
	f := &fixture{store: newFakeStore(), clock: &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}}
	cfg.Now = f.clock.Now
	f.c = New(f.store, cfg)
	return f
}

// app looks id up through the cache and reports whether the store was read.
func (f *fixture) app(t testing.TB, id string) (*storage.Application, error, bool) {
	t.Helper()
	before := f.store.reads.Load()
	a, err := f.c.ApplicationByID(context.Background(), id)
	return a, err, f.store.reads.Load() != before
}

func (f *fixture) account(t testing.TB, clientID string) (*storage.ServiceAccount, error, bool) {
	t.Helper()
	before := f.store.reads.Load()
	sa, err := f.c.ServiceAccountByClientID(context.Background(), clientID)
	return sa, err, f.store.reads.Load() != before
}

func TestHitReturnsACopy(t *testing.T) {
	f := newFixture(t, Config{})
	f.store.putApp(testApp("app1"))
	a, err, read := f.app(t, "app1")
	if err != nil || !read {
		t.Fatalf("first lookup: %v, read %v", err, read)
	}
	// Mutating what we got must change neither the cache nor the next answer.
	a.SecretHash[0] = 'X'
	a.RedirectURIs[0] = "https://evil.example/cb"
	a.GrantTypes = append(a.GrantTypes[:0], "authorization_code")
	a.Name = "changed"
	b, err, read := f.app(t, "app1")
	if err != nil || read {
		t.Fatalf("second lookup: %v, read %v (want a hit)", err, read)
	}
	if string(b.SecretHash) != "hash-1" || b.RedirectURIs[0] != "https://a.example/cb" || b.GrantTypes[0] != "client_credentials" || b.Name != "app app1" {
		t.Fatalf("cached value was mutated through a returned copy: %+v", b)
	}
	b.Scopes[0] = "write"
	if c, _, _ := f.app(t, "app1"); c.Scopes[0] != "read" {
		t.Fatal("hit returned the cached slices themselves")
	}

	f.store.CreateServiceAccount(context.Background(), ptr(testAccount("sa1")))
	sa, err, read := f.account(t, "sa-sa1")
	if err != nil || !read {
		t.Fatalf("first account lookup: %v, read %v", err, read)
	}
	sa.SecretHash[0] = 'X'
	sa2, err, read := f.account(t, "sa-sa1")
	if err != nil || read || string(sa2.SecretHash) != "sa-hash" {
		t.Fatalf("second account lookup: %v, read %v, hash %q", err, read, sa2.SecretHash)
	}
}

func ptr[T any](v T) *T { return &v }

// Every write through the cache is visible to the very next lookup, whatever
// was cached before (a client, or "not found").
func TestWritesInvalidate(t *testing.T) {
	ctx := context.Background()
	type check func(t *testing.T, f *fixture)
	appIs := func(want func(*storage.Application) bool, what string) check {
		return func(t *testing.T, f *fixture) {
			a, err, read := f.app(t, "app1")
			if !read {
				t.Errorf("the lookup after the write was served from the cache")
			}
			if err != nil || !want(a) {
				t.Errorf("after the write: %+v, %v; want %s", a, err, what)
			}
		}
	}
	appGone := func(t *testing.T, f *fixture) {
		_, err, _ := f.app(t, "app1")
		if !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("after the delete: %v, want ErrNotFound", err)
		}
	}
	accountIs := func(found bool) check {
		return func(t *testing.T, f *fixture) {
			sa, err, read := f.account(t, "sa-sa1")
			if !read {
				t.Errorf("the lookup after the write was served from the cache")
			}
			if found && (err != nil || sa.ID != "sa1") || !found && !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("after the write: %+v, %v; want found=%v", sa, err, found)
			}
		}
	}
	updated := func(change func(*storage.Application)) func(*fixture) error {
		return func(f *fixture) error {
			a := testApp("app1")
			change(&a)
			return f.c.UpdateApplication(ctx, &a)
		}
	}
	cases := []struct {
		name  string
		setup func(f *fixture) // what exists before the cache is warmed
		warm  func(t *testing.T, f *fixture)
		write func(f *fixture) error
		check check
	}{
		{"create application after a cached not-found",
			func(*fixture) {}, func(t *testing.T, f *fixture) { f.app(t, "app1") },
			func(f *fixture) error { return f.c.CreateApplication(ctx, ptr(testApp("app1"))) },
			appIs(func(a *storage.Application) bool { return a.ID == "app1" }, "the new application")},
		{"rotated secret",
			func(f *fixture) { f.store.putApp(testApp("app1")) }, func(t *testing.T, f *fixture) { f.app(t, "app1") },
			updated(func(a *storage.Application) { a.SecretHash = []byte("hash-2") }),
			appIs(func(a *storage.Application) bool { return string(a.SecretHash) == "hash-2" }, "the new secret hash")},
		{"changed redirect URIs",
			func(f *fixture) { f.store.putApp(testApp("app1")) }, func(t *testing.T, f *fixture) { f.app(t, "app1") },
			updated(func(a *storage.Application) { a.RedirectURIs = []string{"https://b.example/cb"} }),
			appIs(func(a *storage.Application) bool { return a.RedirectURIs[0] == "https://b.example/cb" }, "the new redirect URI")},
		{"changed scopes",
			func(f *fixture) { f.store.putApp(testApp("app1")) }, func(t *testing.T, f *fixture) { f.app(t, "app1") },
			updated(func(a *storage.Application) { a.Scopes = []string{} }),
			appIs(func(a *storage.Application) bool { return len(a.Scopes) == 0 }, "no scopes")},
		{"changed grant types",
			func(f *fixture) { f.store.putApp(testApp("app1")) }, func(t *testing.T, f *fixture) { f.app(t, "app1") },
			updated(func(a *storage.Application) { a.GrantTypes = []string{"authorization_code"} }),
			appIs(func(a *storage.Application) bool { return a.GrantTypes[0] == "authorization_code" }, "the new grant types")},
		{"deleted application",
			func(f *fixture) { f.store.putApp(testApp("app1")) }, func(t *testing.T, f *fixture) { f.app(t, "app1") },
			func(f *fixture) error { return f.c.DeleteApplication(ctx, orgA, "app1") },
			appGone},
		{"create service account after a cached not-found",
			func(*fixture) {}, func(t *testing.T, f *fixture) { f.account(t, "sa-sa1") },
			func(f *fixture) error { return f.c.CreateServiceAccount(ctx, ptr(testAccount("sa1"))) },
			accountIs(true)},
		{"deleted service account",
			func(f *fixture) { f.store.CreateServiceAccount(ctx, ptr(testAccount("sa1"))) },
			func(t *testing.T, f *fixture) { f.account(t, "sa-sa1") },
			func(f *fixture) error { return f.c.DeleteServiceAccount(ctx, orgA, "sa1", time.Now()) },
			accountIs(false)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, Config{TTL: time.Hour, NotFoundTTL: time.Hour})
			tc.setup(f)
			tc.warm(t, f)
			tc.warm(t, f)
			if got := f.store.reads.Load(); got != 1 {
				t.Fatalf("warming read the store %d times, want 1 (a hit the second time)", got)
			}
			if err := tc.write(f); err != nil {
				t.Fatalf("write: %v", err)
			}
			tc.check(t, f)
		})
	}
}

// A write that fails still forgets: the error may come after the commit.
func TestFailedWriteStillForgets(t *testing.T) {
	f := newFixture(t, Config{TTL: time.Hour})
	f.store.putApp(testApp("app1"))
	f.app(t, "app1")
	f.store.setFail(errors.New("connection reset"))
	a := testApp("app1")
	if err := f.c.UpdateApplication(context.Background(), &a); err == nil {
		t.Fatal("want the store's error")
	}
	f.store.setFail(nil)
	if _, _, read := f.app(t, "app1"); !read {
		t.Fatal("a failed write left the entry cached")
	}
}

func TestTTL(t *testing.T) {
	f := newFixture(t, Config{TTL: 30 * time.Second, NotFoundTTL: 5 * time.Second})
	f.store.putApp(testApp("app1"))
	f.app(t, "app1")
	f.app(t, "missing")
	// A change behind the cache's back (another replica without Redis).
	changed := testApp("app1")
	changed.SecretHash = []byte("hash-2")
	f.store.putApp(changed)
	f.store.putApp(testApp("missing"))

	steps := []struct {
		after     time.Duration
		id        string
		wantRead  bool
		wantFound bool
	}{
		{4 * time.Second, "missing", false, false}, // not-found still cached
		{0, "app1", false, true},
		{1 * time.Second, "missing", true, true}, // 5 s: NotFoundTTL over
		{24 * time.Second, "app1", false, true},  // 29 s
		{1 * time.Second, "app1", true, true},    // 30 s: TTL over
	}
	for i, s := range steps {
		f.clock.Add(s.after)
		a, err, read := f.app(t, s.id)
		if read != s.wantRead || (err == nil) != s.wantFound {
			t.Fatalf("step %d (%s): read %v err %v, want read %v found %v", i, s.id, read, err, s.wantRead, s.wantFound)
		}
		if s.id == "app1" && read && string(a.SecretHash) != "hash-2" {
			t.Fatalf("step %d: stale after expiry: %q", i, a.SecretHash)
		}
	}
}

func TestNotFound(t *testing.T) {
	f := newFixture(t, Config{TTL: time.Hour, NotFoundTTL: time.Hour})
	for i := range 3 {
		_, err, read := f.app(t, "nobody")
		if !errors.Is(err, storage.ErrNotFound) || read != (i == 0) {
			t.Fatalf("application lookup %d: %v, read %v", i, err, read)
		}
		_, err, read = f.account(t, "sa-nobody")
		if !errors.Is(err, storage.ErrNotFound) || read != (i == 0) {
			t.Fatalf("account lookup %d: %v, read %v", i, err, read)
		}
	}

	// Other errors are not cached: the next request asks again.
	f.store.setFail(errors.New("database unavailable"))
	for i := range 2 {
		if _, err, read := f.app(t, "down"); err == nil || errors.Is(err, storage.ErrNotFound) || !read {
			t.Fatalf("lookup %d during an outage: %v, read %v", i, err, read)
		}
		if _, err, read := f.account(t, "sa-down"); err == nil || errors.Is(err, storage.ErrNotFound) || !read {
			t.Fatalf("account lookup %d during an outage: %v, read %v", i, err, read)
		}
	}
	f.store.setFail(nil)
	f.store.putApp(testApp("down"))
	if _, err, _ := f.app(t, "down"); err != nil {
		t.Fatalf("after the outage: %v", err)
	}

	// Ids longer than any client id pass through uncached.
	long := strings.Repeat("x", maxIDLength+1)
	for range 2 {
		if _, _, read := f.app(t, long); !read {
			t.Fatal("an over-long id was cached")
		}
	}
}

func TestBound(t *testing.T) {
	f := newFixture(t, Config{TTL: time.Hour, NotFoundTTL: time.Hour, MaxEntries: 100})
	for i := range 50 {
		f.store.putApp(testApp(fmt.Sprintf("app%d", i)))
		f.app(t, fmt.Sprintf("app%d", i))
	}
	// A flood of unknown ids (anyone can send them to /oauth/token).
	for i := range 1000 {
		f.app(t, fmt.Sprintf("probe%d", i))
		if n, _ := f.c.Len(); n > 100 {
			t.Fatalf("%d entries, bound 100", n)
		}
	}
	// Found clients are dropped last.
	for i := range 50 {
		if _, _, read := f.app(t, fmt.Sprintf("app%d", i)); read {
			t.Fatalf("app%d was pushed out by not-found entries", i)
		}
	}
	// A shrink drops every expired entry.
	f.clock.Add(2 * time.Hour)
	for i := 0; ; i++ {
		before, _ := f.c.Len()
		f.app(t, fmt.Sprintf("late%d", i))
		if n, _ := f.c.Len(); n < before {
			if n != i+1 {
				t.Fatalf("%d entries after a shrink, want the %d added since the others expired", n, i+1)
			}
			break
		}
	}
}

// A lookup that read the store before a write, and finishes after the write
// invalidated, must not put its stale answer back.
func TestLookupRacingAWrite(t *testing.T) {
	f := newFixture(t, Config{TTL: time.Hour})
	f.store.putApp(testApp("app1"))
	inRead, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	f.store.onRead = func(string) {
		once.Do(func() { close(inRead); <-release })
	}
	done := make(chan *storage.Application)
	go func() {
		a, _ := f.c.ApplicationByID(context.Background(), "app1")
		done <- a
	}()
	<-inRead // the lookup has read the old row
	rotated := testApp("app1")
	rotated.SecretHash = []byte("hash-2")
	if err := f.c.UpdateApplication(context.Background(), &rotated); err != nil {
		t.Fatal(err)
	}
	close(release)
	if a := <-done; string(a.SecretHash) != "hash-1" {
		t.Fatalf("the racing lookup read %q; the test wants it to have read the old row", a.SecretHash)
	}
	a, _, read := f.app(t, "app1")
	if !read || string(a.SecretHash) != "hash-2" {
		t.Fatalf("after the race: read %v, hash %q; the stale read was cached", read, a.SecretHash)
	}
}

// Two replicas (two caches on one store, as on one database) share a Redis:
// a write through one reaches the other within milliseconds.
func TestRedisAcrossReplicas(t *testing.T) {
	url := os.Getenv("PUGUH_TEST_REDIS_URL")
	if url == "" {
		t.Skip("Redis case skipped: set PUGUH_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/15) to run it")
	}
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	ns := "test:" + t.Name() + ":" + time.Now().Format("150405.000000000") + ":"
	db := newFakeStore()
	r1, r2 := redis.NewClient(opts), redis.NewClient(opts)
	t.Cleanup(func() { r1.Close(); r2.Close() })
	one := New(db, Config{TTL: time.Hour, NotFoundTTL: time.Hour, Redis: r1, Namespace: ns})
	two := New(db, Config{TTL: time.Hour, NotFoundTTL: time.Hour, Redis: r2, Namespace: ns})
	ctx, cancel := context.WithCancel(context.Background())

	// Something cached before the follower subscribes may have missed
	// messages: the (first) subscription drops it.
	db.putApp(testApp("before"))
	if _, err := two.ApplicationByID(ctx, "before"); err != nil {
		t.Fatal(err)
	}

	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); one.Run(ctx) }()
	go func() { defer wg.Done(); two.Run(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
	for i := 0; ; i++ {
		n, err := r1.PubSubNumSub(ctx, one.topic).Result()
		if err != nil {
			t.Fatal(err)
		}
		if n[one.topic] == 2 {
			break
		}
		if i == 200 {
			t.Fatal("subscriptions did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if apps, _ := two.Len(); apps != 0 {
		t.Fatalf("%d applications still cached after subscribing, want 0", apps)
	}

	db.putApp(testApp("app1"))
	if err := db.CreateServiceAccount(ctx, ptr(testAccount("sa1"))); err != nil {
		t.Fatal(err)
	}
	// Replica two warms its cache, including not-found answers.
	warm := func() {
		t.Helper()
		if _, err := two.ApplicationByID(ctx, "app1"); err != nil {
			t.Fatal(err)
		}
		if _, err := two.ServiceAccountByClientID(ctx, "sa-sa1"); err != nil {
			t.Fatal(err)
		}
		_, _ = two.ApplicationByID(ctx, "app2")
		_, _ = two.ServiceAccountByClientID(ctx, "sa-sa2")
	}
	warm()
	reads := db.reads.Load()
	warm()
	if db.reads.Load() != reads {
		t.Fatal("replica two did not cache")
	}

	// Replica one rotates, creates and deletes.
	rotated := testApp("app1")
	rotated.SecretHash = []byte("hash-2")
	steps := []struct {
		name  string
		write func() error
		done  func() bool
	}{
		{"rotated secret", func() error { return one.UpdateApplication(ctx, &rotated) }, func() bool {
			a, err := two.ApplicationByID(ctx, "app1")
			return err == nil && string(a.SecretHash) == "hash-2"
		}},
		{"created application", func() error { return one.CreateApplication(ctx, ptr(testApp("app2"))) }, func() bool {
			_, err := two.ApplicationByID(ctx, "app2")
			return err == nil
		}},
		{"created service account", func() error { return one.CreateServiceAccount(ctx, ptr(testAccount("sa2"))) }, func() bool {
			_, err := two.ServiceAccountByClientID(ctx, "sa-sa2")
			return err == nil
		}},
		{"deleted application", func() error { return one.DeleteApplication(ctx, orgA, "app1") }, func() bool {
			_, err := two.ApplicationByID(ctx, "app1")
			return errors.Is(err, storage.ErrNotFound)
		}},
		{"deleted service account", func() error { return one.DeleteServiceAccount(ctx, orgA, "sa1", time.Now()) }, func() bool {
			_, err := two.ServiceAccountByClientID(ctx, "sa-sa1")
			return errors.Is(err, storage.ErrNotFound)
		}},
	}
	for _, s := range steps {
		if err := s.write(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		start := time.Now()
		for !s.done() {
			if time.Since(start) > 2*time.Second {
				t.Fatalf("%s: replica two still serves its cached copy after 2s", s.name)
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Logf("%s: replica two followed in %v", s.name, time.Since(start).Round(time.Millisecond))
	}
}
