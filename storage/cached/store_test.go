package cached

import (
	"context"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/arsaka/puguh/storage"
	"github.com/arsaka/puguh/storage/sqlstore"
	"github.com/arsaka/puguh/storage/sqlstore/sqltest"
)

// world is one user with a personal organization, an application, a service
// account with a key, and a user key, in a fresh database.
type world struct {
	base  *sqlstore.Store
	s     *Store
	user  *storage.User
	org   *storage.Organization
	app   *storage.Application
	sa    *storage.ServiceAccount
	key   *storage.APIKey
	saKey *storage.APIKey
}

func newWorld(t *testing.T, base *sqlstore.Store) *world {
	t.Helper()
	ctx := context.Background()
	w := &world{base: base, s: New(base, Config{})}
	now := time.Now().UTC().Truncate(time.Millisecond)
	w.user = &storage.User{ID: uuid.NewString(), Email: uuid.NewString() + "@example.com", FullName: "Jane", PasswordHash: "h", CreatedAt: now, UpdatedAt: now}
	w.org = &storage.Organization{ID: uuid.NewString(), Name: "Jane", Plan: storage.PlanFree, Personal: true, CreatedAt: now, UpdatedAt: now}
	must(t, w.s.Register(ctx, w.user, w.org))
	w.app = &storage.Application{ID: uuid.NewString(), OrganizationID: w.org.ID, Name: "app", RedirectURIs: []string{"https://a.example/cb"},
		GrantTypes: []string{"authorization_code"}, ResponseTypes: []string{"code"}, Scopes: []string{"openid"},
		TokenEndpointAuthMethod: "client_secret_basic", SecretHash: []byte("h"), CreatedAt: now, UpdatedAt: now}
	must(t, w.s.CreateApplication(ctx, w.app))
	id := uuid.NewString()
	w.sa = &storage.ServiceAccount{ID: id, OrganizationID: w.org.ID, Name: "robot", Role: "viewer", ClientID: "sa-" + id,
		SecretHash: []byte("h"), CreatedBy: w.user.ID, CreatedAt: now}
	must(t, w.s.CreateServiceAccount(ctx, w.sa))
	w.key = &storage.APIKey{ID: uuid.NewString(), OrganizationID: w.org.ID, Name: "k", Prefix: "pgh_x", Hash: []byte(uuid.NewString()),
		Permissions: []string{"organization.read"}, CreatedBy: w.user.ID, CreatedAt: now}
	must(t, w.s.CreateAPIKey(ctx, w.key))
	w.saKey = &storage.APIKey{ID: uuid.NewString(), OrganizationID: w.org.ID, Name: "sk", Prefix: "pgh_y", Hash: []byte(uuid.NewString()),
		Permissions: []string{"organization.read"}, CreatedBy: w.user.ID, ServiceAccountID: &w.sa.ID, CreatedAt: now}
	must(t, w.s.CreateAPIKey(ctx, w.saKey))
	return w
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// cachedWrites are the Store's writes to cached rows, each with a read that
// must see the write at once (the cache is warmed first) and that proves, by
// also showing the old value through a write behind the cache's back, that
// the read is served from memory.
var cachedWrites = []struct {
	name  string
	warm  func(ctx context.Context, w *world) error
	write func(ctx context.Context, w *world) error
	seen  func(ctx context.Context, w *world) (bool, error)
}{
	{"UpdateUserProfile", readUser, func(ctx context.Context, w *world) error { return w.s.UpdateUserProfile(ctx, w.user.ID, "New") },
		func(ctx context.Context, w *world) (bool, error) {
			u, err := w.s.UserByID(ctx, w.user.ID)
			return err == nil && u.FullName == "New", err
		}},
	{"UpdateUserPassword", readUser, func(ctx context.Context, w *world) error { return w.s.UpdateUserPassword(ctx, w.user.ID, "new-hash") },
		func(ctx context.Context, w *world) (bool, error) {
			u, err := w.s.UserByID(ctx, w.user.ID)
			return err == nil && u.PasswordHash == "new-hash", err
		}},
	{"SetEmailVerified", readUser, func(ctx context.Context, w *world) error {
		return w.s.SetEmailVerified(ctx, w.user.ID, w.user.Email, time.Now())
	},
		func(ctx context.Context, w *world) (bool, error) {
			u, err := w.s.UserByID(ctx, w.user.ID)
			return err == nil && u.EmailVerifiedAt != nil, err
		}},
	{"ChangeUserEmail", readUser, func(ctx context.Context, w *world) error {
		return w.s.ChangeUserEmail(ctx, w.user.ID, "changed-"+w.user.Email, time.Now())
	},
		func(ctx context.Context, w *world) (bool, error) {
			u, err := w.s.UserByID(ctx, w.user.ID)
			return err == nil && u.Email == "changed-"+w.user.Email && u.EmailVerifiedAt != nil, err
		}},
	{"AcceptInvitation", func(ctx context.Context, w *world) error {
		_, err := w.s.Membership(ctx, w.org.ID, "invitee") // caches "not a member"
		if !errors.Is(err, storage.ErrNotFound) {
			return errors.New("the invitee is a member")
		}
		return nil
	}, func(ctx context.Context, w *world) error {
		u := &storage.User{ID: "invitee", Email: uuid.NewString() + "@example.com", FullName: "I", PasswordHash: "h"}
		if err := w.s.Register(ctx, u, &storage.Organization{ID: uuid.NewString(), Name: "I", Plan: storage.PlanFree, Personal: true}); err != nil {
			return err
		}
		now := time.Now()
		inv := &storage.Invitation{ID: uuid.NewString(), OrganizationID: w.org.ID, Email: u.Email, Role: "viewer",
			TokenHash: []byte(uuid.NewString()), InvitedByType: "user", InvitedByID: w.user.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := w.s.CreateInvitation(ctx, inv, now); err != nil {
			return err
		}
		return w.s.AcceptInvitation(ctx, inv.ID, &storage.Membership{OrganizationID: w.org.ID, UserID: u.ID, Role: "viewer"}, now)
	}, func(ctx context.Context, w *world) (bool, error) {
		m, err := w.s.Membership(ctx, w.org.ID, "invitee")
		return err == nil && m.Role == "viewer", err
	}},
	{"SetUserDisabled", readUser, func(ctx context.Context, w *world) error { return w.s.SetUserDisabled(ctx, w.user.ID, true) },
		func(ctx context.Context, w *world) (bool, error) {
			u, err := w.s.UserByID(ctx, w.user.ID)
			return err == nil && u.Disabled, err
		}},
	{"DeleteUser", readEverything, func(ctx context.Context, w *world) error { return w.s.DeleteUser(ctx, w.user.ID, []string{w.org.ID}) },
		func(ctx context.Context, w *world) (bool, error) { return everythingGone(ctx, w) }},
	{"SetPlan", readOrg, func(ctx context.Context, w *world) error { return w.s.SetPlan(ctx, w.org.ID, storage.PlanPro, 0) },
		func(ctx context.Context, w *world) (bool, error) {
			o, err := w.s.OrganizationByID(ctx, w.org.ID)
			return err == nil && o.Plan == storage.PlanPro, err
		}},
	{"UpdateMemberRole", readOwnMembership, func(ctx context.Context, w *world) error {
		other := &storage.User{ID: uuid.NewString(), Email: uuid.NewString() + "@example.com", FullName: "O", PasswordHash: "h"}
		if err := w.s.Register(ctx, other, &storage.Organization{ID: uuid.NewString(), Name: "O", Plan: storage.PlanFree, Personal: true}); err != nil {
			return err
		}
		if err := w.s.AddMember(ctx, &storage.Membership{OrganizationID: w.org.ID, UserID: other.ID, Role: "owner", CreatedAt: time.Now()}); err != nil {
			return err
		}
		return w.s.UpdateMemberRole(ctx, w.org.ID, w.user.ID, "admin")
	}, func(ctx context.Context, w *world) (bool, error) {
		m, err := w.s.Membership(ctx, w.org.ID, w.user.ID)
		return err == nil && m.Role == "admin", err
	}},
	{"AddMember and RemoveMember", func(ctx context.Context, w *world) error {
		_, err := w.s.Membership(ctx, w.org.ID, "newcomer") // caches "not a member"
		if !errors.Is(err, storage.ErrNotFound) {
			return errors.New("a newcomer is a member")
		}
		return nil
	}, func(ctx context.Context, w *world) error {
		u := &storage.User{ID: "newcomer", Email: uuid.NewString() + "@example.com", FullName: "N", PasswordHash: "h"}
		if err := w.s.Register(ctx, u, &storage.Organization{ID: uuid.NewString(), Name: "N", Plan: storage.PlanFree, Personal: true}); err != nil {
			return err
		}
		return w.s.AddMember(ctx, &storage.Membership{OrganizationID: w.org.ID, UserID: u.ID, Role: "viewer", CreatedAt: time.Now()})
	}, func(ctx context.Context, w *world) (bool, error) {
		if _, err := w.s.Membership(ctx, w.org.ID, "newcomer"); err != nil {
			return false, err
		}
		if err := w.s.RemoveMember(ctx, w.org.ID, "newcomer"); err != nil {
			return false, err
		}
		_, err := w.s.Membership(ctx, w.org.ID, "newcomer")
		return errors.Is(err, storage.ErrNotFound), nil
	}},
	{"UpdateApplication", readApp, func(ctx context.Context, w *world) error {
		a := *w.app
		a.Name = "renamed"
		return w.s.UpdateApplication(ctx, &a)
	}, func(ctx context.Context, w *world) (bool, error) {
		a, err := w.s.ApplicationByID(ctx, w.app.ID)
		return err == nil && a.Name == "renamed", err
	}},
	{"DeleteApplication", readApp, func(ctx context.Context, w *world) error { return w.s.DeleteApplication(ctx, w.org.ID, w.app.ID) },
		func(ctx context.Context, w *world) (bool, error) {
			_, err := w.s.ApplicationByID(ctx, w.app.ID)
			return errors.Is(err, storage.ErrNotFound), nil
		}},
	{"CreateApplication after a cached miss", func(ctx context.Context, w *world) error {
		_, err := w.s.ApplicationByID(ctx, "later")
		if !errors.Is(err, storage.ErrNotFound) {
			return errors.New("found an application that does not exist")
		}
		return nil
	}, func(ctx context.Context, w *world) error {
		a := *w.app
		a.ID = "later"
		return w.s.CreateApplication(ctx, &a)
	}, func(ctx context.Context, w *world) (bool, error) {
		_, err := w.s.ApplicationByID(ctx, "later")
		return err == nil, err
	}},
	{"DeleteServiceAccount", func(ctx context.Context, w *world) error {
		if _, err := w.s.ServiceAccountByID(ctx, w.org.ID, w.sa.ID); err != nil {
			return err
		}
		if _, err := w.s.ServiceAccountByClientID(ctx, w.sa.ClientID); err != nil {
			return err
		}
		_, err := w.s.APIKeyByHash(ctx, w.saKey.Hash)
		return err
	}, func(ctx context.Context, w *world) error {
		return w.s.DeleteServiceAccount(ctx, w.org.ID, w.sa.ID, time.Now())
	},
		func(ctx context.Context, w *world) (bool, error) {
			_, err1 := w.s.ServiceAccountByID(ctx, w.org.ID, w.sa.ID)
			_, err2 := w.s.ServiceAccountByClientID(ctx, w.sa.ClientID)
			k, err3 := w.s.APIKeyByHash(ctx, w.saKey.Hash)
			return errors.Is(err1, storage.ErrNotFound) && errors.Is(err2, storage.ErrNotFound) && err3 == nil && k.RevokedAt != nil, nil
		}},
	{"RevokeAPIKey", func(ctx context.Context, w *world) error { _, err := w.s.APIKeyByHash(ctx, w.key.Hash); return err },
		func(ctx context.Context, w *world) error {
			return w.s.RevokeAPIKey(ctx, w.org.ID, w.key.ID, time.Now())
		},
		func(ctx context.Context, w *world) (bool, error) {
			k, err := w.s.APIKeyByHash(ctx, w.key.Hash)
			return err == nil && k.RevokedAt != nil, err
		}},
	{"RotateAPIKey", func(ctx context.Context, w *world) error { _, err := w.s.APIKeyByHash(ctx, w.key.Hash); return err },
		func(ctx context.Context, w *world) error {
			next := *w.key
			next.ID, next.Hash, next.CreatedAt = uuid.NewString(), []byte(uuid.NewString()), time.Now()
			return w.s.RotateAPIKey(ctx, w.org.ID, w.key.ID, &next, time.Now().Add(time.Hour))
		},
		func(ctx context.Context, w *world) (bool, error) {
			k, err := w.s.APIKeyByHash(ctx, w.key.Hash)
			return err == nil && k.RotationEndsAt != nil && k.ReplacedBy != nil, err
		}},
	{"RotateServiceAccountSecret", func(ctx context.Context, w *world) error {
		if _, err := w.s.ServiceAccountByID(ctx, w.org.ID, w.sa.ID); err != nil {
			return err
		}
		_, err := w.s.ServiceAccountByClientID(ctx, w.sa.ClientID)
		return err
	}, func(ctx context.Context, w *world) error {
		return w.s.RotateServiceAccountSecret(ctx, w.org.ID, w.sa.ID, []byte("new"), time.Now(), time.Now().Add(time.Hour))
	}, func(ctx context.Context, w *world) (bool, error) {
		a, err1 := w.s.ServiceAccountByID(ctx, w.org.ID, w.sa.ID)
		b, err2 := w.s.ServiceAccountByClientID(ctx, w.sa.ClientID)
		if err := errors.Join(err1, err2); err != nil {
			return false, err
		}
		return string(a.SecretHash) == "new" && string(b.SecretHash) == "new" && string(b.PreviousSecretHash) == "h", nil
	}},
}

func readUser(ctx context.Context, w *world) error {
	_, err := w.s.UserByID(ctx, w.user.ID)
	return err
}
func readOrg(ctx context.Context, w *world) error {
	_, err := w.s.OrganizationByID(ctx, w.org.ID)
	return err
}
func readApp(ctx context.Context, w *world) error {
	_, err := w.s.ApplicationByID(ctx, w.app.ID)
	return err
}

// readEverything warms every cache a user's deletion touches.
func readEverything(ctx context.Context, w *world) error {
	for _, read := range []func(context.Context, *world) error{readUser, readOrg, readApp, readOwnMembership} {
		if err := read(ctx, w); err != nil {
			return err
		}
	}
	if _, err := w.s.ServiceAccountByClientID(ctx, w.sa.ClientID); err != nil {
		return err
	}
	if _, err := w.s.ServiceAccountByID(ctx, w.org.ID, w.sa.ID); err != nil {
		return err
	}
	_, err := w.s.APIKeyByHash(ctx, w.key.Hash)
	return err
}

// everythingGone: the deleted user and organization, and what the
// organization held, are no longer found.
func everythingGone(ctx context.Context, w *world) (bool, error) {
	reads := []error{readUser(ctx, w), readOrg(ctx, w), readApp(ctx, w), readOwnMembership(ctx, w)}
	_, err := w.s.ServiceAccountByClientID(ctx, w.sa.ClientID)
	reads = append(reads, err)
	_, err = w.s.ServiceAccountByID(ctx, w.org.ID, w.sa.ID)
	reads = append(reads, err)
	_, err = w.s.APIKeyByHash(ctx, w.key.Hash)
	reads = append(reads, err)
	for _, err := range reads {
		if !errors.Is(err, storage.ErrNotFound) {
			return false, err
		}
	}
	return true, nil
}

func readOwnMembership(ctx context.Context, w *world) error {
	_, err := w.s.Membership(ctx, w.org.ID, w.user.ID)
	return err
}

// Every write through the Store is seen by the next read at once, on SQLite
// and PostgreSQL.
func TestWritesInvalidate(t *testing.T) {
	sqltest.ForEach(t, func(t *testing.T, base *sqlstore.Store) {
		for _, wr := range cachedWrites {
			t.Run(wr.name, func(t *testing.T) {
				ctx := context.Background()
				w := newWorld(t, base)
				must(t, wr.warm(ctx, w))
				must(t, wr.write(ctx, w))
				ok, err := wr.seen(ctx, w)
				must(t, err)
				if !ok {
					t.Fatal("the write is not seen by the next read")
				}
			})
		}
	})
}

// A write behind the Store's back is not seen until the TTL passes: the
// reads really are served from memory.
func TestReadsAreCached(t *testing.T) {
	sqltest.ForEach(t, func(t *testing.T, base *sqlstore.Store) {
		ctx := context.Background()
		w := newWorld(t, base)
		now := time.Now()
		w.s = New(base, Config{Now: func() time.Time { return now }})
		must(t, readUser(ctx, w))
		must(t, readApp(ctx, w))
		must(t, base.UpdateUserProfile(ctx, w.user.ID, "Behind"))
		a := *w.app
		a.Name = "behind"
		must(t, base.UpdateApplication(ctx, &a))
		u, _ := w.s.UserByID(ctx, w.user.ID)
		app, _ := w.s.ApplicationByID(ctx, w.app.ID)
		if u.FullName != "Jane" || app.Name != "app" {
			t.Fatalf("reads went to the database: %q %q", u.FullName, app.Name)
		}
		now = now.Add(ClientTTL)
		u, _ = w.s.UserByID(ctx, w.user.ID)
		app, _ = w.s.ApplicationByID(ctx, w.app.ID)
		if u.FullName != "Behind" || app.Name != "behind" {
			t.Fatalf("after the TTL the change is not seen: %q %q", u.FullName, app.Name)
		}
		// A changed copy is the caller's own.
		u.FullName = "mutated"
		if again, _ := w.s.UserByID(ctx, w.user.ID); again.FullName != "Behind" {
			t.Fatal("changing a returned user changed the cached one")
		}
	})
}

// cachedTableWrite is a statement that changes rows of a cached table.
var cachedTableWrite = regexp.MustCompile(`(?is)\b(update\s+|delete\s+from\s+|insert\s+into\s+)(users|organizations|memberships|applications|service_accounts|api_keys)\b`)

// notCached are writers of cached tables that need no invalidation, and why.
var notCached = map[string]string{
	"CreateAPIKey": "unknown API keys are not cached, so a new key has nothing to invalidate",
	"TouchAPIKeys": "last use is not read through the cache",
	"Migrate":      "migrations run before any cache exists",
}

// TestEveryCachedWriteInvalidates reads sqlstore's source: every exported
// method of sqlstore.Store that runs (directly or through its helpers) an
// INSERT, UPDATE or DELETE of a cached table must be overridden by Store and
// exercised in cachedWrites, or be listed in notCached with the reason. A new
// write path that forgets the cache fails here instead of serving stale rows.
func TestEveryCachedWriteInvalidates(t *testing.T) {
	writers, err := tableWriters("../sqlstore")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"UpdateUserProfile", "AddMember", "DeleteServiceAccount"} {
		if !slices.Contains(writers, want) {
			t.Fatalf("the scan did not find %s among sqlstore's writes %v: fix the scan", want, writers)
		}
	}
	overridden, err := methodsOfStore(".")
	if err != nil {
		t.Fatal(err)
	}
	exercised := map[string]bool{"Register": true, "CreateOrganization": true, "CreateServiceAccount": true,
		"AddMember": true, "RemoveMember": true, "CreateApplication": true}
	for _, w := range cachedWrites {
		exercised[w.name] = true
	}
	for _, name := range writers {
		switch {
		case !ast.IsExported(name), notCached[name] != "":
		case !overridden[name]:
			t.Errorf("sqlstore.Store.%s writes a cached table but cached.Store does not override it to invalidate", name)
		case !exercised[name]:
			t.Errorf("cached.Store.%s is not exercised by cachedWrites, so no test proves it invalidates", name)
		}
	}
}

// tableWriters returns the functions of dir whose body writes a cached
// table, or calls (by name) one that does.
func tableWriters(dir string) ([]string, error) {
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, dir, func(fi fs.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, 0)
	if err != nil {
		return nil, err
	}
	calls := map[string]map[string]bool{}
	writes := map[string]bool{}
	for _, pkg := range pkgs {
		for _, f := range pkg.Files {
			for _, decl := range f.Decls {
				fn, ok := decl.(*ast.FuncDecl)
				if !ok || fn.Body == nil {
					continue
				}
				name := fn.Name.Name
				if calls[name] == nil {
					calls[name] = map[string]bool{}
				}
				ast.Inspect(fn.Body, func(n ast.Node) bool {
					switch n := n.(type) {
					case *ast.BasicLit:
						if n.Kind == token.STRING && cachedTableWrite.MatchString(n.Value) {
							writes[name] = true
						}
					case *ast.CallExpr:
						switch f := n.Fun.(type) {
						case *ast.Ident:
							calls[name][f.Name] = true
						case *ast.SelectorExpr:
							calls[name][f.Sel.Name] = true
						}
					}
					return true
				})
			}
		}
	}
	for changed := true; changed; {
		changed = false
		for fn, callees := range calls {
			if writes[fn] {
				continue
			}
			for callee := range callees {
				if writes[callee] {
					writes[fn], changed = true, true
					break
				}
			}
		}
	}
	var names []string
	for name := range writes {
		names = append(names, name)
	}
	slices.Sort(names)
	return names, nil
}

// methodsOfStore lists the methods declared on *Store in dir's non-test files.
func methodsOfStore(dir string) (map[string]bool, error) {
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, dir, func(fi fs.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, 0)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, pkg := range pkgs {
		for _, f := range pkg.Files {
			for _, decl := range f.Decls {
				fn, ok := decl.(*ast.FuncDecl)
				if !ok || fn.Recv == nil || len(fn.Recv.List) != 1 {
					continue
				}
				if star, ok := fn.Recv.List[0].Type.(*ast.StarExpr); ok {
					if id, ok := star.X.(*ast.Ident); ok && id.Name == "Store" {
						out[fn.Name.Name] = true
					}
				}
			}
		}
	}
	return out, nil
}
