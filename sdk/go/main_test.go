package puguh_test

import (
	"context"
	"net/http"
	"os"
	"sync"
	"testing"

	puguh "github.com/arsaka/puguh/sdk/go"
	"github.com/arsaka/puguh/sdk/go/internal/puguhtest"
)

const operator = "operator@example.com"

// server is the Puguh every test of this package talks to (one per test
// binary; tests that need their own start it themselves).
var server *puguhtest.Server

func TestMain(m *testing.M) {
	var err error
	server, err = puguhtest.Start("PUGUH_PLATFORM_OPERATORS=" + operator)
	if err != nil {
		println(err.Error())
		os.Exit(1)
	}
	code := m.Run()
	server.Stop()
	puguhtest.RemoveBinary()
	os.Exit(code)
}

// recorder is an http.RoundTripper that records every request's method,
// path and credentials before sending it.
type recorder struct {
	mu    sync.Mutex
	calls []recorded
}

type recorded struct {
	Method, Path, Authorization, APIKey, Organization, Application string
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.calls = append(r.calls, recorded{req.Method, req.URL.Path, req.Header.Get("Authorization"), req.Header.Get("X-API-Key"),
		req.Header.Get("X-Organization-ID"), req.Header.Get("X-Application-ID")})
	r.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

func (r *recorder) Calls() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recorded(nil), r.calls...)
}

// newClient is a client of the test server with opts, recording its requests.
func newClient(t *testing.T, opts ...puguh.Option) (*puguh.Client, *recorder) {
	t.Helper()
	rec := &recorder{}
	c, err := puguh.NewClient(append([]puguh.Option{puguh.WithBaseURL(server.BaseURL), puguh.WithHTTPClient(&http.Client{Transport: rec})}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c, rec
}

var ctx = context.Background()

// TestGuideForms: the API guide's two forms, as the issue and README.md
// write them, work against a real Puguh.
func TestGuideForms(t *testing.T) {
	t.Setenv("PUGUH_BASE_URL", server.BaseURL)
	u := server.NewUser(t, "guide")
	owner, _ := newClient(t, puguh.WithAccessToken(u.AccessToken, nil))
	created, err := owner.APIKeys.Create(ctx, puguh.APIKeyRequest{Name: "guide"})
	if err != nil {
		t.Fatal(err)
	}
	apiKey, organizationID := created.Key, u.OrganizationID

	// Using API Key
	client, err := puguh.NewClient(puguh.WithAPIKey(apiKey, organizationID))
	if err != nil {
		t.Fatal(err)
	}
	if h, err := client.Health.Check(ctx); err != nil || h.Principal.Type != "api_key" {
		t.Fatal(h, err)
	}

	// Using JWT
	access, _ := server.Login(t, u.Email, u.Password)
	server.Logout(t, access) // expired, as far as the client can tell
	userToken := access
	refreshToken := func(ctx context.Context) (string, error) {
		a, _ := server.Refresh(t, u.RefreshToken)
		return a, nil
	}
	client, err = puguh.NewClient(puguh.WithAccessToken(userToken, func(ctx context.Context) (string, error) {
		return refreshToken(ctx)
	}))
	if err != nil {
		t.Fatal(err)
	}
	if me, err := client.IAM.Users.Me(ctx); err != nil || me.ID != u.UserID {
		t.Fatal(me, err)
	}
}
