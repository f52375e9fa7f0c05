package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/arsaka/puguh/storage"
)

var _ storage.SigningKeyStore = (*Store)(nil)

const signingKeyColumns = `kid, algorithm, state, private_key_sealed, public_key_der,
	created_at, activated_at, retired_at, remove_after`

// SigningKeys lists every stored key, oldest first (kid breaks ties so the
// order, and hence the JWKS body and its ETag, is the same on every replica).
func (s *Store) SigningKeys(ctx context.Context) ([]storage.SigningKey, error) {
	var ks []storage.SigningKey
	err := s.db.SelectContext(ctx, &ks, `SELECT `+signingKeyColumns+` FROM signing_keys ORDER BY created_at, kid`)
	if err != nil {
		return nil, mapError(fmt.Errorf("list signing keys: %w", err))
	}
	for i := range ks {
		normaliseSigningKey(&ks[i])
	}
	return ks, nil
}

// InsertSigningKey stores a new key. The partial unique indexes turn a second
// "active" or "next" key into ErrConflict, which is how concurrent replicas
// creating the first key (or the next one) learn that another got there first.
func (s *Store) InsertSigningKey(ctx context.Context, k *storage.SigningKey) error {
	_, err := s.db.ExecContext(ctx, s.rebind(`INSERT INTO signing_keys (`+signingKeyColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		k.KID, k.Algorithm, k.State, k.PrivateKeySealed, k.PublicKeyDER,
		utc(k.CreatedAt), utcPtr(k.ActivatedAt), utcPtr(k.RetiredAt), utcPtr(k.RemoveAfter))
	if err != nil {
		return mapError(fmt.Errorf("insert signing key %s: %w", k.KID, err))
	}
	return nil
}

// PromoteSigningKey is a compare-and-swap in one transaction: each UPDATE
// names the state it expects, so of two replicas racing, the second one's
// UPDATE matches no row (PostgreSQL re-checks the WHERE clause after the first
// commits; SQLite serialises writers with BEGIN IMMEDIATE) and it gets
// ErrPrecondition. The active key is retired before the next one is
// activated so the one-active index never sees two.
func (s *Store) PromoteSigningKey(ctx context.Context, nextKID, activeKID string, at, retiredRemoveAfter time.Time) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		if activeKID == "" {
			var n int
			if err := tx.GetContext(ctx, &n, tx.Rebind(`SELECT COUNT(*) FROM signing_keys WHERE state = 'active'
				AND algorithm = (SELECT algorithm FROM signing_keys WHERE kid = ?)`), nextKID); err != nil {
				return mapError(fmt.Errorf("count active signing keys: %w", err))
			}
			if n != 0 {
				return fmt.Errorf("promote signing key %s: an active key appeared: %w", nextKID, storage.ErrPrecondition)
			}
		} else {
			res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE signing_keys
				SET state = 'retired', retired_at = ?, remove_after = ?
				WHERE kid = ? AND state = 'active'`),
				utc(at), utc(retiredRemoveAfter), activeKID)
			if err := signingKeyUpdated(res, err, "retire signing key "+activeKID); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE signing_keys
			SET state = 'active', activated_at = ?
			WHERE kid = ? AND state = 'next'`),
			utc(at), nextKID)
		return signingKeyUpdated(res, err, "activate signing key "+nextKID)
	})
}

// DeleteSigningKeysRemovableBefore deletes retired keys whose RemoveAfter is before t.
func (s *Store) DeleteSigningKeysRemovableBefore(ctx context.Context, t time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, s.rebind(`DELETE FROM signing_keys
		WHERE state = 'retired' AND remove_after < ?`), utc(t))
	if err != nil {
		return 0, mapError(fmt.Errorf("delete removable signing keys: %w", err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, mapError(fmt.Errorf("delete removable signing keys: %w", err))
	}
	return n, nil
}

// signingKeyUpdated turns "the row was not in the expected state" into ErrPrecondition.
func signingKeyUpdated(res interface{ RowsAffected() (int64, error) }, err error, what string) error {
	if err != nil {
		return mapError(fmt.Errorf("%s: %w", what, err))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return mapError(fmt.Errorf("%s: %w", what, err))
	}
	if n != 1 {
		return fmt.Errorf("%s: not in the expected state: %w", what, storage.ErrPrecondition)
	}
	return nil
}

// normaliseSigningKey makes both dialects return UTC instants.
func normaliseSigningKey(k *storage.SigningKey) {
	k.CreatedAt = k.CreatedAt.UTC()
	k.ActivatedAt = utcPtr(k.ActivatedAt)
	k.RetiredAt = utcPtr(k.RetiredAt)
	k.RemoveAfter = utcPtr(k.RemoveAfter)
}
