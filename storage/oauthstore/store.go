// Package oauthstore is fosite's storage on Puguh's SQL database: authorization
// codes, PKCE and OpenID Connect requests, refresh tokens and their families,
// client assertion JTIs, and the transactions that make fosite's flows atomic.
// It adds what fosite v0.49 leaves to the storage: a refresh grace period, an
// absolute lifetime for refresh families, and a janitor for expired rows.
//
// Access tokens are not stored: they are JWTs checked from their claims, and
// the store answers fosite's access-token methods as a store without them
// (access.go). Codes and refresh tokens are stored under the HMAC signatures
// fosite passes in, never as raw tokens, so a copy of the database cannot be
// replayed (docs/security.md, "Tokens and keys"). Driver errors are returned as
// fosite.ErrNotFound or storage.ErrUnavailable where they mean that (errors.go).
package oauthstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/oauth2"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/handler/pkce"
	fositestorage "github.com/ory/fosite/storage"

	"github.com/arsaka/puguh/storage"
	"github.com/arsaka/puguh/storage/sqlstore"
)

// Every fosite interface the composition needs (STYLE habit 8): a missing method
// fails the build here instead of panicking in compose at start-up.
var (
	_ fosite.Storage                     = (*Store)(nil)
	_ fosite.ClientManager               = (*Store)(nil)
	_ oauth2.CoreStorage                 = (*Store)(nil)
	_ oauth2.AuthorizeCodeStorage        = (*Store)(nil)
	_ oauth2.AccessTokenStorage          = (*Store)(nil)
	_ oauth2.RefreshTokenStorage         = (*Store)(nil)
	_ oauth2.TokenRevocationStorage      = (*Store)(nil)
	_ pkce.PKCERequestStorage            = (*Store)(nil)
	_ openid.OpenIDConnectRequestStorage = (*Store)(nil)
	_ fositestorage.Transactional        = (*Store)(nil)
)

const (
	// DefaultRefreshGracePeriod is how long a rotated refresh token may be
	// presented again without being treated as stolen. Two browser tabs
	// refreshing at once, or a client retrying after a lost response, repeat the
	// token within a round trip or two; every second beyond that is a second in
	// which a thief's replay would go unnoticed (RFC 9700 §4.14.2), so it is short.
	DefaultRefreshGracePeriod = 5 * time.Second

	// DefaultMaxRefreshFamilyLifetime caps a refresh family (one grant and every
	// token rotated from it) however often it is refreshed (ASVS 10.4.8). With
	// the 30-day sliding refresh lifetime a user active at least monthly stays
	// signed in, but signs in again at most every 90 days. A cap equal to the
	// sliding lifetime would make the sliding part meaningless.
	DefaultMaxRefreshFamilyLifetime = 90 * 24 * time.Hour

	// janitorBatch bounds each DELETE the janitor runs, so it never holds
	// locks on a large part of a table.
	janitorBatch = 500
)

// ClientLookup finds OAuth clients. The composition supplies it (applications
// and service accounts live elsewhere); it should return an error wrapping
// fosite.ErrNotFound for an unknown client.
type ClientLookup interface {
	GetClient(ctx context.Context, id string) (fosite.Client, error)
}

// Config is what the store needs from the composition.
type Config struct {
	// Clients resolves client IDs, both for fosite and for rebuilding stored requests.
	Clients ClientLookup
	// NewSession returns an empty session of the composition's concrete type;
	// stored sessions are JSON-decoded into it.
	NewSession func() fosite.Session
	// RefreshGracePeriod: zero means DefaultRefreshGracePeriod, negative turns the
	// grace period off (every repeat is reuse).
	RefreshGracePeriod time.Duration
	// MaxRefreshFamilyLifetime: zero means DefaultMaxRefreshFamilyLifetime.
	MaxRefreshFamilyLifetime time.Duration
	// Now is the clock for the grace period, the family cap and the janitor;
	// nil means time.Now. Token expiry itself is checked by fosite with time.Now.
	Now func() time.Time
	// Logger receives janitor failures; nil discards them.
	Logger *slog.Logger
}

// Store implements fosite's storage interfaces on the sqlstore database. It is
// safe for concurrent use.
type Store struct {
	db         *sqlx.DB
	dialect    sqlstore.Dialect
	clients    ClientLookup
	newSession func() fosite.Session
	grace      time.Duration
	maxFamily  time.Duration
	now        func() time.Time
	log        *slog.Logger
}

// New returns a store on db's connection pool. db must be migrated.
func New(db *sqlstore.Store, cfg Config) (*Store, error) {
	if db == nil {
		return nil, errors.New("oauthstore: database is nil")
	}
	if cfg.Clients == nil {
		return nil, errors.New("oauthstore: Config.Clients is nil")
	}
	if cfg.NewSession == nil {
		return nil, errors.New("oauthstore: Config.NewSession is nil")
	}
	s := &Store{
		db:         db.DB(),
		dialect:    db.Dialect(),
		clients:    cfg.Clients,
		newSession: cfg.NewSession,
		grace:      cfg.RefreshGracePeriod,
		maxFamily:  cfg.MaxRefreshFamilyLifetime,
		now:        cfg.Now,
		log:        cfg.Logger,
	}
	switch {
	case s.grace == 0:
		s.grace = DefaultRefreshGracePeriod
	case s.grace < 0:
		s.grace = 0
	}
	if s.maxFamily <= 0 {
		s.maxFamily = DefaultMaxRefreshFamilyLifetime
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

// GetClient implements fosite.ClientManager by asking the composition's lookup.
func (s *Store) GetClient(ctx context.Context, id string) (fosite.Client, error) {
	c, err := s.clients.GetClient(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("oauthstore: %w", clientError(id, dbError(err)))
	}
	return c, nil
}

// clientError makes an unknown client fosite.ErrNotFound whichever sentinel
// the lookup used, keeping the lookup's error in the chain.
func clientError(id string, err error) error {
	if errors.Is(err, storage.ErrNotFound) && !errors.Is(err, fosite.ErrNotFound) {
		return fmt.Errorf("client %q: %w: %w", id, fosite.ErrNotFound, err)
	}
	return fmt.Errorf("client %q: %w", id, err)
}

// clock returns the store's current time as written to the database: UTC, so
// SQLite's text timestamps compare correctly, and to the microsecond, which is
// PostgreSQL's precision.
func (s *Store) clock() time.Time { return dbTime(s.now()) }

func dbTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// forUpdate is the row-lock suffix of a SELECT. SQLite has no row locks: every
// write transaction is BEGIN IMMEDIATE (see sqlstore.Open) and so already holds
// the database's single write lock.
func (s *Store) forUpdate() string {
	if s.dialect == sqlstore.Postgres {
		return " FOR UPDATE"
	}
	return ""
}
