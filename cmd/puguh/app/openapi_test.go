package app_test

import (
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gorilla/mux"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
)

// TestOpenAPICoversEveryRoute walks the router and fails on any /api/v1 route
// (path template and method) the served OpenAPI document does not describe,
// and on any operation of the document that no route serves.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	c := e.LoadContract()
	if v := c.Doc.OpenAPI; v != "3.1.0" {
		t.Fatalf("openapi %q, want 3.1.0", v)
	}
	param := regexp.MustCompile(`\{(\w+):[^}]*\}`)
	served := map[string]bool{}
	err := e.App.Router().Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tpl, err := route.GetPathTemplate()
		if err != nil || !strings.HasPrefix(tpl, "/api/v1/") {
			return nil
		}
		tpl = param.ReplaceAllString(tpl, "{$1}")
		methods, err := route.GetMethods()
		if err != nil {
			t.Errorf("%s: a route without methods", tpl)
			return nil
		}
		for _, m := range methods {
			if m == http.MethodHead {
				continue // served with GET
			}
			served[m+" "+tpl] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(served) < 30 {
		t.Fatalf("walked only %d /api/v1 routes: %v", len(served), served)
	}
	documented := map[string]bool{}
	for path, item := range c.Doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+path] = true
		}
	}
	var missing, phantom []string
	for r := range served {
		if !documented[r] {
			missing = append(missing, r)
		}
	}
	for r := range documented {
		if !served[r] {
			phantom = append(phantom, r)
		}
	}
	slices.Sort(missing)
	slices.Sort(phantom)
	if len(missing) > 0 {
		t.Errorf("routes missing from provider/rest/openapi.yaml:\n  %s", strings.Join(missing, "\n  "))
	}
	if len(phantom) > 0 {
		t.Errorf("operations of provider/rest/openapi.yaml that no route serves:\n  %s", strings.Join(phantom, "\n  "))
	}
}

// TestOpenAPIDocumentServed: GET /api/v1/openapi.json is the document as
// JSON, public, with the anonymous budget's headers; every operation names
// its security and every /api/v1 response its rate-limit headers.
func TestOpenAPIDocumentServed(t *testing.T) {
	e := apptest.Start(t, apptest.Options{})
	r := e.Do(http.MethodGet, "/api/v1/openapi.json", nil)
	if r.Status != http.StatusOK || r.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, Content-Type %q: %.200s", r.Status, r.Header.Get("Content-Type"), r.Body)
	}
	if r.Header.Get("X-RateLimit-Limit") == "" {
		t.Fatal("no X-RateLimit-Limit on /api/v1/openapi.json")
	}
	c := e.LoadContract()
	for _, name := range []string{"bearer", "apiKey", "organization"} {
		if c.Doc.Components.SecuritySchemes[name] == nil {
			t.Errorf("no security scheme %q", name)
		}
	}
	if c.Doc.Components.Parameters["ApplicationHeader"] == nil {
		t.Error("no X-Application-ID parameter")
	}
	for path, item := range c.Doc.Paths.Map() {
		for method, op := range item.Operations() {
			if op.Responses.Status(422) == nil && op.RequestBody != nil {
				t.Errorf("%s %s takes a body but documents no 422", method, path)
			}
			for code, resp := range op.Responses.Map() {
				for _, h := range []string{"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} {
					if resp.Value.Headers[h] == nil {
						t.Errorf("%s %s %s: no %s header", method, path, code, h)
					}
				}
			}
		}
	}
}
