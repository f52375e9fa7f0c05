package sqlstore

import (
	"context"
	"sync"

	"github.com/jmoiron/sqlx"
)

// stmtCache keeps prepared statements of the store's fixed queries.
// modernc's SQLite parses and plans a query on every call unless it is
// prepared; for the lookups on the request path (a user, a membership, an
// API key) parsing cost as much as running the query. database/sql
// re-prepares a cached statement on each pooled connection as needed.
type stmtCache struct {
	mu    sync.RWMutex
	stmts map[string]*sqlx.Stmt
}

// maxCachedStmts bounds the cache; the store has far fewer fixed queries.
const maxCachedStmts = 256

// get runs a single-row query through a cached prepared statement.
func (s *Store) get(ctx context.Context, dest any, query string, args ...any) error {
	stmt, err := s.prepared(ctx, query)
	if err != nil {
		return err
	}
	if stmt == nil {
		return s.db.GetContext(ctx, dest, query, args...)
	}
	return stmt.GetContext(ctx, dest, args...)
}

// prepared returns the cached statement for query, preparing it once. It
// returns nil (run unprepared) when the cache is full.
func (s *Store) prepared(ctx context.Context, query string) (*sqlx.Stmt, error) {
	c := &s.stmts
	c.mu.RLock()
	stmt := c.stmts[query]
	c.mu.RUnlock()
	if stmt != nil {
		return stmt, nil
	}
	c.mu.RLock()
	full := len(c.stmts) >= maxCachedStmts
	c.mu.RUnlock()
	if full {
		return nil, nil
	}
	// Prepared outside the lock: a slow or unreachable database must not
	// block lookups whose statements are cached already.
	stmt, err := s.db.PreparexContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev := c.stmts[query]; prev != nil {
		_ = stmt.Close() // another request prepared it meanwhile
		return prev, nil
	}
	if c.stmts == nil {
		c.stmts = make(map[string]*sqlx.Stmt)
	}
	c.stmts[query] = stmt
	return stmt, nil
}

// closeStmts releases the prepared statements.
func (s *Store) closeStmts() {
	s.stmts.mu.Lock()
	defer s.stmts.mu.Unlock()
	for q, stmt := range s.stmts.stmts {
		_ = stmt.Close()
		delete(s.stmts.stmts, q)
	}
}
