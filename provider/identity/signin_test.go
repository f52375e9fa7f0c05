package identity

import (
	"context"
	"errors"
	"runtime"
	"testing"

	"github.com/arsaka/puguh/provider/password"
	"github.com/arsaka/puguh/provider/problem"
	"github.com/arsaka/puguh/storage"
)

// usersByEmail is an Accounts store holding a few users in memory.
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
	api := &SignIn{Hasher: h, Accounts: usersByEmail{
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
			if p := problem.As(err); p == nil || p.Kind != problem.Unauthenticated || p.Detail != BadCredentials {
				t.Fatalf("got %v, want Unauthenticated %q", err, BadCredentials)
			}
		})
	}
}
