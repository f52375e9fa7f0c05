// Package rest serves Puguh's REST API under /api/v1: identity (register,
// login, refresh, logout), organizations and their members, IAM users, API
// keys, service accounts and applications. Each area is a small struct with a
// Mount method, and each handler is an adapter: it decodes the request, calls
// the domain service that holds the rule (provider/identity, orgs,
// credentials, clients) and encodes the answer.
package rest

import (
	"errors"
	"net/http"
	"strings"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"github.com/arsaka/puguh/provider/authz"
	"github.com/arsaka/puguh/provider/httpapi"
	"github.com/arsaka/puguh/storage"
)

// principal returns the authenticated caller; the auth middleware guarantees one.
func principal(r *http.Request) *authz.Principal {
	return authz.FromContext(r.Context())
}

// pathID reads a UUID path variable, 422 when malformed.
func pathID(r *http.Request, name string) (string, error) {
	v := mux.Vars(r)[name]
	if _, err := uuid.Parse(v); err != nil || len(v) != 36 {
		return "", httpapi.Invalid(httpapi.Issue{Loc: []any{"path", name}, Msg: "value is not a valid uuid", Type: "type_error.uuid"})
	}
	return strings.ToLower(v), nil
}

// notFoundAs turns storage.ErrNotFound into a 404 with detail.
func notFoundAs(err error, detail string) error {
	if errors.Is(err, storage.ErrNotFound) {
		return httpapi.NotFound(detail)
	}
	return err
}
