package sqlstore

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The export format (`puguh export`, `puguh import`): JSON lines, one object
// per line, the same on both dialects.
//
//	{"format":"puguh-export","version":1,"schema":9,"dialect":"sqlite","exported_at":"…"}
//	{"table":"users","row":{"id":"…","email":"…",…}}
//	…
//	{"end":{"rows":42,"tables":{"users":3,…}}}
//
// The header names the format's version and the schema migration the rows
// fit; the end line counts them, so a file cut short anywhere is refused.
// Values are typed by their column: text as strings, booleans as true/false,
// integers as numbers, timestamps as RFC 3339 strings in UTC (microseconds),
// binary values (hashes, sealed keys, sessions) as standard base64, NULL as
// null. Secrets stay as the database holds them: hashed, or sealed under
// PUGUH_SECRET.

// ExportFormat is the header's "format".
const ExportFormat = "puguh-export"

// ExportVersion is the format version this build writes, and the newest it reads.
const ExportVersion = 1

// ExportHeader is the first line of an export.
type ExportHeader struct {
	Format     string    `json:"format"`
	Version    int       `json:"version"`
	Schema     int       `json:"schema"`
	Dialect    Dialect   `json:"dialect"`
	ExportedAt time.Time `json:"exported_at"`
}

// ExportCounts is the end line: how many rows the export holds, in all and by table.
type ExportCounts struct {
	Rows   int64            `json:"rows"`
	Tables map[string]int64 `json:"tables"`
}

// exportTable is a table in the export, in an order that puts every row
// after the rows it refers to (foreign keys), so an import can insert them
// as they come.
type exportTable struct {
	name    string
	orderBy string
	// skip are columns the target fills in itself: the denylist's seq is the
	// order in which replicas read new entries, drawn from the target's own
	// sequence (the export keeps the order).
	skip []string
}

// exportTables is every table of the schema but schema_migrations (the
// header's "schema"); TestExportCoversEveryTable keeps it so when a
// migration adds one.
var exportTables = []exportTable{
	{name: "users", orderBy: "id"},
	{name: "organizations", orderBy: "id"},
	{name: "memberships", orderBy: "organization_id, user_id"},
	{name: "service_accounts", orderBy: "id"},
	{name: "api_keys", orderBy: "id"},
	{name: "applications", orderBy: "id"},
	{name: "signing_keys", orderBy: "kid"},
	{name: "consent_grants", orderBy: "application_id, user_id"},
	{name: "oauth_scopes", orderBy: "organization_id, name"},
	{name: "sessions", orderBy: "id"},
	{name: "session_families", orderBy: "family_id"},
	{name: "login_challenges", orderBy: "id"},
	{name: "oauth_refresh_families", orderBy: "request_id"},
	{name: "oauth_refresh_tokens", orderBy: "signature"},
	{name: "oauth_authorize_codes", orderBy: "signature"},
	{name: "oauth_pkce_requests", orderBy: "signature"},
	{name: "oauth_oidc_requests", orderBy: "signature"},
	{name: "oauth_jtis", orderBy: "jti"},
	{name: "denylist", orderBy: "seq", skip: []string{"seq"}},
	{name: "mfa_totp", orderBy: "user_id"},
	{name: "mfa_recovery_codes", orderBy: "user_id, code_hash"},
	{name: "mfa_challenges", orderBy: "id"},
	{name: "webauthn_credentials", orderBy: "id"},
	{name: "organization_mfa_policies", orderBy: "organization_id"},
	{name: "audit_events", orderBy: "occurred_at, id"},
	{name: "email_tokens", orderBy: "token_hash"},
	{name: "federation_connections", orderBy: "id"},
	{name: "federation_domains", orderBy: "domain"},
	{name: "federation_identities", orderBy: "connection_id, subject"},
	{name: "federation_sessions", orderBy: "session_id"},
	{name: "federation_saml_assertions", orderBy: "connection_id, assertion_id"},
	{name: "invitations", orderBy: "id"},
}

// ExportTables names the exported tables in export order.
func ExportTables() []string {
	out := make([]string, len(exportTables))
	for i, t := range exportTables {
		out[i] = t.name
	}
	return out
}

