package oauthstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/ory/fosite"

	"github.com/arsaka/puguh/storage"
	"github.com/arsaka/puguh/storage/sqlstore"
	"github.com/arsaka/puguh/storage/sqlstore/sqltest"
)

// dbError names what the driver said in the sentinels the layers above
// check, and keeps the driver's error in the chain.
func TestDBErrorNamesOutagesAndMissingRows(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	for _, tc := range []struct {
		name             string
		err              error
		notFound, outage bool
	}{
		{"no row", fmt.Errorf("select: %w", sql.ErrNoRows), true, false},
		{"connection refused", refused, false, true},
		{"connection reset", fmt.Errorf("read: %w", syscall.ECONNRESET), false, true},
		{"PostgreSQL shutting down", &pgconn.PgError{Code: "57P01"}, false, true},
		{"PostgreSQL connection failure", &pgconn.PgError{Code: "08006"}, false, true},
		{"unique violation", &pgconn.PgError{Code: "23505"}, false, false},
		{"fosite's inactive token", fmt.Errorf("rotate: %w", fosite.ErrInactiveToken), false, false},
		{"request cancelled", context.Canceled, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := dbError(tc.err)
			if errors.Is(got, fosite.ErrNotFound) != tc.notFound || errors.Is(got, storage.ErrUnavailable) != tc.outage {
				t.Errorf("dbError(%v) = %v: fosite.ErrNotFound %t, storage.ErrUnavailable %t; want %t and %t", tc.err, got,
					errors.Is(got, fosite.ErrNotFound), errors.Is(got, storage.ErrUnavailable), tc.notFound, tc.outage)
			}
			if !errors.Is(got, tc.err) {
				t.Errorf("dbError(%v) = %v lost the driver's error", tc.err, got)
			}
		})
	}
	if dbError(nil) != nil {
		t.Error("dbError(nil) is not nil")
	}
	marked := fmt.Errorf("%w: %w", storage.ErrUnavailable, refused)
	if got := dbError(marked); got != marked {
		t.Errorf("an error already marked was wrapped again: %v", got)
	}
}

// With the database out of reach, the store answers storage.ErrUnavailable,
// never a missing row or a refused token, both directly and through fosite,
// which reports it as server_error wrapping it (provider/oauth answers 503
// for that). On SQLite another connection holds the write lock, as a stuck
// writer would (reads go on); on PostgreSQL every connection is cut.
func TestDatabaseOutageIsUnavailable(t *testing.T) {
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			var e *env
			var down func()
			if b.Name == "sqlite" {
				e, down = sqliteLocked(t, b)
			} else {
				e, down = postgresCut(t, b)
			}
			ctx := context.Background()
			p := e.login(t)
			signature := e.strategy.RefreshTokenSignature(ctx, p.refresh)
			family, err := e.requestIDOf(p.refresh, fosite.RefreshToken)
			if err != nil {
				t.Fatal(err)
			}
			down()

			r := newRequest(t, e, "grant-2", time.Now().Add(time.Hour))
			calls := []struct {
				name string
				call func() error
			}{
				{"BeginTX", func() error {
					txCtx, err := e.store.BeginTX(ctx)
					if err == nil {
						_ = e.store.Rollback(txCtx)
					}
					return err
				}},
				{"CreateAuthorizeCodeSession", func() error { return e.store.CreateAuthorizeCodeSession(ctx, "code-2", r) }},
				{"CreateRefreshTokenSession", func() error { return e.store.CreateRefreshTokenSession(ctx, "rt-2", "", r) }},
				{"RotateRefreshToken", func() error { return e.store.RotateRefreshToken(ctx, family, signature) }},
				{"RevokeRefreshToken", func() error { return e.store.RevokeRefreshToken(ctx, family) }},
				{"RevokeClient", func() error { _, err := e.store.RevokeClient(ctx, testClientID); return err }},
				{"RevokeSubject", func() error { _, err := e.store.RevokeSubject(ctx, "user-1"); return err }},
				{"SetClientAssertionJWT", func() error { return e.store.SetClientAssertionJWT(ctx, "jti-2", time.Now().Add(time.Hour)) }},
				{"refresh through fosite", func() error {
					_, err := e.refresh(ctx, p.refresh)
					if err != nil && errorName(err) != "server_error" {
						return fmt.Errorf("fosite answered %s, want server_error: %w", errorName(err), err)
					}
					return err
				}},
			}
			if b.Name != "sqlite" {
				calls = append(calls, []struct {
					name string
					call func() error
				}{
					{"GetRefreshTokenSession", func() error { _, err := e.store.GetRefreshTokenSession(ctx, signature, nil); return err }},
					{"GetAuthorizeCodeSession", func() error { _, err := e.store.GetAuthorizeCodeSession(ctx, "code-1", nil); return err }},
					{"ClientAssertionJWTValid", func() error { return e.store.ClientAssertionJWTValid(ctx, "jti-1") }},
				}...)
			}
			for _, c := range calls {
				t.Run(c.name, func(t *testing.T) {
					if err := c.call(); !errors.Is(err, storage.ErrUnavailable) {
						t.Fatalf("with the database out of reach: %v, want storage.ErrUnavailable", err)
					}
				})
			}
		})
	}
}

// sqliteLocked is an env whose SQLite write lock another connection can take;
// the store then waits 200 ms for it, not sqlstore's 10 s, before SQLite
// answers SQLITE_BUSY.
func sqliteLocked(t *testing.T, b sqltest.Backend) (*env, func()) {
	t.Helper()
	dbURL := b.URL(t)
	e := newEnvOn(t, sqltest.OpenURL(t, dbURL), nil)
	// One connection, so the shorter timeout applies to every query.
	e.store.db.SetMaxOpenConns(1)
	if _, err := e.store.db.Exec("PRAGMA busy_timeout = 200"); err != nil {
		t.Fatal(err)
	}
	holder, err := sqlstore.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { holder.Close() })
	return e, func() {
		// BEGIN IMMEDIATE (sqlstore's _txlock): the write lock, at once.
		lock, err := holder.DB().Beginx()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = lock.Rollback() })
	}
}

// postgresCut is an env whose connections to PostgreSQL go through a proxy
// that can cut them all and refuse new ones, as a database that went away.
func postgresCut(t *testing.T, b sqltest.Backend) (*env, func()) {
	t.Helper()
	u, err := url.Parse(b.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	p := startProxy(t, u.Host)
	u.Host = p.addr()
	return newEnvOn(t, sqltest.OpenURL(t, u.String()), nil), p.cut
}

// proxy forwards TCP connections to target until cut.
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target}
	go p.serve()
	t.Cleanup(p.cut)
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) serve() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return // cut
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			client.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, client, server)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(server, client); server.Close() }()
		go func() { _, _ = io.Copy(client, server); client.Close() }()
	}
}

// cut closes the listener, so new connections are refused, and every
// forwarded connection.
func (p *proxy) cut() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}
