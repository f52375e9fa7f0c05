package puguh_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	puguh "github.com/arsaka/puguh/sdk/go"
	"github.com/arsaka/puguh/sdk/go/internal/puguhtest"
)

func TestErrorAnswers(t *testing.T) {
	owner := server.NewUser(t, "errors")
	server.CLI(t, "orgs", "set-plan", owner.OrganizationID, "business")
	c, _ := newClient(t, puguh.WithAccessToken(owner.AccessToken, nil))

	t.Run("400", func(t *testing.T) {
		_, err := c.IAM.Users.List(ctx, puguh.PageParams{Cursor: "forged"})
		var e *puguh.BadRequestError
		var api *puguh.APIError
		if !errors.As(err, &e) || !errors.As(err, &api) || e.Status != 400 || e.Detail != "Invalid cursor" ||
			string(e.Body) != `{"detail":"Invalid cursor"}` || e.RateLimit == nil || e.RateLimit.Limit != 1000 || e.RequestID == "" {
			t.Fatalf("%#v", err)
		}
	})
	t.Run("401: the per-IP budget in the rate-limit headers", func(t *testing.T) {
		anonymous, _ := newClient(t)
		_, err := anonymous.APIKeys.List(ctx)
		var e *puguh.AuthenticationError
		if !errors.As(err, &e) || e.Detail != "Invalid or expired token" || e.WWWAuthenticate() != `Bearer realm="puguh"` || e.RateLimit == nil || e.RateLimit.Limit != 600 || !puguh.IsUnauthorized(err) {
			t.Fatalf("%v", err)
		}
	})
	t.Run("403: the missing permission", func(t *testing.T) {
		key, err := c.APIKeys.Create(ctx, puguh.APIKeyRequest{Name: "viewer", Role: puguh.RoleViewer})
		if err != nil {
			t.Fatal(err)
		}
		viewer, _ := newClient(t, puguh.WithAPIKey(key.Key, owner.OrganizationID))
		_, err = viewer.APIKeys.List(ctx)
		var e *puguh.PermissionDeniedError
		if !errors.As(err, &e) || e.Status != 403 || e.Detail != "Missing permission: api_keys.read" || e.MissingPermission() != "api_keys.read" {
			t.Fatalf("%v", err)
		}
		_, err = viewer.APIKeys.Create(ctx, puguh.APIKeyRequest{Name: "x"})
		if !errors.As(err, &e) || e.MissingPermission() != "" || e.Detail != "Only users can create API keys" {
			t.Fatalf("%v", err)
		}
	})
	t.Run("404", func(t *testing.T) {
		_, err := c.Organizations.Get(ctx, "00000000-0000-4000-8000-000000000000")
		var e *puguh.NotFoundError
		if !errors.As(err, &e) || e.Detail != "Organization not found" || !puguh.IsNotFound(err) {
			t.Fatalf("%v", err)
		}
	})
	t.Run("409", func(t *testing.T) {
		_, err := c.Auth.Register(ctx, puguh.RegisterRequest{Email: strings.ToUpper(owner.Email), Password: "another password 1", FullName: "Twin"})
		var e *puguh.ConflictError
		if !errors.As(err, &e) || e.Detail != "Email already registered" || !puguh.IsConflict(err) {
			t.Fatalf("%v", err)
		}
	})
	t.Run("422: the issues, in the body, the query and a header", func(t *testing.T) {
		_, err := c.Auth.Register(ctx, puguh.RegisterRequest{Email: "not an email", Password: "short", FullName: ""})
		var e *puguh.ValidationError
		if !errors.As(err, &e) || e.Status != 422 {
			t.Fatalf("%v", err)
		}
		got, _ := json.Marshal(e.Issues)
		if string(got) != `[{"loc":["body","email"],"msg":"value is not a valid email address","type":"value_error.email"},`+
			`{"loc":["body","password"],"msg":"ensure this value has at least 8 characters","type":"value_error.any_str.min_length"},`+
			`{"loc":["body","full_name"],"msg":"ensure this value has at least 1 characters","type":"value_error.any_str.min_length"}]` {
			t.Fatalf("issues %s", got)
		}
		if is := e.IssueAt("body", "password"); is == nil || is.Type != "value_error.any_str.min_length" || e.IssueAt("body", "nothing") != nil {
			t.Fatal(is)
		}
		if !strings.HasPrefix(e.Error(), "puguh: 422 body.email: value is not a valid email address; ") {
			t.Fatal(e.Error())
		}
		_, err = c.IAM.Users.List(ctx, puguh.PageParams{Limit: 101})
		if !errors.As(err, &e) || len(e.Issues) != 1 || e.Issues[0].LocString() != "query.limit" || e.Issues[0].Type != "value_error.number.not_le" {
			t.Fatalf("%v", err)
		}
		_, err = c.IAM.Users.Me(ctx, puguh.WithOrganizationID("not-a-uuid"))
		if !errors.As(err, &e) || e.IssueAt("header", "X-Organization-ID") == nil {
			t.Fatalf("%v", err)
		}
		_, err = c.Applications.Create(ctx, puguh.ApplicationFields{Name: "x", RedirectURIs: []string{"https://ok.example.com/cb", "http://evil.example.com/cb"}})
		if !errors.As(err, &e) || e.IssueAt("body", "redirect_uris", 1) == nil || e.Issues[0].Type != "value_error.url.scheme" {
			t.Fatalf("%v", err)
		}
	})
}

