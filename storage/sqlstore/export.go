package sqlstore

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/jmoiron/sqlx"
)

// Export writes every row of the database to w in the export format
// (dump.go), table by table, streaming: rows are read and written one at a
// time, never held together. It reads in one read-only transaction, so a
// live deployment can be exported while it serves: the rows are one
// consistent snapshot (SQLite's WAL lets the server write meanwhile;
// PostgreSQL's repeatable read keeps the snapshot). The database must be at
// this build's schema version.
func (s *Store) Export(ctx context.Context, w io.Writer, now time.Time) (ExportCounts, error) {
	counts := ExportCounts{Tables: map[string]int64{}}
	opts := &sql.TxOptions{ReadOnly: true}
	if s.dialect == Postgres {
		opts.Isolation = sql.LevelRepeatableRead
	}
	tx, err := s.db.BeginTxx(ctx, opts)
	if err != nil {
		return counts, mapError(fmt.Errorf("export: begin: %w", err))
	}
	defer tx.Rollback() //nolint:errcheck // read-only: nothing to keep

	applied, err := s.AppliedVersion(ctx)
	if err != nil {
		return counts, err
	}
	if applied != SchemaVersion() {
		return counts, fmt.Errorf("export: the database is at schema version %d, this Puguh's is %d: %s", applied, SchemaVersion(), schemaAdvice(applied))
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	header, err := json.Marshal(ExportHeader{Format: ExportFormat, Version: ExportVersion, Schema: applied, Dialect: s.dialect, ExportedAt: utc(now)})
	if err != nil {
		return counts, err
	}
	if err := writeLine(bw, header); err != nil {
		return counts, err
	}
	for _, t := range exportTables {
		n, err := s.exportTable(ctx, tx, t, bw)
		if err != nil {
			return counts, fmt.Errorf("export %s: %w", t.name, err)
		}
		counts.Tables[t.name] = n
		counts.Rows += n
	}
	end, err := json.Marshal(struct {
		End ExportCounts `json:"end"`
	}{counts})
	if err != nil {
		return counts, err
	}
	if err := writeLine(bw, end); err != nil {
		return counts, err
	}
	if err := bw.Flush(); err != nil {
		return counts, fmt.Errorf("export: write: %w", err)
	}
	return counts, nil
}

// schemaAdvice says what to do about a database at another schema version
// than this build's.
func schemaAdvice(applied int) string {
	if applied < SchemaVersion() {
		return "run `puguh migrate up` first, or export with the Puguh version that runs it"
	}
	return "export with the newer Puguh that migrated it"
}

// exportTable writes the rows of one table and returns how many.
func (s *Store) exportTable(ctx context.Context, tx *sqlx.Tx, t exportTable, w *bufio.Writer) (int64, error) {
	rows, err := tx.QueryContext(ctx, `SELECT * FROM `+t.name+` ORDER BY `+t.orderBy)
	if err != nil {
		return 0, mapError(err)
	}
	defer rows.Close()
	types, err := rows.ColumnTypes()
	if err != nil {
		return 0, mapError(err)
	}
	kinds := make([]kind, len(types))
	for i, ct := range types {
		if kinds[i], err = kindOf(ct.DatabaseTypeName()); err != nil {
			return 0, fmt.Errorf("column %s: %w", ct.Name(), err)
		}
	}
	values := make([]any, len(types))
	ptrs := make([]any, len(types))
	for i := range values {
		ptrs[i] = &values[i]
	}
	var line []byte
	var n int64
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return n, mapError(err)
		}
		line = append(line[:0], `{"table":`...)
		line = appendJSONString(line, t.name)
		line = append(line, `,"row":{`...)
		first := true
		for i, ct := range types {
			if t.skips(ct.Name()) {
				continue
			}
			v, err := encodeValue(kinds[i], values[i])
			if err != nil {
				return n, fmt.Errorf("column %s: %w", ct.Name(), err)
			}
			if !first {
				line = append(line, ',')
			}
			first = false
			line = appendJSONString(line, ct.Name())
			line = append(line, ':')
			line = append(line, v...)
		}
		line = append(line, "}}"...)
		if err := writeLine(w, line); err != nil {
			return n, err
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return n, mapError(err)
	}
	return n, nil
}

func appendJSONString(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // a string always marshals
	return append(b, q...)
}

func writeLine(w *bufio.Writer, line []byte) error {
	if _, err := w.Write(line); err != nil {
		return fmt.Errorf("export: write: %w", err)
	}
	if err := w.WriteByte('\n'); err != nil {
		return fmt.Errorf("export: write: %w", err)
	}
	return nil
}
