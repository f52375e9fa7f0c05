// Package httpapi is the REST API's HTTP plumbing: FastAPI-shaped errors
// written from one place, strict JSON request decoding, and the middleware
// every request passes through (request IDs, recovery, logs, metrics).
package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/arsaka/puguh/provider/problem"
	"github.com/arsaka/puguh/storage"
)

// Error is an HTTP error that keeps what the client is told (Status, Detail,
// Headers) apart from the cause that only goes to the log (Err).
type Error struct {
	Status  int
	Detail  any // a string, or []Issue for 422
	Headers map[string]string
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%d %v: %v", e.Status, e.Detail, e.Err)
	}
	return fmt.Sprintf("%d %v", e.Status, e.Detail)
}

func (e *Error) Unwrap() error { return e.Err }

// Issue is one entry of a 422 body, in FastAPI's (pydantic v1) shape: the
// domain's validation issue, with Loc starting at where the input came from
// ("body", "header", "query", "path").
type Issue = problem.Issue

// The errors the API answers with. Each takes the client-facing detail.

// Unauthorized is 401 with a WWW-Authenticate challenge (RFC 6750 §3).
func Unauthorized(detail string) *Error {
	return &Error{Status: http.StatusUnauthorized, Detail: detail, Headers: map[string]string{"WWW-Authenticate": `Bearer realm="puguh"`}}
}

// MissingPermission is 403 naming the permission the handler needs.
func MissingPermission(permission string) *Error {
	return &Error{Status: http.StatusForbidden, Detail: "Missing permission: " + permission}
}

// Forbidden is 403 with a detail.
func Forbidden(detail string) *Error { return &Error{Status: http.StatusForbidden, Detail: detail} }

// NotFound is 404; FastAPI's own text when detail is empty.
func NotFound(detail string) *Error {
	if detail == "" {
		detail = "Not Found"
	}
	return &Error{Status: http.StatusNotFound, Detail: detail}
}

// Conflict is 409.
func Conflict(detail string) *Error { return &Error{Status: http.StatusConflict, Detail: detail} }

// BadRequest is 400.
func BadRequest(detail string) *Error { return &Error{Status: http.StatusBadRequest, Detail: detail} }

// TooLarge is 413 for a body over PUGUH_MAX_BODY_BYTES; err is the read's error.
func TooLarge(err error) *Error {
	return &Error{Status: http.StatusRequestEntityTooLarge, Detail: "Request body too large", Err: err}
}

// Invalid is 422 with the given issues.
func Invalid(issues ...Issue) *Error {
	return &Error{Status: http.StatusUnprocessableEntity, Detail: issues}
}

// TooManyRequests is 429 with Retry-After in whole seconds.
func TooManyRequests(retryAfter int) *Error {
	return &Error{
		Status:  http.StatusTooManyRequests,
		Detail:  fmt.Sprintf("Rate limit exceeded. Retry after %d seconds.", retryAfter),
		Headers: map[string]string{"Retry-After": strconv.Itoa(retryAfter)},
	}
}

// Internal is 500; the cause is logged, never shown.
func Internal(err error) *Error {
	return &Error{Status: http.StatusInternalServerError, Detail: "Internal server error", Err: err}
}

// statusClientClosed is written (to nobody) when the client disconnected.
const statusClientClosed = 499

// Abandoned reports whether the request's client went away (or the server
// is shutting down): a failure then is nobody's to read and not ours to
// report as an error.
func Abandoned(r *http.Request) bool { return r.Context().Err() != nil }

// unavailableRetryAfter is what clients are told to wait while the database is down.
const unavailableRetryAfter = "5"