// TestRateLimit: a free-plan organization's 61st request at once is a 429
// with Retry-After and the budget; retries are opt-in, honour Retry-After and
// MaxRetryDelay, and stop when the caller cancels.
func TestRateLimit(t *testing.T) {
	free := server.NewUser(t, "free") // a new personal organization: the free plan, 60 a minute
	c, rec := newClient(t, puguh.WithAccessToken(free.AccessToken, nil))
	var refused error
	for i := 0; i < 80 && refused == nil; i++ {
		_, refused = c.IAM.Users.Me(ctx)
	}
	var e *puguh.RateLimitError
	if !errors.As(refused, &e) || e.Status != 429 || e.RetryAfter < time.Second || e.Limit != 60 || e.Remaining != 0 || e.Reset.Before(time.Now().Add(-time.Second)) {
		t.Fatalf("%#v", refused)
	}
	if e.Detail != fmt.Sprintf("Rate limit exceeded. Retry after %d seconds.", int(e.RetryAfter/time.Second)) || !puguh.IsRateLimited(refused) {
		t.Fatal(e.Detail)
	}
	if n := len(rec.Calls()); n < 61 || n > 65 {
		t.Fatalf("refused after %d requests", n)
	}
	drain := func() {
		for i := 0; i < 80; i++ {
			if _, err := c.IAM.Users.Me(ctx); err != nil {
				return
			}
		}
		t.Fatal("the budget was never spent")
	}

	drain()
	var statuses []int
	patient, prec := newClient(t, puguh.WithAccessToken(free.AccessToken, nil), puguh.WithMaxRetries(3),
		puguh.WithOnResponse(func(i *puguh.ResponseInfo) { statuses = append(statuses, i.Status) }))
	started := time.Now()
	if me, err := patient.IAM.Users.Me(ctx); err != nil || me.ID != free.UserID {
		t.Fatal(err)
	}
	if len(statuses) < 2 || statuses[len(statuses)-1] != 200 || statuses[0] != 429 || len(prec.Calls()) != len(statuses) || time.Since(started) < time.Second-50*time.Millisecond {
		t.Fatalf("statuses %v after %v", statuses, time.Since(started))
	}

	drain()
	once, orec := newClient(t, puguh.WithAccessToken(free.AccessToken, nil))
	if _, err := once.IAM.Users.Me(ctx); !errors.As(err, &e) || len(orec.Calls()) != 1 {
		t.Fatalf("retries are off by default: %v, %d requests", err, len(orec.Calls()))
	}
	hurried, hrec := newClient(t, puguh.WithAccessToken(free.AccessToken, nil), puguh.WithMaxRetries(3), puguh.WithMaxRetryDelay(10*time.Millisecond))
	if _, err := hurried.IAM.Users.Me(ctx); !errors.As(err, &e) || len(hrec.Calls()) != 1 {
		t.Fatalf("a Retry-After over MaxRetryDelay: %v, %d requests", err, len(hrec.Calls()))
	}
	waiting, _ := newClient(t, puguh.WithAccessToken(free.AccessToken, nil), puguh.WithMaxRetries(5))
	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if _, err := waiting.IAM.Users.Me(cctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("cancelled during the wait: %v", err)
	}
}

