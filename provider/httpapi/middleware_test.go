package httpapi_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

var generatedID = regexp.MustCompile(`^[0-9a-f]{24}$`)

func TestRequestID(t *testing.T) {
	long64 := strings.Repeat("a", 64)
	tests := []struct {
		name  string
		given string // "" sends no header
		echo  bool   // true: the given id comes back; false: a fresh one replaces it
	}{
		{name: "absent", given: "", echo: false},
		{name: "plain", given: "abc-123_X.y", echo: true},
		{name: "uuid", given: "3f2b8c1e-9d4a-4b7e-8a61-0c2d5e7f9a10", echo: true},
		{name: "64 characters", given: long64, echo: true},
		{name: "65 characters", given: long64 + "a", echo: false},
		{name: "4 KB", given: strings.Repeat("b", 4096), echo: false},
		{name: "spaces", given: "id with spaces", echo: false},
		{name: "log injection", given: `x","level":"ERROR`, echo: false},
		{name: "newline escape", given: "a%0Ab", echo: false},
		{name: "non-ASCII", given: "idé", echo: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			api := newTestAPI(t)
			req := httptest.NewRequest(http.MethodGet, "/items/1", nil)
			if tc.given != "" {
				req.Header.Set("X-Request-ID", tc.given)
			}
			got := api.do(t, req)
			if got.status != http.StatusOK {
				t.Fatalf("status = %d", got.status)
			}
			id := got.header.Get("X-Request-ID")
			if tc.echo {
				if id != tc.given {
					t.Fatalf("X-Request-ID = %q, want it echoed as %q", id, tc.given)
				}
			} else if !generatedID.MatchString(id) || id == tc.given {
				t.Fatalf("X-Request-ID = %q, want a fresh 24-hex-digit id", id)
			}
			// The access log line carries the same id.
			entries := logEntries(t, api.logs.String())
			if len(entries) != 1 || entries[0]["request_id"] != id || entries[0]["msg"] != "request" {
				t.Fatalf("log entries %v, want one access line with request_id %q", entries, id)
			}
		})
	}
}

func TestRequestIDsDiffer(t *testing.T) {
	api := newTestAPI(t)
	seen := map[string]bool{}
	for i := 0; i < 50; i++ {
		id := api.get(t, "/items/1").header.Get("X-Request-ID")
		if seen[id] {
			t.Fatalf("request id %q handed out twice", id)
		}
		seen[id] = true
	}
}

func logEntries(t *testing.T, logs string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(logs))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line is not JSON: %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

func TestAccessLog(t *testing.T) {
	api := newTestAPI(t)
	req := httptest.NewRequest(http.MethodDelete, "/items/42?x=1", nil)
	req.RemoteAddr = "127.0.0.1:53211"
	api.do(t, req)
	entries := logEntries(t, api.logs.String())
	if len(entries) != 1 {
		t.Fatalf("got %d log entries, want 1: %v", len(entries), entries)
	}
	e := entries[0]
	want := map[string]any{
		"level": "INFO", "msg": "request", "method": "DELETE", "path": "/items/42",
		"route": "/items/{id}", "status": float64(200), "remote": "127.0.0.1",
	}
	for k, v := range want {
		if e[k] != v {
			t.Errorf("log %s = %v, want %v", k, e[k], v)
		}
	}
	if d, ok := e["duration_ms"].(float64); !ok || d < 0 || d > 10_000 {
		t.Errorf("log has no duration_ms in milliseconds: %v", e)
	}
	if _, ok := e["duration"]; ok {
		t.Errorf("log still has a duration in nanoseconds: %v", e)
	}
}

func TestLogsKeepNoSecrets(t *testing.T) {
	// Credentials arrive in query strings (wrongly, but they do), headers and
	// cookies; none of them may reach the logs, whatever the outcome.
	paths := []string{
		"/items/1?access_token=SECRET",
		"/no/such/path?access_token=SECRET&refresh_token=SECRET",
		"/fail/unauthorized?api_key=SECRET",
		"/fail/plain?password=SECRET",
		"/fail/panic?client_secret=SECRET",
		"/fail/unavailable?code=SECRET",
	}
	for _, path := range paths {
		t.Run(path, func(t *testing.T) {
			api := newTestAPI(t)
			for _, method := range []string{http.MethodGet, http.MethodPut} {
				req := httptest.NewRequest(method, path, nil)
				req.Header.Set("Authorization", "Bearer SECRET")
				req.Header.Set("Cookie", "session=SECRET")
				req.Header.Set("X-API-Key", "SECRET")
				req.Header.Set("Proxy-Authorization", "Basic U0VDUkVU")
				req.Header.Set("X-Organization-ID", "SECRET")
				api.do(t, req)
			}
			logs := api.logs.String()
			if !strings.Contains(logs, `"msg":"request"`) {
				t.Fatalf("no access log written, so the check below proves nothing:\n%s", logs)
			}
			if strings.Contains(logs, "SECRET") || strings.Contains(logs, "U0VDUkVU") {
				t.Fatalf("logs contain the secret:\n%s", logs)
			}
		})
	}
}

func TestMetricsByRouteTemplate(t *testing.T) {
	api := newTestAPI(t)
	for _, path := range []string{"/items/1", "/items/2", "/items/3?x=y", "/no/such/path", "/another/unknown", "/fail/plain"} {
		api.get(t, path)
	}
	api.do(t, httptest.NewRequest(http.MethodDelete, "/items/9", nil))
	got := api.get(t, "/metrics")
	if got.status != http.StatusOK {
		t.Fatalf("GET /metrics = %d", got.status)
	}
	for _, line := range []string{
		`puguh_http_requests_total{code="200",method="GET",route="/items/{id}"} 3`,
		`puguh_http_requests_total{code="200",method="DELETE",route="/items/{id}"} 1`,
		`puguh_http_requests_total{code="404",method="GET",route="unmatched"} 2`,
		`puguh_http_requests_total{code="500",method="GET",route="/fail/{kind}"} 1`,
		`puguh_http_request_duration_seconds_count{method="GET",route="/items/{id}"} 3`,
		`puguh_http_request_duration_seconds_count{method="GET",route="unmatched"} 2`,
	} {
		if !strings.Contains(got.body, line+"\n") {
			t.Errorf("metrics lack %q", line)
		}
	}
	// Raw paths must never become labels: that is unbounded cardinality.
	for _, raw := range []string{`route="/items/1"`, `route="/no/such/path"`, "x=y"} {
		if strings.Contains(got.body, raw) {
			t.Errorf("metrics contain %s", raw)
		}
	}
}
