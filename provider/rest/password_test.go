package rest_test

import (
	"context"
	"errors"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
	"github.com/arsaka/puguh/provider/httpapi"
	"github.com/arsaka/puguh/provider/password"
	"github.com/arsaka/puguh/provider/rest"
	"github.com/arsaka/puguh/storage"
)

// usersByEmail is an IdentityStore holding a few users in memory.
type usersByEmail map[string]*storage.User

func (m usersByEmail) Register(context.Context, *storage.User, *storage.Organization) error {
	return errors.New("not used")
}

func (m usersByEmail) UserByEmail(_ context.Context, email string) (*storage.User, error) {
	if u, ok := m[email]; ok {
		return u, nil
	}
	return nil, storage.ErrNotFound
}

func (m usersByEmail) UpdateUserPassword(context.Context, string, string) error { return nil }

func (m usersByEmail) CreateOrganization(context.Context, *storage.Organization, string) error {
	return errors.New("not used")
}

func (m usersByEmail) OrganizationsOfUser(context.Context, string) ([]storage.UserOrganization, error) {
	return nil, nil
}

// TestCheckPasswordSpendsOneHashEveryWay counts argon2id runs instead of
// timing them (docs/security.md, "Accounts and sessions"): each run allocates the whole memory
// cost, so the bytes allocated during CheckPassword, divided by that cost, is
// the number of hashes computed. An unknown email, a malformed one, a wrong
// password and a disabled account must each cost exactly one, like a
// successful sign-in, and answer the same 401.
func TestCheckPasswordSpendsOneHashEveryWay(t *testing.T) {
	params := password.Params{MemoryKiB: 16 << 10, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}
	h, err := password.NewHasher(params, 1)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	hash, err := h.Hash(ctx, "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	api := &rest.IdentityAPI{Hasher: h, Store: usersByEmail{
		"jane@example.com": {ID: "u1", Email: "jane@example.com", PasswordHash: hash},
		"off@example.com":  {ID: "u2", Email: "off@example.com", PasswordHash: hash, Disabled: true},
	}}
	hashes := func(email, pw string) (int, error) {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := api.CheckPassword(ctx, email, pw)
		runtime.ReadMemStats(&after)
		return int((after.TotalAlloc - before.TotalAlloc) / (uint64(params.MemoryKiB) << 10)), err
	}
	for _, tc := range []struct {
		name, email, pw string
		ok              bool
	}{
		{"right password", "jane@example.com", "correct horse battery", true},
		{"wrong password", "jane@example.com", "correct horse battery!", false},
		{"unknown email", "john@example.com", "correct horse battery", false},
		{"malformed email", "john", "correct horse battery", false},
		{"disabled account", "off@example.com", "correct horse battery", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, err := hashes(tc.email, tc.pw)
			if n != 1 {
				t.Errorf("%d argon2id runs, want exactly 1", n)
			}
			if tc.ok {
				if err != nil {
					t.Fatalf("sign-in refused: %v", err)
				}
				return
			}
			var he *httpapi.Error
			if !errors.As(err, &he) || he.Status != http.StatusUnauthorized || he.Detail != rest.BadCredentials {
				t.Fatalf("got %v, want 401 %q", err, rest.BadCredentials)
			}
		})
	}
}

// TestLoginAtRealCost runs at the OWASP argon2id cost: the stored hash is a
// PHC string with m=19456,t=2,p=1 (docs/security.md, "Accounts and sessions"), and an unknown
// email and a wrong password answer identically (item 15). Their timings are
// logged for a human to compare, not asserted: the assertion that they cost
// the same is TestCheckPasswordSpendsOneHashEveryWay.
func TestLoginAtRealCost(t *testing.T) {
	e := start(t, apptest.Options{RealPasswordCost: true})
	u := e.NewUser()
	var stored string
	db := e.App.Store().DB()
	if err := db.Get(&stored, db.Rebind("SELECT password_hash FROM users WHERE id = ?"), u.ID); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(stored, "$argon2id$v=19$m=19456,t=2,p=1$") || strings.Contains(stored, u.Password) {
		t.Fatalf("stored hash %q, want an argon2id PHC string with m=19456,t=2,p=1", stored)
	}

	const n = 7 // per kind; the account budget is 10 sign-ins per 10 minutes
	var reference *apptest.Response
	timings := map[string][]time.Duration{}
	for i := range 2 * n {
		kind, email := "wrong password", u.Email
		if i%2 == 1 {
			kind, email = "unknown email", "nobody-"+u.ID[:8]+"@example.com"
		}
		begin := time.Now()
		r := e.Do(http.MethodPost, "/api/v1/auth/login", map[string]string{"email": email, "password": "not the password"})
		timings[kind] = append(timings[kind], time.Since(begin))
		want(t, r, http.StatusUnauthorized, bodyBadCredentials)
		if reference == nil {
			reference = r
		}
		sameHeaders(t, reference.Header, r.Header)
	}
	median := func(d []time.Duration) time.Duration { slices.Sort(d); return d[len(d)/2] }
	t.Logf("median of %d sign-ins at OWASP cost: wrong password %v, unknown email %v",
		n, median(timings["wrong password"]), median(timings["unknown email"]))
}
