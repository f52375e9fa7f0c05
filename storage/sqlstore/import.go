package sqlstore

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/jmoiron/sqlx"
)

// maxExportLine bounds one line of an export: far above any row Puguh
// writes, low enough that garbage without newlines cannot exhaust memory.
const maxExportLine = 16 << 20

// ErrNotEmpty is Import refusing a database that already holds rows.
var ErrNotEmpty = errors.New("the database is not empty")

// ExportReader reads an export line by line. NewExportReader has read and
// checked its header; Import reads the rest.
type ExportReader struct {
	Header ExportHeader
	r      *bufio.Reader
	line   int
}

// NewExportReader reads the header of an export and refuses what this build
// cannot import: not an export, a newer format, another schema version.
// It reads nothing else, so nothing has been touched when it fails.
func NewExportReader(r io.Reader) (*ExportReader, error) {
	er := &ExportReader{r: bufio.NewReaderSize(r, 64<<10)}
	line, err := er.next()
	if errors.Is(err, io.EOF) {
		return nil, errors.New("the input is empty, not an export")
	}
	if err != nil {
		return nil, err
	}
	var h ExportHeader
	if json.Unmarshal(line, &h) != nil || h.Format != ExportFormat || h.Version < 1 {
		return nil, fmt.Errorf("line 1: not a Puguh export (no %q header)", ExportFormat)
	}
	if h.Version > ExportVersion {
		return nil, fmt.Errorf("line 1: the export's format version %d is newer than this Puguh reads (%d): import it with the Puguh version that made it", h.Version, ExportVersion)
	}
	if h.Schema != SchemaVersion() {
		return nil, fmt.Errorf("line 1: the export is of schema version %d, this Puguh's is %d: import it with the Puguh version that made it (then upgrade), or export again with this one", h.Schema, SchemaVersion())
	}
	er.Header = h
	return er, nil
}

// next returns the next line without its newline, or io.EOF.
func (er *ExportReader) next() ([]byte, error) {
	var buf []byte
	for {
		chunk, err := er.r.ReadSlice('\n')
		buf = append(buf, chunk...)
		if len(buf) > maxExportLine {
			return nil, fmt.Errorf("line %d: longer than %d MiB: not an export line", er.line+1, maxExportLine>>20)
		}
		switch {
		case err == nil:
			er.line++
			return buf[:len(buf)-1], nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(buf) > 0:
			er.line++ // a last line without its newline
			return buf, nil
		default:
			if !errors.Is(err, io.EOF) {
				err = fmt.Errorf("read line %d: %w", er.line+1, err)
			}
			return nil, err
		}
	}
}

// exportLine is any line after the header.
type exportLine struct {
	Table string                     `json:"table"`
	Row   map[string]json.RawMessage `json:"row"`
	End   *ExportCounts              `json:"end"`
}

// ImportOptions shape an import.
type ImportOptions struct {
	// Replace deletes every row of the exported tables before importing
	// (`puguh import --force`); without it a database holding any row is
	// refused with ErrNotEmpty.
	Replace bool
	// CheckSigningKey, when set, is asked about every signing key before it
	// is written, so that keys sealed under another master secret are
	// refused rather than imported unusable.
	CheckSigningKey func(kid string, sealed []byte) error
}

// Import writes the rows of an export into the database, in one
// transaction: any error (a malformed or truncated export, a row the schema
// refuses, a key that does not open) rolls all of it back, so the database
// is as it was. The database must be migrated to the export's schema version
// and be empty, unless opts.Replace. Importing the same export again with
// Replace gives the same database.
func (s *Store) Import(ctx context.Context, er *ExportReader, opts ImportOptions) (ExportCounts, error) {
	counts := ExportCounts{Tables: map[string]int64{}}
	applied, err := s.AppliedVersion(ctx)
	if err != nil {
		return counts, err
	}
	if applied != er.Header.Schema {
		return counts, fmt.Errorf("the database is at schema version %d, the export at %d: import into a database migrated by this Puguh version", applied, er.Header.Schema)
	}
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		if err := s.prepareTarget(ctx, tx, opts.Replace); err != nil {
			return err
		}
		imp := &importer{s: s, tx: tx, opts: opts, counts: &counts}
		defer imp.closeStmt()
		return imp.run(ctx, er)
	})
	if err != nil {
		return ExportCounts{}, err
	}
	return counts, nil
}

