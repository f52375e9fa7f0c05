package credentials

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arsaka/puguh/provider/authz"
	"github.com/arsaka/puguh/provider/orgs"
	"github.com/arsaka/puguh/storage"
)

const (
	orgA  = "00000000-0000-4000-8000-00000000000a"
	orgB  = "00000000-0000-4000-8000-00000000000b"
	alice = "00000000-0000-4000-8000-0000000000a1"
	robot = "00000000-0000-4000-8000-0000000000f1"
)

// fakeStore is a hand-written APIKeyStore/ServiceAccountStore in memory that
// counts its reads.
type fakeStore struct {
	mu       sync.Mutex
	keys     map[string]*storage.APIKey // by string(hash)
	accounts map[string]*storage.ServiceAccount
	reads    int
	touched  map[string]time.Time
	touchErr error
	disabled map[string]bool // user ids
}

func newFakeStore() *fakeStore {
	return &fakeStore{keys: map[string]*storage.APIKey{}, accounts: map[string]*storage.ServiceAccount{},
		touched: map[string]time.Time{}, disabled: map[string]bool{}}
}

// UserByID knows every user as enabled unless disabled; an empty id is no user.
func (s *fakeStore) UserByID(_ context.Context, id string) (*storage.User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id == "" {
		return nil, storage.ErrNotFound
	}
	return &storage.User{ID: id, Disabled: s.disabled[id]}, nil
}

func (s *fakeStore) APIKeyByHash(_ context.Context, hash []byte) (*storage.APIKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads++
	k, ok := s.keys[string(hash)]
	if !ok {
		return nil, storage.ErrNotFound
	}
	c := *k
	return &c, nil
}

func (s *fakeStore) ServiceAccountByID(_ context.Context, orgID, id string) (*storage.ServiceAccount, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sa, ok := s.accounts[id]
	if !ok || sa.OrganizationID != orgID {
		return nil, storage.ErrNotFound
	}
	return sa, nil
}

func (s *fakeStore) TouchAPIKeys(_ context.Context, m map[string]time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.touchErr != nil {
		return s.touchErr
	}
	for id, at := range m {
		s.touched[id] = at
	}
	return nil
}

func (s *fakeStore) readCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads
}

func (s *fakeStore) revoke(hash []byte, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[string(hash)].RevokedAt = &at
}

// fakeRoles answers like orgs.Service.Role: ErrNotMember for a non-member.
type fakeRoles struct {
	mu    sync.Mutex
	roles map[string]string // "org/user" → role
}

func (r *fakeRoles) Role(_ context.Context, orgID, userID string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	role, ok := r.roles[orgID+"/"+userID]
	if !ok {
		return "", orgs.ErrNotMember
	}
	return role, nil
}

func (r *fakeRoles) set(orgID, userID, role string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if role == "" {
		delete(r.roles, orgID+"/"+userID)
		return
	}
	r.roles[orgID+"/"+userID] = role
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

type fixture struct {
	store *fakeStore
	roles *fakeRoles
	clock *clock
	v     *Verifier
}

func newFixture(t testing.TB, cfg Config) *fixture {
	f := &fixture{store: newFakeStore(), roles: &fakeRoles{roles: map[string]string{orgA + "/" + alice: authz.Admin}},
		clock: &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}}
	f.store.accounts[robot] = &storage.ServiceAccount{ID: robot, OrganizationID: orgA, Role: authz.Viewer}
	cfg.Now = f.clock.Now
	f.v = NewVerifier(f.store, f.roles, cfg)
	return f
}

// addKey stores a key of orgA created by alice with perms; edit adjusts it first.
func (f *fixture) addKey(t testing.TB, perms []string, edit func(*storage.APIKey)) (string, *storage.APIKey) {
	t.Helper()
	s, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	k := &storage.APIKey{ID: "key-" + s.Display, OrganizationID: orgA, Prefix: s.Display, Hash: s.Hash,
		Permissions: perms, CreatedBy: alice, CreatedAt: f.clock.Now()}
	if edit != nil {
		edit(k)
	}
	f.store.mu.Lock()
	f.store.keys[string(s.Hash)] = k
	f.store.mu.Unlock()
	return s.Key, k
}

