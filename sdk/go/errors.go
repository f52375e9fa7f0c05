package puguh

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// ConnectionError: a request got no HTTP answer (DNS, refused connection,
// reset, TLS), or the client's timeout elapsed first (Timeout). Err is the
// transport's error. A caller's own cancellation is never wrapped: the call
// returns the context's error as it is.
type ConnectionError struct {
	Method  string
	URL     string // without its query
	Timeout bool
	Err     error
}

func (e *ConnectionError) Error() string {
	where := e.Method + " " + pathOf(e.URL)
	if e.Timeout {
		return fmt.Sprintf("puguh: timed out: %s: %v", where, e.Err)
	}
	return fmt.Sprintf("puguh: could not reach Puguh: %s: %v", where, e.Err)
}

func (e *ConnectionError) Unwrap() error { return e.Err }

// IsTimeout reports whether err is a ConnectionError for an elapsed timeout.
func IsTimeout(err error) bool {
	var c *ConnectionError
	return errors.As(err, &c) && c.Timeout
}

// APIError is an HTTP answer with an error status. Every status has its own
// type wrapping it (BadRequestError 400, AuthenticationError 401,
// PermissionDeniedError 403, NotFoundError 404, ConflictError 409,
// ValidationError 422, RateLimitError 429, ServerError 5xx); errors.As finds
// the *APIError inside any of them. Other statuses (413, 415, …) are a plain
// *APIError.
type APIError struct {
	Status int
	// Detail is the body's "detail" when it is a string ("Invalid or expired
	// token"); for a 422 the issues joined as "loc: msg; …".
	Detail string
	// Body is the answer's body as sent.
	Body      json.RawMessage
	Header    http.Header
	RateLimit *RateLimit // nil when the answer carried no rate-limit headers
	RequestID string     // X-Request-Id
	Response  *ResponseInfo
}

func (e *APIError) Error() string {
	d := e.Detail
	if d == "" {
		d = "HTTP error"
	}
	where := ""
	if e.Response != nil {
		where = fmt.Sprintf(" (%s %s)", e.Response.Method, pathOf(e.Response.URL))
	}
	return fmt.Sprintf("puguh: %d %s%s", e.Status, d, where)
}

// BadRequestError is a 400, e.g. {"detail":"Invalid cursor"}.
type BadRequestError struct{ *APIError }

// AuthenticationError is a 401: missing, invalid, expired or revoked credentials.
type AuthenticationError struct{ *APIError }

// PermissionDeniedError is a 403: valid credentials lacking a permission or rank.
type PermissionDeniedError struct{ *APIError }

// NotFoundError is a 404: no such object, or one of another organization.
type NotFoundError struct{ *APIError }

// ConflictError is a 409: the email is registered, the last owner, already a member…
type ConflictError struct{ *APIError }

// ValidationError is a 422; Issues is the body's detail list (FastAPI's shape).
type ValidationError struct {
	*APIError
	Issues []ValidationIssue
}

// RateLimitError is a 429: a rate limit is spent. Wait RetryAfter.
type RateLimitError struct {
	*APIError
	RetryAfter time.Duration // zero when the answer carried no Retry-After
	Limit      int           // X-RateLimit-Limit (0 when absent)
	Remaining  int           // X-RateLimit-Remaining
	Reset      time.Time     // X-RateLimit-Reset: when the budget is whole again (zero when absent)
}

// ServerError is a 5xx: the server failed or a dependency is down. A 503
// carries RetryAfter.
type ServerError struct {
	*APIError
	RetryAfter time.Duration
}

func (e *BadRequestError) Unwrap() error       { return e.APIError }
func (e *AuthenticationError) Unwrap() error   { return e.APIError }
func (e *PermissionDeniedError) Unwrap() error { return e.APIError }
func (e *NotFoundError) Unwrap() error         { return e.APIError }
func (e *ConflictError) Unwrap() error         { return e.APIError }
func (e *ValidationError) Unwrap() error       { return e.APIError }
func (e *RateLimitError) Unwrap() error        { return e.APIError }
func (e *ServerError) Unwrap() error           { return e.APIError }

// WWWAuthenticate is the answer's challenge: `Bearer realm="puguh",
// error="invalid_token"` for a refused Bearer token.
func (e *AuthenticationError) WWWAuthenticate() string { return e.Header.Get("WWW-Authenticate") }

