// Package problem is how Puguh's domain packages say that a request cannot
// be done: an Error of a Kind (not found, forbidden, invalid, …) with the
// words the caller may see, kept apart from the cause that only goes to the
// log. It knows nothing of HTTP: the REST API turns a Kind into a status in
// one place (provider/httpapi), the pages into an error page, the command
// line into a line on stderr.
package problem

import (
	"errors"
	"fmt"
	"strconv"
)

// Kind says what sort of problem it is.
type Kind uint8

// The kinds. Each surface maps them to its own answers.
const (
	// Invalid: the input failed validation; Issues says where and why.
	Invalid Kind = iota + 1
	// Unauthenticated: the credentials are missing or wrong.
	Unauthenticated
	// Forbidden: the caller may not do this (a missing permission, rank).
	Forbidden
	// NotFound: no such thing, or one the caller may not know of.
	NotFound
	// Conflict: the state does not allow it (taken email, last owner).
	Conflict
	// Throttled: a rate limit is spent; RetryAfter says for how long.
	Throttled
	// BadRequest: the request is malformed in a way no field names.
	BadRequest
)

// Issue is one validation failure. Loc is the path of the field within the
// input, e.g. ["email"] or ["redirect_uris", 2]; the REST API prefixes it
// with where the input came from ("body").
type Issue struct {
	Loc  []any  `json:"loc"`
	Msg  string `json:"msg"`
	Type string `json:"type"`
}

// Error is a problem with what the caller may be told (Detail, Issues,
// RetryAfter) apart from the cause, which is only logged (Err).
type Error struct {
	Kind   Kind
	Detail string
	Issues []Issue
	// RetryAfter is whole seconds, for Throttled.
	RetryAfter int
	// Permission is the missing permission of a Forbidden problem, if any.
	Permission string
	Err        error
}

func (e *Error) Error() string {
	msg := e.Detail
	if e.Kind == Invalid {
		msg = fmt.Sprintf("invalid: %v", e.Issues)
	}
	if e.Err != nil {
		return msg + ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// As returns the *Error in err's chain, or nil.
func As(err error) *Error {
	var p *Error
	if errors.As(err, &p) {
		return p
	}
	return nil
}

// Is reports whether err is a problem of kind k.
func Is(err error, k Kind) bool {
	p := As(err)
	return p != nil && p.Kind == k
}

// NotFoundf is NotFound with a detail such as "Organization not found".
func NotFoundf(detail string) *Error { return &Error{Kind: NotFound, Detail: detail} }

// Forbid is Forbidden with a detail.
func Forbid(detail string) *Error { return &Error{Kind: Forbidden, Detail: detail} }

// MissingPermission is Forbidden naming the permission the caller lacks, in
// the guide's words: "Missing permission: organization.members.create".
func MissingPermission(permission string) *Error {
	return &Error{Kind: Forbidden, Detail: "Missing permission: " + permission, Permission: permission}
}

// CannotManageRole is Forbidden for a role above the caller's rank.
func CannotManageRole(role string) *Error {
	return &Error{Kind: Forbidden, Detail: "Cannot manage the " + role + " role"}
}

// Conflictf is Conflict with a detail.
func Conflictf(detail string) *Error { return &Error{Kind: Conflict, Detail: detail} }

// Unauthenticatedf is Unauthenticated with a detail.
func Unauthenticatedf(detail string) *Error { return &Error{Kind: Unauthenticated, Detail: detail} }

// Throttle is Throttled for retryAfter whole seconds (at least 1), in the
// guide's words: "Rate limit exceeded. Retry after N seconds."
func Throttle(retryAfter int) *Error {
	retryAfter = max(retryAfter, 1)
	return &Error{Kind: Throttled, RetryAfter: retryAfter,
		Detail: "Rate limit exceeded. Retry after " + strconv.Itoa(retryAfter) + " seconds."}
}

// Bad is BadRequest with a detail.
func Bad(detail string) *Error { return &Error{Kind: BadRequest, Detail: detail} }

// Invalidf is Invalid with the given issues.
func Invalidf(issues ...Issue) *Error { return &Error{Kind: Invalid, Issues: issues} }

// Validator collects the issues of one input, so that every problem with it
// is reported at once.
type Validator struct{ issues []Issue }

// Add records an issue at loc (e.g. "email", or "redirect_uris", 2).
func (v *Validator) Add(msg, typ string, loc ...any) {
	v.issues = append(v.issues, Issue{Loc: loc, Msg: msg, Type: typ})
}

// Required records a missing field, in FastAPI's words.
func (v *Validator) Required(loc ...any) { v.Add("field required", "value_error.missing", loc...) }

// Err returns an Invalid problem with the issues, or nil when there are none.
func (v *Validator) Err() error {
	if len(v.issues) == 0 {
		return nil
	}
	return Invalidf(v.issues...)
}
