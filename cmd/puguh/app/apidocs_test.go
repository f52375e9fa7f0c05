package app_test

import (
	"compress/gzip"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
)

// rawGet fetches path without Go's transparent gzip handling, so the test
// sees the encoding the server chose.
func rawGet(t *testing.T, e *apptest.Env, path string, headers ...string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.URL+path, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := (&http.Client{Transport: &http.Transport{DisableCompression: true}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// /docs/api is served by Puguh itself: the page with the strict policy
// Swagger UI needs (no inline script or style, nothing from elsewhere), the
// vendored bundle gzipped to browsers and plain to clients that do not
// accept gzip, revalidated by ETag, and the licences; nothing else of the
// package, and no other path is served from the asset directory.
func TestAPIDocsServed(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	resp, body := rawGet(t, e, "/docs/api")
	const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
		"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Security-Policy") != csp || resp.Header.Get("X-Frame-Options") != "DENY" ||
		!strings.Contains(string(body), `src="/docs/api/assets/swagger-ui-bundle.js"`) || !strings.Contains(string(body), "Swagger UI 5.") {
		t.Fatalf("page: %d %v\n%.2000s", resp.StatusCode, resp.Header, body)
	}
	if strings.Contains(string(body), "<script>") || strings.Contains(string(body), "style=") {
		t.Error("the page has an inline script or style")
	}

	resp, gz := rawGet(t, e, "/docs/api/assets/swagger-ui-bundle.js", "Accept-Encoding", "gzip, deflate, br")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Encoding") != "gzip" || resp.Header.Get("Content-Type") != "text/javascript; charset=utf-8" ||
		resp.Header.Get("Vary") != "Accept-Encoding" || resp.Header.Get("ETag") == "" {
		t.Fatalf("bundle, gzip: %d %v", resp.StatusCode, resp.Header)
	}
	zr, err := gzip.NewReader(strings.NewReader(string(gz)))
	if err != nil {
		t.Fatal(err)
	}
	unzipped, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	resp, plain := rawGet(t, e, "/docs/api/assets/swagger-ui-bundle.js")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Encoding") != "" || string(plain) != string(unzipped) ||
		!strings.Contains(string(plain), "SwaggerUIBundle") {
		t.Fatalf("bundle, no gzip: %d %v, %d bytes (gzip gave %d)", resp.StatusCode, resp.Header, len(plain), len(unzipped))
	}
	etag := resp.Header.Get("ETag")
	if resp, body := rawGet(t, e, "/docs/api/assets/swagger-ui-bundle.js", "If-None-Match", etag, "Accept-Encoding", "gzip"); resp.StatusCode != http.StatusNotModified || len(body) != 0 {
		t.Errorf("revalidation: %d, %d bytes", resp.StatusCode, len(body))
	}
	if resp, body := rawGet(t, e, "/docs/api/assets/LICENSE"); resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "Apache License") {
		t.Errorf("LICENSE: %d", resp.StatusCode)
	}
	for _, path := range []string{"/docs/api/assets/README.md", "/docs/api/assets/update.sh", "/docs/api/assets/swagger-ui-bundle.js.gz",
		"/docs/api/assets/..%2Flayout.html", "/docs/api/assets/index.html"} {
		if resp, body := rawGet(t, e, path); resp.StatusCode == http.StatusOK || strings.Contains(string(body), "SwaggerUIBundle") {
			t.Errorf("GET %s: %d, want it refused", path, resp.StatusCode)
		}
	}
}