// InvalidToken is true when the server refused a Bearer token it was sent
// (RFC 6750 error="invalid_token"): expired, revoked, or not a token at all.
// False for a missing credential, a bad API key, or a failed sign-in.
func (e *AuthenticationError) InvalidToken() bool {
	return IsInvalidTokenChallenge(e.WWWAuthenticate())
}

var missingPermission = regexp.MustCompile(`^Missing permission: (\S+)$`)

// MissingPermission is the permission named by "Missing permission:
// organization.members.create", or "" for other refusals.
func (e *PermissionDeniedError) MissingPermission() string {
	if m := missingPermission.FindStringSubmatch(e.Detail); m != nil {
		return m[1]
	}
	return ""
}

// ValidationIssue is one entry of a 422 answer's detail list.
type ValidationIssue struct {
	// Loc is where the bad value is: ["body", "email"], ["query", "limit"],
	// ["header", "X-Organization-ID"], ["body", "redirect_uris", 1]. Each
	// element is a string or an int.
	Loc  []any  `json:"loc"`
	Msg  string `json:"msg"`
	Type string `json:"type"`
}

// UnmarshalJSON keeps the integers of loc as int (encoding/json would make them float64).
func (v *ValidationIssue) UnmarshalJSON(b []byte) error {
	var raw struct {
		Loc  []json.RawMessage `json:"loc"`
		Msg  string            `json:"msg"`
		Type string            `json:"type"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	v.Msg, v.Type, v.Loc = raw.Msg, raw.Type, make([]any, 0, len(raw.Loc))
	for _, part := range raw.Loc {
		var s string
		if err := json.Unmarshal(part, &s); err == nil {
			v.Loc = append(v.Loc, s)
			continue
		}
		n, err := strconv.Atoi(string(part))
		if err != nil {
			return fmt.Errorf("loc element %s is neither a string nor an integer", part)
		}
		v.Loc = append(v.Loc, n)
	}
	return nil
}

// LocString joins Loc with dots: "body.redirect_uris.1".
func (v ValidationIssue) LocString() string {
	parts := make([]string, len(v.Loc))
	for i, p := range v.Loc {
		parts[i] = fmt.Sprint(p)
	}
	return strings.Join(parts, ".")
}

// IssueAt returns the issue at a location, e.g. IssueAt("body", "email"), or nil.
func (e *ValidationError) IssueAt(loc ...any) *ValidationIssue {
	for i := range e.Issues {
		is := &e.Issues[i]
		if len(is.Loc) != len(loc) {
			continue
		}
		same := true
		for n := range loc {
			if is.Loc[n] != loc[n] {
				same = false
				break
			}
		}
		if same {
			return is
		}
	}
	return nil
}

// OAuthError is an OAuth 2.0 endpoint's error answer (RFC 6749 §5.2), or a
// callback that came back with error=access_denied and the like. Status is 0
// for a callback error.
type OAuthError struct {
	Status           int
	ErrorCode        string // invalid_grant, invalid_client, access_denied, …
	ErrorDescription string
	Response         *ResponseInfo // nil for a callback error
	Err              error         // the underlying error, if any (x/oauth2's *RetrieveError)
}

func (e *OAuthError) Error() string {
	if e.ErrorDescription != "" {
		return fmt.Sprintf("puguh: oauth: %s: %s", e.ErrorCode, e.ErrorDescription)
	}
	return "puguh: oauth: " + e.ErrorCode
}

func (e *OAuthError) Unwrap() error { return e.Err }

// TokenErrorCode is an RFC 6750 §3.1 error code of a resource server's refusal.
type TokenErrorCode string

// The refusals a resource server answers, with their statuses.
const (
	MissingToken      TokenErrorCode = "missing_token"      // 401, a challenge naming no error
	InvalidRequest    TokenErrorCode = "invalid_request"    // 400, a malformed Authorization header
	InvalidToken      TokenErrorCode = "invalid_token"      // 401
	InsufficientScope TokenErrorCode = "insufficient_scope" // 403
)

// TokenVerificationError is a resource server's refusal of a request's token
// (RFC 6750 §3.1), from the verifier package. Description never echoes token
// content, so it may be shown to the caller.
type TokenVerificationError struct {
	Code        TokenErrorCode
	Description string
	Scopes      []string // the scopes required, for insufficient_scope
	Err         error    // the reason, for logs
}

func (e *TokenVerificationError) Error() string {
	return fmt.Sprintf("puguh: %s: %s", e.Code, e.Description)
}

func (e *TokenVerificationError) Unwrap() error { return e.Err }

// Status is the HTTP status to answer with: 400, 401 or 403.
func (e *TokenVerificationError) Status() int {
	switch e.Code {
	case InvalidRequest:
		return http.StatusBadRequest
	case InsufficientScope:
		return http.StatusForbidden
	}
	return http.StatusUnauthorized
}

// WWWAuthenticate renders the RFC 6750 §3 header value for the answer, naming
// realm.
func (e *TokenVerificationError) WWWAuthenticate(realm string) string {
	q := func(s string) string { return strings.NewReplacer(`"`, "", `\`, "").Replace(s) }
	v := `Bearer realm="` + q(realm) + `"`
	if e.Code == MissingToken {
		return v
	}
	v += `, error="` + string(e.Code) + `"`
	if e.Code == InsufficientScope && len(e.Scopes) > 0 {
		v += `, scope="` + q(strings.Join(e.Scopes, " ")) + `"`
	}
	return v
}

var invalidTokenChallenge = regexp.MustCompile(`(?i)\berror\s*=\s*"?invalid_token"?`)
var bearerChallenge = regexp.MustCompile(`(?i)^\s*bearer\b`)

// IsInvalidTokenChallenge reports whether a WWW-Authenticate value is a
// Bearer challenge with error="invalid_token".
func IsInvalidTokenChallenge(header string) bool {
	return bearerChallenge.MatchString(header) && invalidTokenChallenge.MatchString(header)
}

// IsStatus reports whether err is an API error answer with this status.
func IsStatus(err error, status int) bool {
	var e *APIError
	return errors.As(err, &e) && e.Status == status
}

// IsNotFound reports whether err is a 404 answer.
func IsNotFound(err error) bool { return IsStatus(err, http.StatusNotFound) }

// IsConflict reports whether err is a 409 answer.
func IsConflict(err error) bool { return IsStatus(err, http.StatusConflict) }

// IsUnauthorized reports whether err is a 401 answer.
func IsUnauthorized(err error) bool { return IsStatus(err, http.StatusUnauthorized) }

// IsForbidden reports whether err is a 403 answer.
func IsForbidden(err error) bool { return IsStatus(err, http.StatusForbidden) }

// IsRateLimited reports whether err is a 429 answer.
func IsRateLimited(err error) bool { return IsStatus(err, http.StatusTooManyRequests) }

// errorFromResponse builds the typed error of an error answer.
func errorFromResponse(info *ResponseInfo, body []byte) error {
	base := &APIError{Status: info.Status, Body: json.RawMessage(body), Header: info.Header,
		RateLimit: info.RateLimit, RequestID: info.RequestID, Response: info}
	var parsed struct {
		Detail json.RawMessage `json:"detail"`
	}
	_ = json.Unmarshal(body, &parsed)
	var issues []ValidationIssue
	if info.Status == http.StatusUnprocessableEntity && len(parsed.Detail) > 0 && parsed.Detail[0] == '[' {
		if json.Unmarshal(parsed.Detail, &issues) == nil {
			parts := make([]string, len(issues))
			for i, is := range issues {
				parts[i] = is.LocString() + ": " + is.Msg
			}
			base.Detail = strings.Join(parts, "; ")
		}
	}
	if base.Detail == "" {
		var s string
		if len(parsed.Detail) > 0 && json.Unmarshal(parsed.Detail, &s) == nil {
			base.Detail = s
		} else if parsed.Detail == nil && !json.Valid(body) {
			base.Detail = strings.TrimSpace(truncate(string(body), 200))
		}
	}
	switch s := info.Status; {
	case s == http.StatusBadRequest:
		return &BadRequestError{base}
	case s == http.StatusUnauthorized:
		return mfaRequiredOr(&AuthenticationError{base})
	case s == http.StatusForbidden:
		return enrollmentRequiredOr(&PermissionDeniedError{base})
	case s == http.StatusNotFound:
		return &NotFoundError{base}
	case s == http.StatusConflict:
		return &ConflictError{base}
	case s == http.StatusUnprocessableEntity:
		return &ValidationError{APIError: base, Issues: issues}
	case s == http.StatusTooManyRequests:
		e := &RateLimitError{APIError: base, RetryAfter: info.RetryAfter}
		if rl := info.RateLimit; rl != nil {
			e.Limit, e.Remaining, e.Reset = rl.Limit, rl.Remaining, rl.Reset
		}
		return e
	case s >= 500:
		return &ServerError{APIError: base, RetryAfter: info.RetryAfter}
	}
	return base
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// pathOf is a URL's path, for messages (never its query, which may hold a cursor).
func pathOf(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Path
	}
	return raw
}
