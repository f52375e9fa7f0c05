package sqlstore

import (
	"database/sql"
	"encoding/json"
	"time"

	"github.com/arsaka/puguh/storage"
)

// encodeList turns a list-valued field into the JSON array text its column holds.
// A nil slice is written as [] so that every row decodes the same way.
func encodeList(list []string) (string, error) {
	if list == nil {
		list = []string{}
	}
	b, err := json.Marshal(list)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// decodeList reads a JSON array column back. An empty array becomes an empty,
// non-nil slice, so callers can range and marshal it without nil checks.
func decodeList(text string) ([]string, error) {
	list := []string{}
	if err := json.Unmarshal([]byte(text), &list); err != nil {
		return nil, err
	}
	if list == nil { // the text was "null": never written by us, but do not hand back nil
		list = []string{}
	}
	return list, nil
}

// oneRow turns an UPDATE or DELETE that matched nothing into storage.ErrNotFound.
func oneRow(res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return mapError(err)
	}
	if n == 0 {
		return storage.ErrNotFound
	}
	return nil
}

// stamp sets the zero times among ts to now, so a caller that leaves CreatedAt or
// UpdatedAt unset gets the time of the write instead of year 1.
func stamp(now time.Time, ts ...*time.Time) {
	for _, t := range ts {
		if t.IsZero() {
			*t = now
		}
	}
}

// forUpdate is the row-locking suffix for SELECTs inside a transaction. SQLite has
// no row locks and needs none: its transactions start with BEGIN IMMEDIATE, so
// writers already run one at a time.
func (s *Store) forUpdate() string {
	if s.dialect == Postgres {
		return " FOR UPDATE"
	}
	return ""
}
