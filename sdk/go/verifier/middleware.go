package verifier

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	puguh "github.com/arsaka/puguh/sdk/go"
)

type claimsKey struct{}

// ClaimsFromContext returns the claims Require or RequireActive put in a
// request's context.
func ClaimsFromContext(ctx context.Context) (*Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(*Claims)
	return c, ok
}

// ContextWithClaims returns ctx carrying claims, as the middleware does (for
// handlers' tests).
func ContextWithClaims(ctx context.Context, claims *Claims) context.Context {
	return context.WithValue(ctx, claimsKey{}, claims)
}

// BearerToken extracts the access token of a request (RFC 6750 §2.1): exactly
// one Authorization header "Bearer <token>". No header is a missing_token
// refusal; anything else malformed is invalid_request.
func BearerToken(r *http.Request) (string, error) {
	values := r.Header.Values("Authorization")
	if len(values) == 0 || (len(values) == 1 && strings.TrimSpace(values[0]) == "") {
		return "", &puguh.TokenVerificationError{Code: puguh.MissingToken, Description: "no access token"}
	}
	if len(values) > 1 {
		return "", &puguh.TokenVerificationError{Code: puguh.InvalidRequest, Description: "exactly one Authorization header is required"}
	}
	scheme, token, ok := strings.Cut(strings.TrimSpace(values[0]), " ")
	token = strings.TrimLeft(token, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || !isToken68(token) {
		return "", &puguh.TokenVerificationError{Code: puguh.InvalidRequest, Description: `the Authorization header is not "Bearer <token>"`}
	}
	return token, nil
}

// isToken68 is RFC 6750 §2.1's b64token: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func isToken68(s string) bool {
	if s == "" {
		return false
	}
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/') {
			break
		}
	}
	if i == 0 {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] != '=' {
			return false
		}
	}
	return true
}

// VerifyRequest verifies the request's Bearer token and the scopes it must hold.
func (v *Verifier) VerifyRequest(r *http.Request, scopes ...string) (*Claims, error) {
	token, err := BearerToken(r)
	if err != nil {
		return nil, err
	}
	return v.Verify(r.Context(), token, scopes...)
}

// Require is net/http middleware: it lets a request through when its Bearer
// token verifies offline and holds every scope, with the claims in its
// context (ClaimsFromContext). Otherwise it answers 401, 400 or 403 with an
// RFC 6750 WWW-Authenticate challenge and {"detail": "…"}, or 503 when the
// JWKS cannot be fetched.
func (v *Verifier) Require(scopes ...string) func(http.Handler) http.Handler {
	return v.middleware(false, scopes)
}

// RequireActive is Require for revocation-sensitive routes: after the offline
// checks it asks the issuer's introspection endpoint whether the token is
// still active, so a token whose user signed out, or whose grant was revoked,
// is refused at once rather than when it expires. It costs a request to the
// issuer per call, and fails closed (503) when the issuer cannot answer. It
// needs the Introspection option.
func (v *Verifier) RequireActive(scopes ...string) func(http.Handler) http.Handler {
	if v.introspectionID == "" {
		panic("verifier: RequireActive needs verifier.Introspection(clientID, clientSecret)")
	}
	return v.middleware(true, scopes)
}

func (v *Verifier) middleware(active bool, scopes []string) func(http.Handler) http.Handler {
	scopes = append([]string(nil), scopes...)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			claims, err := v.VerifyRequest(r, scopes...)
			if err == nil && active {
				err = v.CheckActive(r.Context(), r, claims)
			}
			if err != nil {
				if v.onError != nil {
					v.onError(w, r, err)
				} else {
					v.writeError(w, err)
				}
				return
			}
			next.ServeHTTP(w, r.WithContext(ContextWithClaims(r.Context(), claims)))
		})
	}
}

// writeError is the default answer to a refused or unverifiable request.
func (v *Verifier) writeError(w http.ResponseWriter, err error) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	var te *puguh.TokenVerificationError
	status, detail := http.StatusServiceUnavailable, "The token could not be verified: the issuer cannot be reached"
	if errors.As(err, &te) {
		h.Set("WWW-Authenticate", te.WWWAuthenticate(v.realm))
		status = te.Status()
		switch te.Code {
		case puguh.MissingToken:
			detail = "Not authenticated"
		case puguh.InvalidToken:
			detail = "Invalid or expired token"
		default:
			detail = te.Description
		}
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"detail": detail})
}
