package keys

import (
	"context"
	"crypto/rsa"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/arsaka/puguh/storage"
	"github.com/arsaka/puguh/storage/sqlstore"
	"github.com/arsaka/puguh/storage/sqlstore/sqltest"
)

// fakeClock is a settable clock: tests move time, they never sleep.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// testKeys is a pool of pre-generated keys: RSA generation takes long enough
// under -race to dominate the suite otherwise.
var testKeys = sync.OnceValue(func() []*rsa.PrivateKey {
	ks := make([]*rsa.PrivateKey, 16)
	var wg sync.WaitGroup
	for i := range ks {
		wg.Go(func() {
			k, err := generateRSA(MinKeySize)
			if err != nil {
				panic(err)
			}
			ks[i] = k
		})
	}
	wg.Wait()
	return ks
})

// keyGen hands out pool keys in order; share one between the replicas of a
// test so they do not all pick the same key.
type keyGen struct{ n atomic.Int64 }

func (g *keyGen) generate(int) (*rsa.PrivateKey, error) {
	pool := testKeys()
	return pool[int(g.n.Add(1)-1)%len(pool)], nil
}

var testSecret = []byte("0123456789abcdef0123456789abcdef")

func testConfig(clock *fakeClock) Config {
	return Config{MaxTokenLifetime: time.Hour, Now: clock.Now}
}

// env is one database with a clock and a key generator shared by the
// Managers (replicas) a test opens on it.
type env struct {
	url   string
	store *sqlstore.Store
	clock *fakeClock
	gen   *keyGen
	cfg   Config
}

// forEachBackend runs fn on SQLite and, when PUGUH_TEST_DATABASE_URL is set, PostgreSQL.
func forEachBackend(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Helper()
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			url := b.URL(t)
			clock := newFakeClock()
			e := &env{url: url, store: sqltest.OpenURL(t, url), clock: clock, gen: &keyGen{}, cfg: testConfig(clock)}
			fn(t, e)
		})
	}
}

// open starts a Manager on the env's store.
func (e *env) open(t testing.TB) *Manager {
	t.Helper()
	m, err := open(context.Background(), e.store, testSecret, e.cfg, e.gen.generate)
	if err != nil {
		t.Fatalf("open manager: %v", err)
	}
	return m
}

// openReplica starts a Manager on a second connection pool to the same
// database, as another process would.
func (e *env) openReplica(t testing.TB) *Manager {
	t.Helper()
	m, err := open(context.Background(), sqltest.OpenURL(t, e.url), testSecret, e.cfg, e.gen.generate)
	if err != nil {
		t.Fatalf("open replica: %v", err)
	}
	return m
}

// states returns kid → state as stored.
func states(t testing.TB, m *Manager) map[string]string {
	t.Helper()
	infos, err := m.List(context.Background())
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	out := make(map[string]string)
	for _, k := range infos {
		out[k.KID] = k.State
	}
	return out
}

// countStates counts keys per state.
func countStates(t testing.TB, m *Manager) map[string]int {
	t.Helper()
	out := make(map[string]int)
	for _, s := range states(t, m) {
		out[s]++
	}
	return out
}

// publishedKIDs lists the kids in the in-memory JWKS snapshot, sorted.
func publishedKIDs(m *Manager) []string {
	var out []string
	for kid := range m.set.Load().published {
		out = append(out, kid)
	}
	slices.Sort(out)
	return out
}

// memStore is an in-memory Store for fuzzing and benchmarks, with the same
// compare-and-swap rules as the SQL one.
type memStore struct {
	mu   sync.Mutex
	rows []storage.SigningKey
}

func (s *memStore) SigningKeys(context.Context) ([]storage.SigningKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.rows), nil
}

func (s *memStore) InsertSigningKey(_ context.Context, k *storage.SigningKey) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.rows {
		if r.KID == k.KID || (r.State == k.State && r.Algorithm == k.Algorithm && k.State != storage.KeyStateRetired) {
			return storage.ErrConflict
		}
	}
	s.rows = append(s.rows, *k)
	return nil
}

func (s *memStore) PromoteSigningKey(_ context.Context, nextKID, activeKID string, at, removeAfter time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ni, ai := -1, -1
	for i, r := range s.rows {
		if r.KID == nextKID && r.State == storage.KeyStateNext {
			ni = i
		}
	}
	for i, r := range s.rows {
		if ni >= 0 && r.State == storage.KeyStateActive && r.Algorithm == s.rows[ni].Algorithm {
			ai = i
		}
	}
	if ni < 0 || (activeKID == "") != (ai < 0) || (ai >= 0 && s.rows[ai].KID != activeKID) {
		return storage.ErrPrecondition
	}
	if ai >= 0 {
		s.rows[ai].State, s.rows[ai].RetiredAt, s.rows[ai].RemoveAfter = storage.KeyStateRetired, &at, &removeAfter
	}
	s.rows[ni].State, s.rows[ni].ActivatedAt = storage.KeyStateActive, &at
	return nil
}

func (s *memStore) DeleteSigningKeysRemovableBefore(_ context.Context, t time.Time) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.rows)
	s.rows = slices.DeleteFunc(s.rows, func(r storage.SigningKey) bool {
		return r.State == storage.KeyStateRetired && r.RemoveAfter.Before(t)
	})
	return int64(n - len(s.rows)), nil
}

// newMemManager is a Manager over memStore, for tests that need no database.
func newMemManager(t testing.TB) (*Manager, *fakeClock) {
	t.Helper()
	clock := newFakeClock()
	m, err := open(context.Background(), &memStore{}, testSecret, testConfig(clock), (&keyGen{}).generate)
	if err != nil {
		t.Fatalf("open manager: %v", err)
	}
	return m, clock
}
