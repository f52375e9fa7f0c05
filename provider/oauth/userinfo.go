package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/ory/fosite"

	"github.com/arsaka/puguh/keys"
	"github.com/arsaka/puguh/storage"
)

// TokenVerifier checks our JWTs' signature and registered claims (keys.Verifier).
type TokenVerifier interface {
	VerifyJWT(token string, want keys.Expected) (*keys.VerifiedToken, error)
}

// UserLookup finds the user a token names.
type UserLookup interface {
	UserByID(ctx context.Context, id string) (*storage.User, error)
}

// userinfo is OIDC Core §5.3: the Bearer access token (RFC 6750 §2.1, header
// or form body, never the query string) must be one of our access tokens
// (typ at+jwt: an ID token is refused), unexpired, not revoked, for a user,
// with the openid scope. The claims released are those the scopes allow,
// read fresh from the user record.
func (e *Endpoints) userinfo(w http.ResponseWriter, r *http.Request) {
	token, ok := bearerToken(r)
	if !ok {
		writeBearerError(w, http.StatusUnauthorized, "", "")
		return
	}
	claims, err := e.P.VerifyAccessToken(token)
	if err != nil {
		e.logError(r, fosite.ErrRequestUnauthorized.WithWrap(err).WithDebug(err.Error()))
		writeBearerError(w, http.StatusUnauthorized, "invalid_token", "The access token is invalid, expired or revoked.")
		return
	}
	scopes := fosite.Arguments(strings.Fields(claims.Scope))
	if claims.Kind != KindUser || !scopes.Has("openid") {
		writeBearerError(w, http.StatusForbidden, "insufficient_scope", "The access token needs the openid scope of a user.")
		return
	}
	u, err := e.Users.UserByID(r.Context(), claims.Subject)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && u.Disabled) {
		writeBearerError(w, http.StatusUnauthorized, "invalid_token", "The user no longer exists.")
		return
	}
	if err != nil {
		e.logError(r, fosite.ErrServerError.WithWrap(err).WithDebug(err.Error()))
		w.Header().Set("Retry-After", "5")
		http.Error(w, `{"error":"temporarily_unavailable"}`, http.StatusServiceUnavailable)
		return
	}
	out := UserClaims(u, scopes)
	out["sub"] = u.ID
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(out)
}

// bearerToken reads the token from Authorization: Bearer (RFC 6750 §2.1) or a
// form-encoded POST body (§2.2). A token in the query string is refused
// (docs/security.md, "Input").
func bearerToken(r *http.Request) (string, bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, token, ok := strings.Cut(h, " ")
		token = strings.TrimSpace(token)
		return token, ok && strings.EqualFold(scheme, "Bearer") && token != ""
	}
	if r.Method == http.MethodPost && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		if err := r.ParseForm(); err == nil {
			if t := r.PostForm.Get("access_token"); t != "" {
				return t, true
			}
		}
	}
	return "", false
}

// writeBearerError answers with an RFC 6750 §3 challenge.
func writeBearerError(w http.ResponseWriter, status int, code, description string) {
	challenge := `Bearer realm="puguh"`
	if code != "" {
		challenge += `, error="` + code + `", error_description="` + description + `"`
	}
	w.Header().Set("WWW-Authenticate", challenge)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if code != "" {
		_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": description})
	}
}
