package usercache

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/arsaka/puguh/storage"
	"github.com/arsaka/puguh/storage/sqlstore"
	"github.com/arsaka/puguh/storage/sqlstore/sqltest"
)

func register(t testing.TB, s storage.UserStore) *storage.User {
	t.Helper()
	now := time.Now()
	u := &storage.User{ID: uuid.NewString(), Email: uuid.NewString() + "@example.com", FullName: "Old Name",
		PasswordHash: "old-hash", CreatedAt: now, UpdatedAt: now}
	org := &storage.Organization{ID: uuid.NewString(), Name: "Personal", Plan: storage.PlanFree, Personal: true,
		CreatedAt: now, UpdatedAt: now}
	if err := s.Register(context.Background(), u, org); err != nil {
		t.Fatalf("Register: %v", err)
	}
	return u
}

func userByID(t *testing.T, s *Store, id string) *storage.User {
	t.Helper()
	u, err := s.UserByID(context.Background(), id)
	if err != nil {
		t.Fatalf("UserByID: %v", err)
	}
	return u
}

// userWrites are the Store's methods that write a users row, with what the
// row looks like afterwards. TestEveryUserWriteEvicts keeps the list honest.
var userWrites = []struct {
	name  string
	write func(ctx context.Context, s storage.UserStore, id string) error
	done  func(u *storage.User) bool
}{
	{"UpdateUserProfile", func(ctx context.Context, s storage.UserStore, id string) error {
		return s.UpdateUserProfile(ctx, id, "New Name")
	}, func(u *storage.User) bool { return u.FullName == "New Name" }},
	{"UpdateUserPassword", func(ctx context.Context, s storage.UserStore, id string) error {
		return s.UpdateUserPassword(ctx, id, "new-hash")
	}, func(u *storage.User) bool { return u.PasswordHash == "new-hash" }},
	{"SetUserDisabled", func(ctx context.Context, s storage.UserStore, id string) error {
		return s.SetUserDisabled(ctx, id, true)
	}, func(u *storage.User) bool { return u.Disabled }},
}

// Every write through the Store is visible to the next read at once, while a
// write that bypasses it is not (which proves the read is served from memory).
func TestStoreWritesEvict(t *testing.T) {
	sqltest.ForEach(t, func(t *testing.T, base *sqlstore.Store) {
		for _, w := range userWrites {
			t.Run(w.name, func(t *testing.T) {
				ctx := context.Background()
				s := New(base, Config{TTL: time.Hour})
				u := register(t, s)
				userByID(t, s, u.ID) // cached from here on

				if err := w.write(ctx, base, u.ID); err != nil { // behind the cache's back
					t.Fatal(err)
				}
				if got := userByID(t, s, u.ID); w.done(got) {
					t.Fatal("a write that bypassed the cache is visible: UserByID did not answer from the cache")
				}
				if err := w.write(ctx, s, u.ID); err != nil {
					t.Fatal(err)
				}
				if got := userByID(t, s, u.ID); !w.done(got) {
					t.Fatalf("after %s through the cache, UserByID = %+v", w.name, got)
				}
			})
		}
		t.Run("not found is not cached", func(t *testing.T) {
			s := New(base, Config{TTL: time.Hour})
			u := &storage.User{ID: uuid.NewString()}
			if _, err := s.UserByID(context.Background(), u.ID); !errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("missing user: %v, want ErrNotFound", err)
			}
			if s.Cache().Len() != 0 {
				t.Fatal("a missing user was cached")
			}
		})
	})
}

// userWriteSQL is a statement that changes or removes users rows.
var userWriteSQL = regexp.MustCompile(`(?is)\b(update\s+users|delete\s+from\s+users)\b`)

