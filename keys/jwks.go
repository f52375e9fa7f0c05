package keys

import (
	"bytes"
	"net/http"
	"time"
)

// JWKSHandler serves GET /.well-known/jwks.json: the published keys with
// public members only (RFC 7517 §5), a Cache-Control max-age of JWKSMaxAge
// (shorter than PrePublish, so a cached copy always holds the next key before
// it signs), and a strong ETag with 304 on If-None-Match (RFC 9110 §13.1.2).
// The body and headers are computed on reload; a request touches neither the
// database nor the JSON encoder.
func (m *Manager) JWKSHandler() http.Handler {
	return http.HandlerFunc(m.serveJWKS)
}

func (m *Manager) serveJWKS(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	set := m.set.Load()
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", set.cacheControl)
	h.Set("ETag", set.etag)
	// ServeContent answers If-None-Match with 304, handles HEAD and sets
	// Content-Length; a zero modtime keeps Last-Modified out of it.
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(set.jwks))
}