func TestAuthenticateGood(t *testing.T) {
	f := newFixture(t, Config{})
	key, k := f.addKey(t, []string{authz.OrganizationRead, authz.APIKeysRead}, nil)
	p, err := f.v.Authenticate(context.Background(), key, orgA)
	if err != nil {
		t.Fatal(err)
	}
	if p.Type != authz.TypeAPIKey || p.ID != k.ID || p.OrganizationID != orgA || p.OwnerID != alice || p.Role != "" {
		t.Fatalf("principal = %+v", p)
	}
	if got := p.Permissions.Sorted(); !slices.Equal(got, []string{authz.APIKeysRead, authz.OrganizationRead}) {
		t.Fatalf("permissions = %v", got)
	}
	// Upper-case UUIDs name the same organization.
	if _, err := f.v.Authenticate(context.Background(), key, "00000000-0000-4000-8000-00000000000A"); err != nil {
		t.Fatalf("upper-case organization id: %v", err)
	}
}

func TestAuthenticateRejects(t *testing.T) {
	f := newFixture(t, Config{})
	perms := []string{authz.OrganizationRead}
	good, _ := f.addKey(t, perms, nil)
	revoked, _ := f.addKey(t, perms, func(k *storage.APIKey) { at := f.clock.Now().Add(-time.Minute); k.RevokedAt = &at })
	expired, _ := f.addKey(t, perms, func(k *storage.APIKey) { at := f.clock.Now(); k.ExpiresAt = &at })
	orphan, _ := f.addKey(t, perms, func(k *storage.APIKey) { k.CreatedBy = "00000000-0000-4000-8000-0000000000dd" })
	goneSA, _ := f.addKey(t, perms, func(k *storage.APIKey) { id := "00000000-0000-4000-8000-0000000000ee"; k.ServiceAccountID = &id })
	const bob = "00000000-0000-4000-8000-0000000000b0"
	f.roles.set(orgA, bob, authz.Admin)
	f.store.disabled[bob] = true
	disabledCreator, _ := f.addKey(t, perms, func(k *storage.APIKey) { k.CreatedBy = bob })
	unknown, _ := Generate()
	cases := []struct{ name, key, org string }{
		{"wrong organization", good, orgB},
		{"revoked", revoked, orgA},
		{"expired at this instant", expired, orgA},
		{"unknown key with a valid checksum", unknown.Key, orgA},
		{"bad checksum", good[:len(good)-1] + otherDigit(good[len(good)-1]), orgA},
		{"malformed", "not-a-key", orgA},
		{"creator no longer a member", orphan, orgA},
		{"creator disabled", disabledCreator, orgA},
		{"service account deleted", goneSA, orgA},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := f.v.Authenticate(context.Background(), tc.key, tc.org)
			if !errors.Is(err, ErrBadKey) || p != nil {
				t.Fatalf("Authenticate = %v, %v; want ErrBadAPIKey", p, err)
			}
		})
	}
}

func TestMalformedKeysNeverReachTheStore(t *testing.T) {
	f := newFixture(t, Config{})
	good, _ := f.addKey(t, nil, nil)
	// A changed last character breaks the checksum; pick one that differs
	// from the key's own, or the "malformed" key would be the good one.
	last := "Z"
	if strings.HasSuffix(good, last) {
		last = "Y"
	}
	for _, k := range []string{"", "pgh_", good[:len(good)-1] + last, good + "x"} {
		_, _ = f.v.Authenticate(context.Background(), k, orgA)
	}
	if n := f.store.readCount(); n != 0 {
		t.Fatalf("store read %d times for malformed keys, want 0", n)
	}
}

func TestPermissionsFollowTheCreatorsRole(t *testing.T) {
	f := newFixture(t, Config{})
	key, _ := f.addKey(t, []string{authz.OrganizationRead, authz.ApplicationsCreate, authz.APIKeysCreate}, nil)
	ctx := context.Background()
	check := func(want ...string) {
		t.Helper()
		p, err := f.v.Authenticate(ctx, key, orgA)
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(want)
		if got := p.Permissions.Sorted(); !slices.Equal(got, want) {
			t.Fatalf("permissions = %v, want %v", got, want)
		}
	}
	check(authz.OrganizationRead, authz.ApplicationsCreate, authz.APIKeysCreate)
	f.roles.set(orgA, alice, authz.Member) // demoted: loses applications.create
	check(authz.OrganizationRead, authz.APIKeysCreate)
	f.roles.set(orgA, alice, authz.Viewer)
	check(authz.OrganizationRead)
	f.roles.set(orgA, alice, "") // removed from the organization
	if _, err := f.v.Authenticate(ctx, key, orgA); !errors.Is(err, ErrBadKey) {
		t.Fatalf("creator removed: %v, want ErrBadAPIKey", err)
	}
}

