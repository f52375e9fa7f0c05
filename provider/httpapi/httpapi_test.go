package httpapi_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/arsaka/puguh/provider/httpapi"
	"github.com/arsaka/puguh/storage"
)

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a slog handler.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// payload is what the test's POST /items decodes: one field of each kind the
// 422 type strings distinguish.
type payload struct {
	Email   string   `json:"email"`
	Age     int      `json:"age"`
	Admin   bool     `json:"admin"`
	Score   float64  `json:"score"`
	Tags    []string `json:"tags"`
	Profile struct {
		Name string `json:"name"`
	} `json:"profile"`
	Members []struct {
		Role string `json:"role"`
	} `json:"members"`
}

const maxBody = 1 << 20

// testAPI is the real plumbing (router, 404/405 handlers, route labels,
// Middleware, metrics) around handlers that fail in every way the API can.
type testAPI struct {
	handler http.Handler
	logs    *syncBuffer
}

func newTestAPI(t *testing.T) *testAPI {
	t.Helper()
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	reg := prometheus.NewRegistry()

	r := mux.NewRouter()
	r.NotFoundHandler = httpapi.NotFoundHandler()
	r.MethodNotAllowedHandler = httpapi.MethodNotAllowedHandler(r)
	r.Use(httpapi.RouteLabel)
	r.Handle("/items/{id}", httpapi.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		httpapi.WriteJSON(w, http.StatusOK, map[string]string{"id": mux.Vars(r)["id"]})
		return nil
	})).Methods(http.MethodGet, http.MethodDelete)
	r.Handle("/items", httpapi.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		var p payload
		if err := httpapi.DecodeJSON(w, r, maxBody, &p); err != nil {
			return err
		}
		httpapi.WriteJSON(w, http.StatusCreated, map[string]string{"email": p.Email})
		return nil
	})).Methods(http.MethodPost)
	r.Handle("/fail/{kind}", httpapi.HandlerFunc(failing)).Methods(http.MethodGet)
	r.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{})).Methods(http.MethodGet)

	return &testAPI{handler: httpapi.Middleware(log, httpapi.NewMetrics(reg), r), logs: logs}
}

// failing returns (or panics with) the error its {kind} names.
func failing(w http.ResponseWriter, r *http.Request) error {
	switch mux.Vars(r)["kind"] {
	case "unauthorized":
		return httpapi.Unauthorized("Not authenticated")
	case "permission":
		return httpapi.MissingPermission("x")
	case "forbidden":
		return httpapi.Forbidden("Not a member of this organization")
	case "notfound":
		return httpapi.NotFound("")
	case "notfound-detail":
		return httpapi.NotFound("User not found")
	case "conflict":
		return httpapi.Conflict("Email already registered")
	case "badrequest":
		return httpapi.BadRequest("Invalid cursor")
	case "invalid":
		var v httpapi.Validator
		v.Required("body", "email")
		v.Add("ensure this value has at least 8 characters", "value_error.any_str.min_length", "body", "password")
		return v.Err()
	case "valid":
		var v httpapi.Validator
		if err := v.Err(); err != nil {
			return err
		}
		httpapi.WriteJSON(w, http.StatusOK, map[string]bool{"valid": true})
		return nil
	case "ratelimited":
		return httpapi.TooManyRequests(30)
	case "plain":
		return errors.New("boom: the flux capacitor melted")
	case "internal":
		return httpapi.Internal(errors.New("boom: wrapped cause"))
	case "unavailable":
		return fmt.Errorf("user by id: %w", storage.ErrUnavailable)
	case "panic":
		panic("kaboom in the handler")
	}
	return nil
}

type response struct {
	status int
	header http.Header
	body   string
}

func (a *testAPI) do(t *testing.T, req *http.Request) response {
	t.Helper()
	rec := httptest.NewRecorder()
	a.handler.ServeHTTP(rec, req)
	return response{status: rec.Code, header: rec.Header(), body: rec.Body.String()}
}

func (a *testAPI) get(t *testing.T, path string) response {
	t.Helper()
	return a.do(t, httptest.NewRequest(http.MethodGet, path, nil))
}

// assertJSONError checks the things every error response shares.
func assertJSONError(t *testing.T, got response, status int, body string) {
	t.Helper()
	if got.status != status {
		t.Errorf("status = %d, want %d (body %s)", got.status, status, got.body)
	}
	if got.body != body {
		t.Errorf("body =\n  %s\nwant\n  %s", got.body, body)
	}
	for k, want := range map[string]string{
		"Content-Type":           "application/json",
		"Cache-Control":          "no-store",
		"X-Content-Type-Options": "nosniff",
	} {
		if v := got.header.Get(k); v != want {
			t.Errorf("%s = %q, want %q", k, v, want)
		}
	}
}