// WriteError writes err as a FastAPI-shaped JSON error. An *Error is written as
// it says; storage.ErrUnavailable becomes 503 with Retry-After; anything else is
// a 500 whose cause goes only to the log. This is the one place errors reach HTTP.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	var e *Error
	switch {
	case errors.As(err, &e):
	case problem.As(err) != nil:
		e = FromProblem(problem.As(err))
	case r.Context().Err() != nil && errors.Is(err, r.Context().Err()):
		// The client went away (or the server is shutting down) while we
		// worked: nobody reads this answer, and it is not our failure.
		// 499 is nginx's "client closed request", for logs and metrics.
		e = &Error{Status: statusClientClosed, Detail: "Client closed request", Err: err}
	case errors.Is(err, storage.ErrUnavailable):
		e = &Error{Status: http.StatusServiceUnavailable, Detail: "Service temporarily unavailable",
			Headers: map[string]string{"Retry-After": unavailableRetryAfter}, Err: err}
	default:
		e = Internal(err)
	}
	log := Logger(r.Context())
	switch {
	case e.Status == statusClientClosed:
		log.Info("request abandoned by the client", "error", e.Err.Error())
	case e.Status >= 500:
		log.Error("request failed", "status", e.Status, "error", e.cause())
	case e.Err != nil:
		log.Debug("request refused", "status", e.Status, "error", e.Err.Error())
	}
	for k, v := range e.Headers {
		w.Header().Set(k, v)
	}
	WriteJSON(w, e.Status, struct {
		Detail any `json:"detail"`
	}{e.Detail})
}

func (e *Error) cause() string {
	if e.Err != nil {
		return e.Err.Error()
	}
	return fmt.Sprint(e.Detail)
}

// WriteJSON writes v as JSON with status. API responses may carry credentials
// or personal data, so none of them is stored by caches (docs/security.md, "Input").
func WriteJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		body = []byte(`{"detail":"Internal server error"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// AsError returns the HTTP answer err asks for when it is an *Error or a
// domain problem, and false for anything else (a failure: a 5xx).
func AsError(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	if p := problem.As(err); p != nil {
		return FromProblem(p), true
	}
	return nil, false
}

// FromProblem is the HTTP answer to a domain problem. The issues of an
// Invalid problem name fields of the request body, so their loc starts
// with "body".
func FromProblem(p *problem.Error) *Error {
	e := &Error{Detail: p.Detail, Err: p.Err}
	switch p.Kind {
	case problem.Invalid:
		e.Status = http.StatusUnprocessableEntity
		issues := make([]Issue, len(p.Issues))
		for i, is := range p.Issues {
			issues[i] = Issue{Loc: append([]any{"body"}, is.Loc...), Msg: is.Msg, Type: is.Type}
		}
		e.Detail = issues
	case problem.Unauthenticated:
		e.Status = http.StatusUnauthorized
		e.Headers = map[string]string{"WWW-Authenticate": `Bearer realm="puguh"`}
	case problem.Forbidden:
		e.Status = http.StatusForbidden
	case problem.NotFound:
		e.Status = http.StatusNotFound
	case problem.Conflict:
		e.Status = http.StatusConflict
	case problem.Throttled:
		e.Status = http.StatusTooManyRequests
		e.Headers = map[string]string{"Retry-After": strconv.Itoa(p.RetryAfter)}
	case problem.BadRequest:
		e.Status = http.StatusBadRequest
	default:
		return Internal(p)
	}
	return e
}

// HandlerFunc is an http.HandlerFunc that returns its error for WriteError.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

func (f HandlerFunc) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := f(w, r); err != nil {
		WriteError(w, r, err)
	}
}

// NotFoundHandler answers unknown paths with FastAPI's 404 body; under
// /api/v1 the answer draws on the anonymous budget (LimitAnonymous).
func NotFoundHandler() http.Handler {
	return HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		if err := LimitAnonymous(w, r); err != nil {
			return err
		}
		return NotFound("")
	})
}

// Validator collects 422 issues for one request.
type Validator struct{ issues []Issue }

// Add records an issue at loc (e.g. "body", "email").
func (v *Validator) Add(msg, typ string, loc ...any) {
	v.issues = append(v.issues, Issue{Loc: loc, Msg: msg, Type: typ})
}

// Required records a missing-field issue, FastAPI style.
func (v *Validator) Required(loc ...any) { v.Add("field required", "value_error.missing", loc...) }

// Err returns the 422 error, or nil when nothing was recorded.
func (v *Validator) Err() error {
	if len(v.issues) == 0 {
		return nil
	}
	return Invalid(v.issues...)
}

// logger is kept under this key in the request context.
type ctxKey int

const (
	loggerKey ctxKey = iota
	infoKey
)

// Logger returns the request's logger (with its request id), or slog's default.
func Logger(ctx interface{ Value(any) any }) *slog.Logger {
	if l, ok := ctx.Value(loggerKey).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}