func TestServiceAccountKeys(t *testing.T) {
	f := newFixture(t, Config{})
	sa := robot
	key, _ := f.addKey(t, []string{authz.OrganizationRead, authz.ApplicationsCreate}, func(k *storage.APIKey) { k.ServiceAccountID = &sa })
	ctx := context.Background()
	p, err := f.v.Authenticate(ctx, key, orgA)
	if err != nil {
		t.Fatal(err)
	}
	// The account is a viewer: applications.create is narrowed away.
	if got := p.Permissions.Sorted(); !slices.Equal(got, []string{authz.OrganizationRead}) || p.OwnerID != robot {
		t.Fatalf("principal = %+v, permissions %v", p, got)
	}
	f.store.mu.Lock()
	delete(f.store.accounts, robot)
	f.store.mu.Unlock()
	if _, err := f.v.Authenticate(ctx, key, orgA); !errors.Is(err, ErrBadKey) {
		t.Fatalf("after the account was deleted: %v", err)
	}
}

func TestLastUseIsBatched(t *testing.T) {
	f := newFixture(t, Config{})
	key, k := f.addKey(t, nil, nil)
	ctx := context.Background()
	for range 10 {
		if _, err := f.v.Authenticate(ctx, key, orgA); err != nil {
			t.Fatal(err)
		}
		f.clock.Add(time.Second)
	}
	if len(f.store.touched) != 0 {
		t.Fatal("last use was written before a flush")
	}
	f.store.touchErr = errors.New("database down")
	if err := f.v.Flush(ctx); err == nil {
		t.Fatal("Flush hid the store's error")
	}
	f.store.touchErr = nil
	if err := f.v.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	want := f.clock.Now().Add(-time.Second)
	if got := f.store.touched[k.ID]; !got.Equal(want) {
		t.Fatalf("last_used_at = %v, want the latest use %v (kept across the failed flush)", got, want)
	}
}

func TestRunFlushesOnShutdown(t *testing.T) {
	f := newFixture(t, Config{FlushInterval: time.Hour})
	key, k := f.addKey(t, nil, nil)
	if _, err := f.v.Authenticate(context.Background(), key, orgA); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); f.v.Run(ctx) }()
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop")
	}
	f.store.mu.Lock()
	defer f.store.mu.Unlock()
	if _, ok := f.store.touched[k.ID]; !ok {
		t.Fatal("Run did not flush on shutdown")
	}
}

// TestRankIsTheKeysOwn: a key's rank is the weaker of its own role (or the
// role its permissions imply) and the current role of whom it acts for, never
// its creator's rank alone.
func TestRankIsTheKeysOwn(t *testing.T) {
	sa := robot
	for _, tc := range []struct {
		name        string
		creatorRole string // alice's role; "" leaves the fixture's admin
		edit        func(k *storage.APIKey)
		want        string
	}{
		{"role member under an admin creator", "", func(k *storage.APIKey) { k.Role = authz.Member }, authz.Member},
		{"role admin under an owner creator", authz.Owner, func(k *storage.APIKey) { k.Role = authz.Admin }, authz.Admin},
		{"role owner under a demoted creator", authz.Viewer, func(k *storage.APIKey) { k.Role = authz.Owner }, authz.Viewer},
		{"an owner's permissions imply admin", authz.Owner, func(k *storage.APIKey) { k.Permissions = authz.PermissionsOf(authz.Owner) }, authz.Admin},
		{"one permission implies no rank", authz.Owner, func(k *storage.APIKey) { k.Permissions = []string{authz.MembersCreate} }, ""},
		{"a viewer service account caps its key", "", func(k *storage.APIKey) { k.Role = authz.Admin; k.ServiceAccountID = &sa }, authz.Viewer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, Config{})
			if tc.creatorRole != "" {
				f.roles.set(orgA, alice, tc.creatorRole)
			}
			key, _ := f.addKey(t, authz.PermissionsOf(authz.Owner), tc.edit)
			p, err := f.v.Authenticate(context.Background(), key, orgA)
			if err != nil {
				t.Fatal(err)
			}
			if p.Role != tc.want {
				t.Fatalf("rank %q, want %q", p.Role, tc.want)
			}
		})
	}
}

// otherDigit is a base62 digit other than c, so a mutated key always differs
// from the original.
func otherDigit(c byte) string {
	if c == '0' {
		return "1"
	}
	return "0"
}
