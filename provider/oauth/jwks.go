package oauth

import (
	"bytes"
	"net/http"
	"time"

	"github.com/arsaka/puguh/keys"
)

// JWKSSource is the published key set (keys.Manager).
type JWKSSource interface {
	JWKS() keys.JWKSDocument
}

// JWKSHandler serves GET /.well-known/jwks.json: the key manager's document
// with its Cache-Control, and a strong ETag with 304 on If-None-Match
// (RFC 9110 §13.1.2). A resource server refreshing its key cache is never
// throttled and never waits on the database.
func JWKSHandler(src JWKSSource) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		doc := src.JWKS()
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", doc.CacheControl)
		h.Set("ETag", doc.ETag)
		// ServeContent answers If-None-Match with 304, handles HEAD and sets
		// Content-Length; a zero modtime keeps Last-Modified out of it.
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(doc.Body))
	})
}