func (t exportTable) skips(column string) bool {
	for _, c := range t.skip {
		if c == column {
			return true
		}
	}
	return false
}

// kind is how a column's values are written in an export.
type kind int

const (
	kindText kind = iota
	kindBool
	kindInt
	kindTime
	kindBytes
)

func (k kind) String() string {
	return [...]string{"text", "a boolean", "an integer", "a timestamp (RFC 3339)", "base64"}[k]
}

// kindOf maps a declared column type, as either driver names it, to a kind.
// A type the export does not know is an error rather than a guess: a new
// migration's column must be given a kind here.
func kindOf(dbType string) (kind, error) {
	switch t := strings.ToUpper(dbType); t {
	case "TEXT", "VARCHAR":
		return kindText, nil
	case "BOOLEAN", "BOOL":
		return kindBool, nil
	case "INTEGER", "INT", "BIGINT", "SMALLINT", "INT2", "INT4", "INT8":
		return kindInt, nil
	case "TIMESTAMP", "TIMESTAMPTZ", "DATETIME":
		return kindTime, nil
	case "BLOB", "BYTEA":
		return kindBytes, nil
	default:
		return 0, fmt.Errorf("column type %q has no export kind", dbType)
	}
}

// sqliteTimeLayouts are the text forms SQLite may hold a timestamp in when
// the driver hands it over unparsed.
var sqliteTimeLayouts = []string{"2006-01-02 15:04:05.999999999-07:00", "2006-01-02 15:04:05.999999999", time.RFC3339Nano}

// encodeValue turns a scanned value into its JSON form for the column's kind.
func encodeValue(k kind, v any) (json.RawMessage, error) {
	if v == nil {
		return json.RawMessage("null"), nil
	}
	switch k {
	case kindText:
		switch x := v.(type) {
		case string:
			return json.Marshal(x)
		case []byte:
			return json.Marshal(string(x))
		}
	case kindBool:
		switch x := v.(type) {
		case bool:
			return json.Marshal(x)
		case int64: // SQLite stores booleans as 0 and 1
			return json.Marshal(x != 0)
		}
	case kindInt:
		if x, ok := v.(int64); ok {
			return json.RawMessage(strconv.FormatInt(x, 10)), nil
		}
	case kindTime:
		switch x := v.(type) {
		case time.Time:
			return json.Marshal(utc(x).Format(time.RFC3339Nano))
		case string:
			for _, layout := range sqliteTimeLayouts {
				if t, err := time.Parse(layout, x); err == nil {
					return json.Marshal(utc(t).Format(time.RFC3339Nano))
				}
			}
		}
	case kindBytes:
		switch x := v.(type) {
		case []byte:
			return json.Marshal(base64.StdEncoding.EncodeToString(x))
		case string:
			return json.Marshal(base64.StdEncoding.EncodeToString([]byte(x)))
		}
	}
	return nil, fmt.Errorf("cannot write %T %v as %s", v, v, k)
}

// decodeValue reads a JSON value of an export as the Go value its column
// takes; a value of the wrong shape is an error naming what was expected.
func decodeValue(k kind, raw json.RawMessage) (any, error) {
	if string(raw) == "null" {
		return nil, nil
	}
	var err error
	switch k {
	case kindText:
		var s string
		if err = json.Unmarshal(raw, &s); err == nil {
			return s, nil
		}
	case kindBool:
		var b bool
		if err = json.Unmarshal(raw, &b); err == nil {
			return b, nil
		}
	case kindInt:
		var n int64
		if err = json.Unmarshal(raw, &n); err == nil {
			return n, nil
		}
	case kindTime:
		var s string
		if err = json.Unmarshal(raw, &s); err == nil {
			var t time.Time
			if t, err = time.Parse(time.RFC3339Nano, s); err == nil {
				return utc(t), nil
			}
		}
	case kindBytes:
		var s string
		if err = json.Unmarshal(raw, &s); err == nil {
			var b []byte
			if b, err = base64.StdEncoding.DecodeString(s); err == nil {
				return b, nil
			}
		}
	}
	return nil, fmt.Errorf("want %s, got %s", k, truncate(string(raw), 40))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
