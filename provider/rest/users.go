package rest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/arsaka/puguh/provider/authz"
	"github.com/arsaka/puguh/provider/httpapi"
	"github.com/arsaka/puguh/storage"
)

// listUsers lists the members of the current organization (iam.users.read).
func (a *OrganizationAPI) listUsers(w http.ResponseWriter, r *http.Request) error {
	p := principal(r)
	return a.writeMembers(w, r, p.OrganizationID, func(page storage.Page) ([]storage.Member, error) {
		return a.Orgs.Users(r.Context(), p, page)
	})
}

type meResponse struct {
	ID             string    `json:"id"`
	Type           string    `json:"type"`
	Email          string    `json:"email,omitempty"`
	FullName       string    `json:"full_name,omitempty"`
	EmailVerified  *bool     `json:"email_verified,omitempty"`
	OrganizationID string    `json:"organization_id"`
	Role           string    `json:"role,omitempty"`
	Permissions    []string  `json:"permissions"`
	CreatedAt      time.Time `json:"created_at,omitzero"`
}

// me describes the caller: a user's profile, or the key or service account.
func (a *OrganizationAPI) me(w http.ResponseWriter, r *http.Request) error {
	p := principal(r)
	resp := meResponse{ID: p.ID, Type: p.Type, OrganizationID: p.OrganizationID, Role: p.Role, Permissions: p.Permissions.Sorted()}
	if p.Type == authz.TypeUser {
		u, err := a.Users.UserByID(r.Context(), p.ID)
		if err != nil {
			return notFoundAs(err, "User not found")
		}
		resp.Email, resp.FullName, resp.CreatedAt = u.Email, u.FullName, u.CreatedAt
		verified := u.EmailVerifiedAt != nil
		resp.EmailVerified = &verified
	}
	httpapi.WriteJSON(w, http.StatusOK, resp)
	return nil
}

// Cursors makes and checks pagination cursors. A cursor is opaque to clients
// and signed with an HMAC bound to the organization, so a forged or borrowed
// one is refused with 400 instead of reaching a query (docs/security.md, "Input").
type Cursors struct {
	Key []byte
}

// Page is a decoded limit and position.
type Page struct {
	Limit int
	After string
}

const (
	defaultLimit = 50
	maxLimit     = 100
)

// PageFrom reads ?limit= and ?cursor=.
func (c *Cursors) PageFrom(r *http.Request, scope string) (Page, error) {
	q := r.URL.Query()
	p := Page{Limit: defaultLimit}
	if s := q.Get("limit"); s != "" {
		// FastAPI's (pydantic v1) answers for Query(ge=1, le=100).
		n, err := strconv.Atoi(s)
		loc := []any{"query", "limit"}
		switch {
		case err != nil:
			return p, httpapi.Invalid(httpapi.Issue{Loc: loc, Msg: "value is not a valid integer", Type: "type_error.integer"})
		case n < 1:
			return p, httpapi.Invalid(httpapi.Issue{Loc: loc, Msg: "ensure this value is greater than or equal to 1", Type: "value_error.number.not_ge"})
		case n > maxLimit:
			return p, httpapi.Invalid(httpapi.Issue{Loc: loc, Msg: "ensure this value is less than or equal to 100", Type: "value_error.number.not_le"})
		}
		p.Limit = n
	}
	if s := q.Get("cursor"); s != "" {
		after, ok := c.parse(scope, s)
		if !ok {
			return p, httpapi.BadRequest("Invalid cursor")
		}
		p.After = after
	}
	return p, nil
}

// Next returns the cursor that continues after position within scope.
func (c *Cursors) Next(scope, position string) string {
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(position)) + "." + enc.EncodeToString(c.mac(scope, position))
}

func (c *Cursors) parse(scope, cursor string) (string, bool) {
	if len(cursor) > 512 {
		return "", false
	}
	body, sig, ok := strings.Cut(cursor, ".")
	enc := base64.RawURLEncoding
	pos, err1 := enc.DecodeString(body)
	mac, err2 := enc.DecodeString(sig)
	if !ok || err1 != nil || err2 != nil || !hmac.Equal(mac, c.mac(scope, string(pos))) {
		return "", false
	}
	return string(pos), true
}

func (c *Cursors) mac(scope, position string) []byte {
	m := hmac.New(sha256.New, c.Key)
	m.Write([]byte("cursor\x00" + scope + "\x00" + position))
	return m.Sum(nil)[:16]
}
