package oauthstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"
	"github.com/ory/fosite"
)

// The request tables share one column set (see migration 0002_oauth). Table
// names are concatenated into SQL, so only these constants may be used as one.
const (
	tableCodes   = "oauth_authorize_codes"
	tablePKCE    = "oauth_pkce_requests"
	tableOIDC    = "oauth_oidc_requests"
	tableRefresh = "oauth_refresh_tokens"

	requestColumns = "signature, request_id, client_id, subject, requested_at, requested_scopes, granted_scopes, " +
		"requested_audience, granted_audience, form, session, active, expires_at"
	requestValues = ":signature, :request_id, :client_id, :subject, :requested_at, :requested_scopes, :granted_scopes, " +
		":requested_audience, :granted_audience, :form, :session, :active, :expires_at"
)

// secretParameters are form parameters that are credentials or one-time
// secrets. fosite's Sanitize already keeps only a whitelist when it stores
// tokens, but codes and PKCE requests are stored with wider whitelists, so the
// store removes these itself: a stored request must never let a database
// reader redeem or impersonate anything.
var secretParameters = []string{
	"client_secret", "client_assertion", "code_verifier", "password", "refresh_token",
	"code", "assertion", "token", "subject_token", "actor_token",
}

// requestRow is one stored fosite request.
type requestRow struct {
	Signature         string     `db:"signature"`
	RequestID         string     `db:"request_id"`
	ClientID          string     `db:"client_id"`
	Subject           string     `db:"subject"`
	RequestedAt       time.Time  `db:"requested_at"`
	RequestedScopes   string     `db:"requested_scopes"`
	GrantedScopes     string     `db:"granted_scopes"`
	RequestedAudience string     `db:"requested_audience"`
	GrantedAudience   string     `db:"granted_audience"`
	Form              string     `db:"form"`
	Session           []byte     `db:"session"`
	Active            bool       `db:"active"`
	ExpiresAt         *time.Time `db:"expires_at"`
}

// newRequestRow flattens r for storage under signature. The row expires when
// the session says the token of type expiry does.
func newRequestRow(signature string, r fosite.Requester, expiry fosite.TokenType) (requestRow, error) {
	if r.GetClient() == nil || r.GetSession() == nil {
		return requestRow{}, errors.New("request has no client or no session")
	}
	session, err := json.Marshal(r.GetSession())
	if err != nil {
		return requestRow{}, fmt.Errorf("encode session: %w", err)
	}
	row := requestRow{
		Signature:         signature,
		RequestID:         r.GetID(),
		ClientID:          r.GetClient().GetID(),
		Subject:           r.GetSession().GetSubject(),
		RequestedAt:       dbTime(r.GetRequestedAt()),
		RequestedScopes:   jsonList(r.GetRequestedScopes()),
		GrantedScopes:     jsonList(r.GetGrantedScopes()),
		RequestedAudience: jsonList(r.GetRequestedAudience()),
		GrantedAudience:   jsonList(r.GetGrantedAudience()),
		Form:              sanitizeForm(r.GetRequestForm()).Encode(),
		Session:           session,
		Active:            true,
	}
	if exp := r.GetSession().GetExpiresAt(expiry); !exp.IsZero() {
		e := dbTime(exp)
		row.ExpiresAt = &e
	}
	return row, nil
}

func sanitizeForm(form url.Values) url.Values {
	out := url.Values{}
	for k, v := range form {
		out[k] = append([]string(nil), v...)
	}
	for _, k := range secretParameters {
		out.Del(k)
	}
	return out
}

func jsonList(v []string) string {
	if v == nil {
		v = []string{}
	}
	b, _ := json.Marshal(v) // a []string always encodes
	return string(b)
}

func parseList(s string) ([]string, error) {
	var v []string
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return nil, err
	}
	return v, nil
}

