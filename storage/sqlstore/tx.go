package sqlstore

import (
	"context"

	"github.com/jmoiron/sqlx"
)

// txKey is the context key of a transaction opened for a caller's flow.
type txKey struct{}

// WithTx returns ctx carrying tx. fosite's storage (storage/oauthstore) opens
// its transactions this way, so that writes made for the same flow by other
// packages can join them: on SQLite, which has one writer, a write on another
// connection would wait for the transaction, which waits for that write.
// Only the methods that say so join it (PutDenial); the others use the pool.
func WithTx(ctx context.Context, tx *sqlx.Tx) context.Context {
	return context.WithValue(ctx, txKey{}, tx)
}

// TxFrom returns the transaction ctx carries, or nil.
func TxFrom(ctx context.Context) *sqlx.Tx {
	tx, _ := ctx.Value(txKey{}).(*sqlx.Tx)
	return tx
}

// execer returns the transaction ctx carries, or the pool.
func (s *Store) execer(ctx context.Context) sqlx.ExecerContext {
	if tx := TxFrom(ctx); tx != nil {
		return tx
	}
	return s.db
}
