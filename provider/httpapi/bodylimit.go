package httpapi

import (
	"bytes"
	"errors"
	"io"
	"net/http"
)

// RefuseBody answers a request whose body LimitBody would not pass on:
// status is 413 for a body over the limit, 400 for one that could not be
// read. Each part of the site answers in its own shape.
type RefuseBody func(w http.ResponseWriter, r *http.Request, status int)

// LimitBody reads the request body, at most max bytes, before next sees it,
// and answers with refuse instead when the body is larger or cannot be read.
// It is for handlers that parse bodies in code we do not own (fosite, and
// net/http's ParseForm, which reads up to 10 MB and reports an error of its
// own): with it, every handler behind it sees either the whole body, from
// memory, or no request at all. A Content-Length over max is refused before
// reading anything.
func LimitBody(max int64, refuse RefuseBody) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Body == nil || r.Body == http.NoBody {
				next.ServeHTTP(w, r)
				return
			}
			if r.ContentLength > max {
				// net/http closes the connection after the answer rather
				// than read a large unread body.
				refuse(w, r, http.StatusRequestEntityTooLarge)
				return
			}
			body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
			if err != nil {
				var tooBig *http.MaxBytesError
				if errors.As(err, &tooBig) {
					refuse(w, r, http.StatusRequestEntityTooLarge)
					return
				}
				Logger(r.Context()).Debug("request body could not be read", "error", err)
				refuse(w, r, http.StatusBadRequest)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.ContentLength = int64(len(body))
			next.ServeHTTP(w, r)
		})
	}
}
