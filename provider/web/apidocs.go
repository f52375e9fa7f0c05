package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"strconv"
	"strings"

	"github.com/gorilla/mux"

	"github.com/arsaka/puguh/provider/httpapi"
	"github.com/arsaka/puguh/templates"
)

// apiDocsCSP is the Content-Security-Policy of /docs/api: the pages' own
// (every source 'self' or none) with just what Swagger UI needs beyond a
// form page: script-src 'self' for the bundle and its start-up script,
// connect-src 'self' to fetch /api/v1/openapi.json and send "Try it out"
// requests to this server, and data: images, which its stylesheet uses for
// its icons (an image, unlike a script or a style, cannot run anything). No
// inline script or style, no eval, nothing from another origin.
const apiDocsCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// apiDocsAsset is a vendored file served under /docs/api/assets/.
type apiDocsAsset struct {
	body        []byte // as stored: gzipped when gzipped is set
	gzipped     bool
	contentType string
	etag        string
}

// apiDocsFiles are the assets by URL name: what the page loads and the
// licences that must travel with them. Nothing else of the package is served.
var apiDocsFiles = map[string]struct {
	path, contentType string
}{
	"swagger-ui-bundle.js":    {"apidocs/swagger-ui-bundle.js.gz", "text/javascript; charset=utf-8"},
	"swagger-ui.css":          {"apidocs/swagger-ui.css.gz", "text/css; charset=utf-8"},
	"LICENSE":                 {"apidocs/LICENSE", "text/plain; charset=utf-8"},
	"VERSION":                 {"apidocs/VERSION", "text/plain; charset=utf-8"},
	"NOTICE":                  {"apidocs/NOTICE", "text/plain; charset=utf-8"},
	"THIRD-PARTY-NOTICES.txt": {"apidocs/THIRD-PARTY-NOTICES.txt", "text/plain; charset=utf-8"},
}

// loadAPIDocs reads the vendored assets once, at start-up, and the release
// they are (apidocs/VERSION, written by apidocs/update.sh).
func loadAPIDocs() (map[string]*apiDocsAsset, string, error) {
	out := map[string]*apiDocsAsset{}
	for name, f := range apiDocsFiles {
		b, err := fs.ReadFile(templates.FS, f.path)
		if err != nil {
			return nil, "", fmt.Errorf("web: api docs asset %s: %w", name, err)
		}
		sum := sha256.Sum256(b)
		out[name] = &apiDocsAsset{body: b, gzipped: strings.HasSuffix(f.path, ".gz"), contentType: f.contentType,
			etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
	}
	return out, strings.TrimSpace(string(out["VERSION"].body)), nil
}

// mountAPIDocs registers the REST reference page and its assets.
func (p *Pages) mountAPIDocs(r *mux.Router) {
	r.HandleFunc("/docs/api", p.apiDocs).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/docs/api/assets/{file}", p.apiDocsAsset).Methods(http.MethodGet, http.MethodHead)
}

// apiDocs serves /docs/api: the page's frame, with the CSP Swagger UI needs.
// The document is fetched by the page's script, so this page holds nothing
// but static markup and is the same for everyone.
func (p *Pages) apiDocs(w http.ResponseWriter, r *http.Request) {
	var buf bytes.Buffer
	if err := p.pages["api_docs"].ExecuteTemplate(&buf, "layout", struct{ Version string }{p.apiDocsVersion}); err != nil {
		httpapi.Logger(r.Context()).Error("web: render page", "page", "api_docs", "error", err)
		p.Headers(w)
		http.Error(w, "Internal server error", http.StatusInternalServerError)
		return
	}
	p.Headers(w)
	h := w.Header()
	h.Set("Content-Security-Policy", apiDocsCSP)
	h.Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(buf.Bytes())
	}
}

// apiDocsAsset serves one vendored file. The gzipped ones go out as stored,
// with Content-Encoding: gzip, to every client that accepts it (every
// browser); any other client gets them decompressed on the fly.
func (p *Pages) apiDocsAsset(w http.ResponseWriter, r *http.Request) {
	a, ok := p.apiDocsAssets[mux.Vars(r)["file"]]
	if !ok {
		httpapi.NotFoundHandler().ServeHTTP(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "public, max-age=3600")
	h.Set("ETag", a.etag)
	if a.gzipped {
		h.Set("Vary", "Accept-Encoding")
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" && strings.Contains(inm, a.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	switch {
	case !a.gzipped || acceptsGzip(r.Header.Get("Accept-Encoding")):
		if a.gzipped {
			h.Set("Content-Encoding", "gzip")
		}
		h.Set("Content-Length", strconv.Itoa(len(a.body)))
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			_, _ = w.Write(a.body)
		}
	default:
		zr, err := gzip.NewReader(bytes.NewReader(a.body))
		if err != nil {
			p.unavailable(w, r, fmt.Errorf("web: api docs asset: %w", err))
			return
		}
		w.WriteHeader(http.StatusOK)
		if r.Method != http.MethodHead {
			_, _ = io.Copy(w, zr)
		}
	}
}

// acceptsGzip reads an Accept-Encoding header (RFC 9110 §12.5.3): gzip
// listed with a q above 0, or, when gzip is not listed, * so listed.
func acceptsGzip(header string) bool {
	gzipQ, starQ := -1.0, -1.0
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		for _, param := range strings.Split(params, ";") {
			k, v, _ := strings.Cut(strings.TrimSpace(param), "=")
			if strings.EqualFold(strings.TrimSpace(k), "q") {
				f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if err != nil {
					f = 0
				}
				q = f
			}
		}
		switch strings.ToLower(strings.TrimSpace(coding)) {
		case "gzip", "x-gzip":
			gzipQ = max(gzipQ, q)
		case "*":
			starQ = max(starQ, q)
		}
	}
	if gzipQ >= 0 {
		return gzipQ > 0
	}
	return starQ > 0
}