// TestServerUnavailable: with Redis down Puguh's health answers 503 with
// Retry-After 5; a client that opts in waits for it and succeeds once Redis
// is back.
func TestServerUnavailable(t *testing.T) {
	if _, err := os.Stat("/usr/bin/redis-server"); err != nil {
		t.Skip("redis-server is not installed")
	}
	port, err := puguhtest.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	startRedis := func() *exec.Cmd {
		cmd := exec.Command("/usr/bin/redis-server", "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 100; i++ {
			if conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
				conn.Close()
				return cmd
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatal("redis did not start")
		return nil
	}
	redis := startRedis()
	t.Cleanup(func() { _ = redis.Process.Kill(); _ = redis.Wait() })
	withRedis := puguhtest.StartT(t, fmt.Sprintf("PUGUH_REDIS_URL=redis://127.0.0.1:%d/7", port))
	c, err := puguh.NewClient(puguh.WithBaseURL(withRedis.BaseURL))
	if err != nil {
		t.Fatal(err)
	}
	if h, err := c.Health.Check(ctx); err != nil || h.Redis != "ok" {
		t.Fatal(h, err)
	}
	_ = redis.Process.Kill()
	_ = redis.Wait()
	var down error
	for i := 0; i < 40 && down == nil; i++ {
		if _, down = c.Health.Check(ctx); down == nil {
			time.Sleep(100 * time.Millisecond)
		}
	}
	var e *puguh.ServerError
	if !errors.As(down, &e) || e.Status != 503 || e.RetryAfter != 5*time.Second ||
		string(e.Body) != `{"status":"unavailable","database":"ok","redis":"unavailable"}`+"\n" && string(e.Body) != `{"status":"unavailable","database":"ok","redis":"unavailable"}` {
		t.Fatalf("%#v %s", down, e.Body)
	}
	var statuses []int
	patient, _ := puguh.NewClient(puguh.WithBaseURL(withRedis.BaseURL), puguh.WithMaxRetries(1),
		puguh.WithOnResponse(func(i *puguh.ResponseInfo) { statuses = append(statuses, i.Status) }))
	result := make(chan error, 1)
	go func() { _, err := patient.Health.Check(ctx); result <- err }()
	time.Sleep(200 * time.Millisecond)
	redis = startRedis()
	if err := <-result; err != nil || len(statuses) != 2 || statuses[0] != 503 || statuses[1] != 200 {
		t.Fatalf("%v %v", err, statuses)
	}
}

// TestConnectionErrors: a silent server times out (ConnectionError with
// Timeout), per call or per client; nobody listening is a ConnectionError;
// the caller's own deadline returns the context's error unwrapped.
func TestConnectionErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			defer conn.Close() // accept, never answer
		}
	}()
	url := "http://" + ln.Addr().String()
	c, _ := puguh.NewClient(puguh.WithBaseURL(url), puguh.WithTimeout(150*time.Millisecond))
	_, err = c.Health.Check(ctx)
	var ce *puguh.ConnectionError
	if !errors.As(err, &ce) || !ce.Timeout || !puguh.IsTimeout(err) || !strings.Contains(err.Error(), "GET /api/v1/health") {
		t.Fatalf("%v", err)
	}
	slow, _ := puguh.NewClient(puguh.WithBaseURL(url), puguh.WithTimeout(time.Minute))
	if _, err := slow.Health.Check(ctx, puguh.WithTimeout(100*time.Millisecond)); !puguh.IsTimeout(err) {
		t.Fatalf("per call: %v", err)
	}
	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if _, err := slow.Health.Check(cctx); err != context.DeadlineExceeded {
		t.Fatalf("the caller's deadline: %#v", err)
	}
	port, _ := puguhtest.FreePort()
	nobody, _ := puguh.NewClient(puguh.WithBaseURL(fmt.Sprintf("http://127.0.0.1:%d", port)))
	if _, err := nobody.Health.Check(ctx); !errors.As(err, &ce) || ce.Timeout || ce.Err == nil {
		t.Fatalf("%v", err)
	}
}

func TestNewClientRefuses(t *testing.T) {
	t.Setenv("PUGUH_BASE_URL", "")
	tests := []struct {
		name string
		opts []puguh.Option
		want string
	}{
		{"no base URL", nil, "no base URL"},
		{"not absolute", []puguh.Option{puguh.WithBaseURL("localhost:8080")}, "not an absolute URL"},
		{"not http", []puguh.Option{puguh.WithBaseURL("ftp://example.com")}, "must be http(s)"},
		{"key and token", []puguh.Option{puguh.WithBaseURL("http://x"), puguh.WithAPIKey("k", "o"), puguh.WithAccessToken("t", nil)}, "not both"},
		{"key without organization", []puguh.Option{puguh.Options{BaseURL: "http://x", APIKey: "k"}}, "organization ID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := puguh.NewClient(tt.opts...); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("%v, want %q", err, tt.want)
			}
		})
	}
	t.Setenv("PUGUH_BASE_URL", "http://127.0.0.1:1")
	if c, err := puguh.NewClient(puguh.WithAPIKey("k", "o")); err != nil || c.BaseURL() != "http://127.0.0.1:1" {
		t.Fatal(err)
	}
}