// prepareTarget refuses a database with rows, or deletes them all when
// replace is set (children first).
func (s *Store) prepareTarget(ctx context.Context, tx *sqlx.Tx, replace bool) error {
	if replace {
		for i := len(exportTables) - 1; i >= 0; i-- {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+exportTables[i].name); err != nil {
				return mapError(fmt.Errorf("empty %s: %w", exportTables[i].name, err))
			}
		}
		return nil
	}
	var full []string
	for _, t := range exportTables {
		var n int
		if err := tx.GetContext(ctx, &n, `SELECT COUNT(*) FROM (SELECT 1 FROM `+t.name+` LIMIT 1) r`); err != nil {
			return mapError(fmt.Errorf("look into %s: %w", t.name, err))
		}
		if n > 0 {
			full = append(full, t.name)
		}
	}
	if len(full) > 0 {
		return fmt.Errorf("%w: %s hold rows", ErrNotEmpty, strings.Join(full, ", "))
	}
	return nil
}

// importer inserts an export's rows inside one transaction.
type importer struct {
	s      *Store
	tx     *sqlx.Tx
	opts   ImportOptions
	counts *ExportCounts

	table   int // index in exportTables of the current table; rows come in that order
	columns map[string]kind
	stmtKey string
	stmt    *sqlx.Stmt
}

func (imp *importer) run(ctx context.Context, er *ExportReader) error {
	imp.table = -1
	for {
		raw, err := er.next()
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("the export ends after line %d without its end line: it is truncated", er.line)
		}
		if err != nil {
			return err
		}
		var l exportLine
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&l); err != nil || dec.More() {
			return fmt.Errorf("line %d: not an export line (a JSON object with table and row, or end)", er.line)
		}
		if l.End != nil {
			if l.Table != "" || l.Row != nil {
				return fmt.Errorf("line %d: not an export line (a JSON object with table and row, or end)", er.line)
			}
			if err := imp.checkEnd(*l.End); err != nil {
				return fmt.Errorf("line %d: %w", er.line, err)
			}
			if _, err := er.next(); !errors.Is(err, io.EOF) {
				if err != nil {
					return err
				}
				return fmt.Errorf("line %d: nothing may follow the end line", er.line)
			}
			return nil
		}
		if err := imp.insert(ctx, l.Table, l.Row); err != nil {
			return fmt.Errorf("line %d: %w", er.line, err)
		}
	}
}

// checkEnd compares the end line's counts with the rows read.
func (imp *importer) checkEnd(end ExportCounts) error {
	if end.Rows != imp.counts.Rows {
		return fmt.Errorf("the end line counts %d rows, the export holds %d: it is damaged", end.Rows, imp.counts.Rows)
	}
	for _, t := range exportTables {
		if end.Tables[t.name] != imp.counts.Tables[t.name] {
			return fmt.Errorf("the end line counts %d rows of %s, the export holds %d: it is damaged", end.Tables[t.name], t.name, imp.counts.Tables[t.name])
		}
	}
	return nil
}