// toRequest rebuilds the fosite request of row, decoding the session into
// session (fosite passes the one it wants hydrated) or, if nil, into a new one.
func (s *Store) toRequest(ctx context.Context, row requestRow, session fosite.Session) (*fosite.Request, error) {
	client, err := s.clients.GetClient(ctx, row.ClientID)
	if err != nil {
		// A deleted client's tokens die with it: fosite.ErrNotFound.
		return nil, clientError(row.ClientID, err)
	}
	if session == nil {
		session = s.newSession()
	}
	if err := json.Unmarshal(row.Session, session); err != nil {
		return nil, fmt.Errorf("decode session: %w", err)
	}
	form, err := url.ParseQuery(row.Form)
	if err != nil {
		return nil, fmt.Errorf("decode form: %w", err)
	}
	r := &fosite.Request{
		ID:          row.RequestID,
		RequestedAt: row.RequestedAt.UTC(),
		Client:      client,
		Form:        form,
		Session:     session,
	}
	lists := []struct {
		raw string
		dst *fosite.Arguments
	}{
		{row.RequestedScopes, &r.RequestedScope},
		{row.GrantedScopes, &r.GrantedScope},
		{row.RequestedAudience, &r.RequestedAudience},
		{row.GrantedAudience, &r.GrantedAudience},
	}
	for _, l := range lists {
		v, err := parseList(l.raw)
		if err != nil {
			return nil, fmt.Errorf("decode scopes or audience: %w", err)
		}
		*l.dst = v
	}
	return r, nil
}

// insertRequest stores row in table.
func (s *Store) insertRequest(ctx context.Context, q sqlx.ExtContext, table string, row any, extraColumns, extraValues string) error {
	query := "INSERT INTO " + table + " (" + requestColumns + extraColumns + ") VALUES (" + requestValues + extraValues + ")"
	if _, err := sqlx.NamedExecContext(ctx, q, query, row); err != nil {
		return err
	}
	return nil
}

// createRequest stores r under signature in one of the plain request tables.
func (s *Store) createRequest(ctx context.Context, table, signature string, r fosite.Requester, expiry fosite.TokenType) error {
	row, err := newRequestRow(signature, r, expiry)
	if err != nil {
		return fail("store in "+table, err)
	}
	if err := s.insertRequest(ctx, s.q(ctx), table, row, "", ""); err != nil {
		return fail("store in "+table, err)
	}
	return nil
}

// prefixed qualifies each column of a comma-separated list with prefix.
func prefixed(prefix, columns string) string {
	parts := strings.Split(columns, ",")
	for i, c := range parts {
		parts[i] = prefix + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}

// storable reports whether key can name a stored row. fosite hands the store
// the part of a presented code or token after its dot as the signature before
// it checks the HMAC, so the key is whatever the client sent, and PostgreSQL
// refuses text that is not UTF-8 or holds NUL (SQLSTATE 22021) instead of
// finding no row. Every key the store writes is base64url or hex, so such a
// key names nothing, on either database: callers answer "not found" without
// asking the database.
func storable(key string) bool {
	return utf8.ValidString(key) && strings.IndexByte(key, 0) < 0
}

// getRequest loads the row stored under signature and its request. A missing
// row is fosite.ErrNotFound, which fosite turns into invalid_grant or an
// inactive token.
func (s *Store) getRequest(ctx context.Context, table, signature string, session fosite.Session) (requestRow, *fosite.Request, error) {
	var row requestRow
	if !storable(signature) {
		return row, nil, fmt.Errorf("oauthstore: %s: %w", table, fosite.ErrNotFound)
	}
	err := sqlx.GetContext(ctx, s.q(ctx), &row, s.db.Rebind("SELECT "+requestColumns+" FROM "+table+" WHERE signature = ?"), signature)
	if errors.Is(err, sql.ErrNoRows) {
		return row, nil, fmt.Errorf("oauthstore: %s: %w", table, fosite.ErrNotFound)
	}
	if err != nil {
		return row, nil, fail("read "+table, err)
	}
	r, err := s.toRequest(ctx, row, session)
	if err != nil {
		return row, nil, fail("read "+table, err)
	}
	return row, r, nil
}

// deleteRequest removes the row stored under signature; a missing row is not
// an error, as in fosite's own MemoryStore.
func (s *Store) deleteRequest(ctx context.Context, table, signature string) error {
	if !storable(signature) {
		return nil
	}
	if _, err := s.q(ctx).ExecContext(ctx, s.db.Rebind("DELETE FROM "+table+" WHERE signature = ?"), signature); err != nil {
		return fail("delete from "+table, err)
	}
	return nil
}