func TestErrorResponses(t *testing.T) {
	tests := []struct {
		name    string
		method  string
		path    string
		status  int
		body    string
		headers map[string]string // exact values; "" means the header must be absent
		logs    []string          // substrings the log must contain
	}{
		{name: "401 carries a Bearer challenge", path: "/fail/unauthorized", status: 401,
			body:    `{"detail":"Not authenticated"}`,
			headers: map[string]string{"WWW-Authenticate": `Bearer realm="puguh"`, "Retry-After": ""}},
		{name: "403 names the missing permission", path: "/fail/permission", status: 403,
			body: `{"detail":"Missing permission: x"}`, headers: map[string]string{"WWW-Authenticate": ""}},
		{name: "403 with a detail", path: "/fail/forbidden", status: 403,
			body: `{"detail":"Not a member of this organization"}`},
		{name: "404 for an unknown path", path: "/no/such/thing", status: 404,
			body: `{"detail":"Not Found"}`},
		{name: "404 from a handler without detail", path: "/fail/notfound", status: 404,
			body: `{"detail":"Not Found"}`},
		{name: "404 from a handler with detail", path: "/fail/notfound-detail", status: 404,
			body: `{"detail":"User not found"}`},
		{name: "405 lists the allowed methods", method: http.MethodPut, path: "/items/7", status: 405,
			body: `{"detail":"Method Not Allowed"}`, headers: map[string]string{"Allow": "GET, DELETE"}},
		{name: "405 on a POST-only route", method: http.MethodGet, path: "/items", status: 405,
			body: `{"detail":"Method Not Allowed"}`, headers: map[string]string{"Allow": "POST"}},
		{name: "400", path: "/fail/badrequest", status: 400,
			body: `{"detail":"Invalid cursor"}`},
		{name: "409", path: "/fail/conflict", status: 409,
			body: `{"detail":"Email already registered"}`},
		{name: "422 is a list of loc, msg, type", path: "/fail/invalid", status: 422,
			body: `{"detail":[{"loc":["body","email"],"msg":"field required","type":"value_error.missing"},` +
				`{"loc":["body","password"],"msg":"ensure this value has at least 8 characters","type":"value_error.any_str.min_length"}]}`},
		{name: "429 says when to retry", path: "/fail/ratelimited", status: 429,
			body:    `{"detail":"Rate limit exceeded. Retry after 30 seconds."}`,
			headers: map[string]string{"Retry-After": "30"}},
		{name: "500 for a plain error hides the cause", path: "/fail/plain", status: 500,
			body: `{"detail":"Internal server error"}`,
			logs: []string{`"msg":"request failed"`, "the flux capacitor melted"}},
		{name: "500 from Internal hides the cause", path: "/fail/internal", status: 500,
			body: `{"detail":"Internal server error"}`,
			logs: []string{"boom: wrapped cause"}},
		{name: "500 for a panic keeps the stack in the log", path: "/fail/panic", status: 500,
			body: `{"detail":"Internal server error"}`,
			logs: []string{`"msg":"panic"`, "kaboom in the handler", "goroutine ", "httpapi_test.failing", "runtime/debug.Stack"}},
		{name: "503 for an unavailable database", path: "/fail/unavailable", status: 503,
			body:    `{"detail":"Service temporarily unavailable"}`,
			headers: map[string]string{"Retry-After": "5"},
			logs:    []string{"user by id: database unavailable"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			api := newTestAPI(t)
			method := tc.method
			if method == "" {
				method = http.MethodGet
			}
			got := api.do(t, httptest.NewRequest(method, tc.path, nil))
			assertJSONError(t, got, tc.status, tc.body)
			for k, want := range tc.headers {
				if v := got.header.Get(k); v != want {
					t.Errorf("%s = %q, want %q", k, v, want)
				}
			}
			logs := api.logs.String()
			for _, want := range tc.logs {
				if !strings.Contains(logs, want) {
					t.Errorf("log lacks %q:\n%s", want, logs)
				}
			}
			// Whatever went wrong inside stays out of the body.
			for _, secret := range []string{"flux capacitor", "wrapped cause", "kaboom", "goroutine", "database unavailable"} {
				if strings.Contains(got.body, secret) {
					t.Errorf("body leaks %q: %s", secret, got.body)
				}
			}
		})
	}
}

func TestValidatorWithoutIssuesIsNil(t *testing.T) {
	got := newTestAPI(t).get(t, "/fail/valid")
	if got.status != http.StatusOK || got.body != `{"valid":true}` {
		t.Fatalf("got %d %s, want 200 {\"valid\":true}", got.status, got.body)
	}
}

func TestPanicAfterHeadersAbortsTheResponse(t *testing.T) {
	// Once a handler has started its response, recovery cannot turn it into a
	// 500. The connection must then be dropped (as net/http does for an
	// unrecovered panic) so the client sees a truncated response as an error,
	// never as a complete 202 with half a body.
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	h := httpapi.Middleware(log, nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, `{"items":[`)
		panic("late panic")
	}))
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = slog.NewLogLogger(slog.NewJSONHandler(io.Discard, nil), slog.LevelError)
	srv.Start()
	t.Cleanup(srv.Close)

	resp, err := srv.Client().Get(srv.URL + "/")
	if err == nil {
		body, readErr := io.ReadAll(resp.Body)
		resp.Body.Close()
		if readErr == nil {
			t.Fatalf("client got a complete %d response %q; want the connection dropped", resp.StatusCode, body)
		}
	}
	if !strings.Contains(logs.String(), "late panic") {
		t.Fatalf("panic not logged:\n%s", logs)
	}
}

func TestAbortHandlerPanicPropagates(t *testing.T) {
	// http.ErrAbortHandler is net/http's way to drop a connection; the recovery
	// must hand it on rather than turning it into a 500.
	h := httpapi.Middleware(slog.New(slog.NewJSONHandler(io.Discard, nil)), nil,
		http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) }))
	defer func() {
		if p := recover(); p != http.ErrAbortHandler {
			t.Fatalf("recovered %v, want http.ErrAbortHandler", p)
		}
	}()
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	t.Fatal("ServeHTTP returned normally")
}
