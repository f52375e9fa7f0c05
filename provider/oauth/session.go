package oauth

import (
	"maps"
	"time"

	"github.com/ory/fosite"
	"github.com/ory/fosite/handler/oauth2"
	"github.com/ory/fosite/handler/openid"
	"github.com/ory/fosite/token/jwt"

	"github.com/arsaka/puguh/keys"
	"github.com/arsaka/puguh/storage"
)

// Principal kinds carried in sessions and tokens.
const (
	KindUser           = "user"
	KindServiceAccount = "service_account"
)

// AccessTokenType is the JWT "typ" of access tokens (RFC 9068 §2.1), which
// keeps an ID token from passing for an access token.
const AccessTokenType = "at+jwt"

var (
	_ fosite.Session             = (*Session)(nil)
	_ openid.Session             = (*Session)(nil)
	_ oauth2.JWTSessionContainer = (*Session)(nil)
	_ fosite.ExtraClaimsSession  = (*Session)(nil)
)

// Session is what fosite stores with every grant and what our access tokens
// are built from. It embeds the OpenID Connect session (ID-token claims,
// expiry times, subject).
type Session struct {
	openid.DefaultSession
	// Kind is KindUser or KindServiceAccount.
	Kind string `json:"kind"`
	// OrganizationID is the organization the token acts in.
	OrganizationID string `json:"org_id,omitempty"`
	// ClientID is the client the grant was made to.
	ClientID string `json:"client_id"`
	// FamilyID identifies the grant and every token refreshed from it (fosite
	// keeps the request id across refreshes). Access tokens carry it as "sid",
	// so revoking the family denies all of them at once.
	FamilyID string `json:"sid,omitempty"`
	// idTokenAlg is the algorithm of the ID token issued with this request
	// (the token endpoint sets it from the client); never stored.
	idTokenAlg string
}

// IDTokenHeaders are the ID token's header entries. fosite also reads the
// hash of at_hash from the digits of their "alg" (RS256 → SHA-256, xx512 →
// SHA-512) and knows no EdDSA, whose hash for Ed25519 is SHA-512 (what
// go-oidc and other relying parties check): for an EdDSA ID token the copy
// returned says "Ed512". The signer writes the real "alg" and "kid" itself
// and never copies this entry into a token.
func (s *Session) IDTokenHeaders() *jwt.Headers {
	h := s.DefaultSession.IDTokenHeaders()
	if s.idTokenAlg != keys.AlgEdDSA {
		return h
	}
	c := &jwt.Headers{Extra: maps.Clone(h.Extra)}
	c.Add("alg", "Ed512")
	return c
}

// NewSession returns an empty session, for fosite and the storage adapter.
func NewSession() fosite.Session {
	return &Session{DefaultSession: openid.DefaultSession{Claims: &jwt.IDTokenClaims{}, Headers: &jwt.Headers{}}}
}

// GetJWTClaims builds the access token's claims afresh for every token: fosite
// fills iat, exp, iss, aud and scope into the container it gets, and a
// container kept in the stored session would carry the first token's iat into
// every refreshed one.
func (s *Session) GetJWTClaims() jwt.JWTClaimsContainer {
	extra := map[string]any{"client_id": s.ClientID}
	if s.OrganizationID != "" {
		extra["org_id"] = s.OrganizationID
	}
	if s.FamilyID != "" {
		extra["sid"] = s.FamilyID
	}
	if s.Kind != "" {
		extra["kind"] = s.Kind
	}
	return &jwt.JWTClaims{Subject: s.Subject, Extra: extra}
}

// GetJWTHeader sets typ: at+jwt on access tokens; the signer adds alg and kid.
func (s *Session) GetJWTHeader() *jwt.Headers {
	return &jwt.Headers{Extra: map[string]any{"typ": AccessTokenType}}
}

// GetExtraClaims is what introspection reports beyond the standard members.
func (s *Session) GetExtraClaims() map[string]any {
	out := map[string]any{"client_id": s.ClientID}
	if s.OrganizationID != "" {
		out["org_id"] = s.OrganizationID
	}
	if s.Kind != "" {
		out["kind"] = s.Kind
	}
	return out
}

// Clone deep-copies the session (fosite clones before mutating).
func (s *Session) Clone() fosite.Session {
	if s == nil {
		return nil
	}
	c := *s
	if d, ok := s.DefaultSession.Clone().(*openid.DefaultSession); ok && d != nil {
		c.DefaultSession = *d
	}
	return &c
}

// UserClaims are the OpenID Connect standard claims of u that the granted
// scopes release (OIDC Core §5.4): email and email_verified for "email", name
// for "profile". Puguh does not verify email addresses, so email_verified is
// false rather than a claim we cannot back.
func UserClaims(u *storage.User, scopes fosite.Arguments) map[string]any {
	out := map[string]any{}
	if scopes.Has("email") {
		out["email"] = u.Email
		out["email_verified"] = false
	}
	if scopes.Has("profile") {
		out["name"] = u.FullName
	}
	return out
}

// NewUserSession is the session of a grant a user made to an application in
// the browser: the ID token's claims (auth_time, the authorization request's
// time for prompt and max_age checks, and the claims the scopes release) and
// what our access tokens carry. familyID is the authorization request's id,
// which fosite keeps for every token of the grant.
func NewUserSession(u *storage.User, client *Client, scopes fosite.Arguments, authTime, requestedAt time.Time, familyID string) *Session {
	s := NewSession().(*Session)
	s.Subject = u.ID
	s.Username = u.Email
	s.Kind = KindUser
	s.ClientID = client.GetID()
	s.OrganizationID = client.OrganizationID
	s.FamilyID = familyID
	s.Claims.Subject = u.ID
	s.Claims.AuthTime = authTime.UTC().Truncate(time.Second)
	s.Claims.RequestedAt = requestedAt.UTC().Truncate(time.Second)
	s.Claims.Extra = UserClaims(u, scopes)
	return s
}