// TestEveryUserWriteEvicts reads the storage packages' source: every exported
// method of sqlstore.Store that runs (directly or through its helpers, in a
// transaction or not) an UPDATE or DELETE of users must be overridden by
// Store, and no other storage package may write users at all. A new write
// path that forgets the cache fails here instead of serving stale profiles.
func TestEveryUserWriteEvicts(t *testing.T) {
	writers := map[string][]string{} // package dir -> functions that write users, transitively
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() || filepath.Base(path) == "usercache" {
			return nil
		}
		names, err := userWriters(path)
		if err != nil {
			return err
		}
		if len(names) > 0 {
			writers[filepath.Base(path)] = names
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("functions that write users: %v", writers)
	for _, want := range []string{"UpdateUserProfile", "UpdateUserPassword"} {
		if !slices.Contains(writers["sqlstore"], want) {
			t.Fatalf("the scan did not find %s among sqlstore's user writes %v: fix the scan", want, writers["sqlstore"])
		}
	}
	overridden, err := methodsOfStore(".")
	if err != nil {
		t.Fatal(err)
	}
	covered := map[string]bool{}
	for _, w := range userWrites {
		covered[w.name] = true
	}
	for dir, names := range writers {
		for _, name := range names {
			switch {
			case dir != "sqlstore":
				t.Errorf("storage/%s: %s writes the users table; usercache cannot evict what it does not see", dir, name)
			case !ast.IsExported(name):
				// a helper: its exported callers are checked
			case !overridden[name]:
				t.Errorf("sqlstore.Store.%s writes the users table but usercache.Store does not override it to evict the user", name)
			case !covered[name]:
				t.Errorf("usercache.Store.%s is not in userWrites, so no test proves it evicts", name)
			}
		}
	}
}

// userWriters parses the non-test Go files of dir and returns the functions
// whose body holds a users UPDATE/DELETE, or calls (by name) one that does.
func userWriters(dir string) ([]string, error) {
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
						if n.Kind == token.STRING && userWriteSQL.MatchString(n.Value) {
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
	methods := map[string]bool{}
	for _, pkg := range pkgs {
		for _, f := range pkg.Files {
			for _, decl := range f.Decls {
				fn, ok := decl.(*ast.FuncDecl)
				if !ok || fn.Recv == nil || len(fn.Recv.List) != 1 {
					continue
				}
				if star, ok := fn.Recv.List[0].Type.(*ast.StarExpr); ok {
					if id, ok := star.X.(*ast.Ident); ok && id.Name == "Store" {
						methods[fn.Name.Name] = true
					}
				}
			}
		}
	}
	return methods, nil
}

// redisForTest returns a client on PUGUH_TEST_REDIS_URL and a namespace of
// this test's own, or skips.
func redisForTest(t testing.TB) (*redis.Client, string) {
	t.Helper()
	u := os.Getenv("PUGUH_TEST_REDIS_URL")
	if u == "" {
		t.Skip("Redis case skipped: set PUGUH_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/15) to run it")
	}
	opts, err := redis.ParseURL(u)
	if err != nil {
		t.Fatal(err)
	}
	client := redis.NewClient(opts)
	t.Cleanup(func() { client.Close() })
	var b [6]byte
	_, _ = rand.Read(b[:])
	return client, "test-" + hex.EncodeToString(b[:]) + ":"
}

// Two replicas (two caches with Redis clients of their own over one
// database): a write on one is seen by the other as soon as the eviction
// message arrives, long before the (hour-long) TTL.
func TestRedisCrossReplica(t *testing.T) {
	r1, ns := redisForTest(t)
	r2, _ := redisForTest(t)
	base := sqltest.Open(t, sqltest.Backends()[0])
	one := New(base, Config{TTL: time.Hour, Redis: r1, Namespace: ns})
	two := New(base, Config{TTL: time.Hour, Redis: r2, Namespace: ns})
	u := register(t, one)
	userByID(t, two, u.ID) // cached on two before it subscribes

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() { one.Run(ctx); done <- struct{}{} }()
	go func() { two.Run(ctx); done <- struct{}{} }()
	t.Cleanup(func() { cancel(); <-done; <-done })

	waitUntil(t, "both replicas subscribed", func() bool {
		n, err := r1.PubSubNumSub(ctx, one.cache.topic).Result()
		return err == nil && n[one.cache.topic] == 2
	})
	// Messages sent before the subscription are lost, so subscribing empties the cache.
	waitUntil(t, "replica two emptied its cache on subscribing", func() bool { return two.Cache().Len() == 0 })

	for _, w := range userWrites {
		t.Run(w.name, func(t *testing.T) {
			if got := userByID(t, two, u.ID); w.done(got) {
				t.Fatalf("%s already applied: %+v", w.name, got)
			}
			if two.Cache().Len() != 1 {
				t.Fatal("replica two did not cache the user")
			}
			if err := w.write(ctx, one, u.ID); err != nil {
				t.Fatal(err)
			}
			waitUntil(t, "replica two sees "+w.name, func() bool { return w.done(userByID(t, two, u.ID)) })
		})
	}
}

func waitUntil(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after 2s waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// BenchmarkUserByID compares the SQLite read with a warm cache.
func BenchmarkUserByID(b *testing.B) {
	base := sqltest.Open(b, sqltest.Backends()[0])
	s := New(base, Config{})
	u := register(b, s)
	ctx := context.Background()
	for _, bb := range []struct {
		name string
		load LoadFunc
	}{{"sqlite", base.UserByID}, {"cached", s.UserByID}} {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := bb.load(ctx, u.ID); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
