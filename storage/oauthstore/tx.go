package oauthstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"

	"github.com/arsaka/puguh/storage/sqlstore"
)

// BeginTX implements fosite's storage.Transactional: fosite wraps the writes of
// a token exchange or a refresh in BeginTX/Commit so that, for example, a code
// is never invalidated without its tokens being stored. Every store method
// called with the returned context runs inside the transaction, and so does
// sqlstore's PutDenial (a family's denial commits with its revocation): the
// transaction is carried under sqlstore's key (sqlstore.WithTx).
//
// Transactions do not nest: on SQLite a second write transaction would wait for
// the first, which waits for its caller, forever.
func (s *Store) BeginTX(ctx context.Context) (context.Context, error) {
	if txFrom(ctx) != nil {
		return ctx, errors.New("oauthstore: begin: a transaction is already open in this context")
	}
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return ctx, fail("begin", err)
	}
	return sqlstore.WithTx(ctx, tx), nil
}

// Commit implements fosite's storage.Transactional.
func (s *Store) Commit(ctx context.Context) error {
	tx := txFrom(ctx)
	if tx == nil {
		return errors.New("oauthstore: commit: no transaction in context")
	}
	if err := tx.Commit(); err != nil {
		return fail("commit", err)
	}
	return nil
}

// Rollback implements fosite's storage.Transactional. Rolling back a transaction
// that already ended (fosite rolls back after a failed commit) is not an error.
func (s *Store) Rollback(ctx context.Context) error {
	tx := txFrom(ctx)
	if tx == nil {
		return errors.New("oauthstore: rollback: no transaction in context")
	}
	if err := tx.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
		return fail("rollback", err)
	}
	return nil
}

func txFrom(ctx context.Context) *sqlx.Tx { return sqlstore.TxFrom(ctx) }

// q returns the transaction fosite opened in ctx, or the pool. Inside a
// transaction every query must go through it: on SQLite another connection
// would wait on the transaction's own write lock.
func (s *Store) q(ctx context.Context) sqlx.ExtContext {
	if tx := txFrom(ctx); tx != nil {
		return tx
	}
	return s.db
}

// inTx runs fn in fosite's transaction if ctx carries one, or else in a
// transaction of its own, so multi-statement changes are atomic either way.
func (s *Store) inTx(ctx context.Context, fn func(q sqlx.ExtContext) error) error {
	if tx := txFrom(ctx); tx != nil {
		return fn(tx)
	}
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}