// insert writes one row of table.
func (imp *importer) insert(ctx context.Context, table string, row map[string]json.RawMessage) error {
	if row == nil {
		return fmt.Errorf("not an export line (a JSON object with table and row, or end)")
	}
	if err := imp.enter(ctx, table); err != nil {
		return err
	}
	t := exportTables[imp.table]
	names := make([]string, 0, len(row))
	for name := range row {
		if _, ok := imp.columns[name]; !ok {
			return fmt.Errorf("%s has no column %q", table, name)
		}
		names = append(names, name)
	}
	for name := range imp.columns {
		if _, ok := row[name]; !ok {
			return fmt.Errorf("the %s row lacks column %q", table, name)
		}
	}
	sort.Strings(names)
	args := make([]any, len(names))
	for i, name := range names {
		v, err := decodeValue(imp.columns[name], row[name])
		if err != nil {
			return fmt.Errorf("%s.%s: %w", table, name, err)
		}
		args[i] = v
	}
	if table == "signing_keys" && imp.opts.CheckSigningKey != nil {
		// names is sorted and holds every column of the table.
		kid, _ := args[sort.SearchStrings(names, "kid")].(string)
		sealed, _ := args[sort.SearchStrings(names, "private_key_sealed")].([]byte)
		if err := imp.opts.CheckSigningKey(kid, sealed); err != nil {
			return fmt.Errorf("signing key %s: %w", kid, err)
		}
	}
	stmt, err := imp.statement(ctx, t, names)
	if err != nil {
		return err
	}
	if _, err := stmt.ExecContext(ctx, args...); err != nil {
		return fmt.Errorf("insert into %s: %s", table, oneLine(err))
	}
	imp.counts.Rows++
	imp.counts.Tables[table]++
	return nil
}

// enter moves to table, which must be the current one or a later one in
// export order, and learns its columns from the database.
func (imp *importer) enter(ctx context.Context, table string) error {
	if imp.table >= 0 && exportTables[imp.table].name == table {
		return nil
	}
	next := -1
	for i, t := range exportTables {
		if t.name == table {
			next = i
		}
	}
	switch {
	case next < 0:
		return fmt.Errorf("unknown table %q", table)
	case next < imp.table:
		return fmt.Errorf("%s rows after %s rows: the export is out of order", table, exportTables[imp.table].name)
	}
	rows, err := imp.tx.QueryContext(ctx, `SELECT * FROM `+table+` WHERE 1 = 0`)
	if err != nil {
		return mapError(fmt.Errorf("read the columns of %s: %w", table, err))
	}
	defer rows.Close()
	types, err := rows.ColumnTypes()
	if err != nil {
		return mapError(err)
	}
	imp.table, imp.columns = next, map[string]kind{}
	for _, ct := range types {
		if exportTables[next].skips(ct.Name()) {
			continue
		}
		k, err := kindOf(ct.DatabaseTypeName())
		if err != nil {
			return fmt.Errorf("%s.%s: %w", table, ct.Name(), err)
		}
		imp.columns[ct.Name()] = k
	}
	return rows.Err()
}

// statement is the prepared INSERT for these columns of t, kept while rows
// of the same shape follow.
func (imp *importer) statement(ctx context.Context, t exportTable, names []string) (*sqlx.Stmt, error) {
	key := t.name + "(" + strings.Join(names, ",") + ")"
	if imp.stmt != nil && imp.stmtKey == key {
		return imp.stmt, nil
	}
	imp.closeStmt()
	query := imp.s.rebind(`INSERT INTO ` + t.name + ` (` + strings.Join(names, ", ") + `) VALUES (?` + strings.Repeat(", ?", len(names)-1) + `)`)
	stmt, err := imp.tx.PreparexContext(ctx, query)
	if err != nil {
		return nil, mapError(fmt.Errorf("prepare insert into %s: %w", t.name, err))
	}
	imp.stmt, imp.stmtKey = stmt, key
	return stmt, nil
}

func (imp *importer) closeStmt() {
	if imp.stmt != nil {
		imp.stmt.Close()
		imp.stmt = nil
	}
}

// oneLine keeps a driver's error on one line.
func oneLine(err error) string { return strings.Join(strings.Fields(err.Error()), " ") }
