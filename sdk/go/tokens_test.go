package puguh_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	puguh "github.com/arsaka/puguh/sdk/go"
	"github.com/arsaka/puguh/sdk/go/internal/puguhtest"
)

// tokenFixture: a user on the business plan, a token the server refuses as
// it refuses an expired one (logged out: 401, error="invalid_token"), and a
// refresh chain for fresh tokens (sign-ins are throttled per account).
type tokenFixture struct {
	user  *puguhtest.User
	dead  string
	chain string
	mu    sync.Mutex
}

func newTokenFixture(t *testing.T) *tokenFixture {
	t.Helper()
	u := server.NewUser(t, "tokens")
	server.CLI(t, "orgs", "set-plan", u.OrganizationID, "business")
	access, _ := server.Login(t, u.Email, u.Password)
	server.Logout(t, access)
	return &tokenFixture{user: u, dead: access, chain: u.RefreshToken}
}

func (f *tokenFixture) fresh(t *testing.T) (access, refresh string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	access, f.chain = server.Refresh(t, f.chain)
	return access, f.chain
}

func bearers(calls []recorded) []string {
	var out []string
	for _, c := range calls {
		out = append(out, c.Authorization)
	}
	return out
}

func TestTokenExpiry(t *testing.T) {
	f := newTokenFixture(t)
	var authErr *puguh.AuthenticationError

	t.Run("renewed once, the call sent once more with the new token, which stays", func(t *testing.T) {
		next, _ := f.fresh(t)
		var calls atomic.Int32
		c, rec := newClient(t, puguh.WithAccessToken(f.dead, func(ctx context.Context) (string, error) {
			calls.Add(1)
			return next, nil
		}))
		me, err := c.IAM.Users.Me(ctx)
		if err != nil || me.ID != f.user.UserID {
			t.Fatal(me, err)
		}
		if calls.Load() != 1 || !slices.Equal(bearers(rec.Calls()), []string{"Bearer " + f.dead, "Bearer " + next}) || c.AccessToken() != next {
			t.Fatalf("%d renewals, requests %v", calls.Load(), bearers(rec.Calls()))
		}
		if _, err := c.IAM.Users.Me(ctx); err != nil || calls.Load() != 1 || len(rec.Calls()) != 3 {
			t.Fatalf("the next call: %v, %d renewals, %d requests", err, calls.Load(), len(rec.Calls()))
		}
	})

	t.Run("calls that fail together share one renewal", func(t *testing.T) {
		next, _ := f.fresh(t)
		var calls atomic.Int32
		gate := make(chan struct{})
		c, rec := newClient(t, puguh.WithAccessToken(f.dead, func(ctx context.Context) (string, error) {
			calls.Add(1)
			<-gate // hold the renewal until every call has failed
			return next, nil
		}))
		errs := make(chan error, 5)
		for i := 0; i < 5; i++ {
			go func() { _, err := c.IAM.Users.Me(ctx); errs <- err }()
		}
		// Wait (bounded: 30 s on a loaded machine) until every call has
		// reached the server and failed; only then may the renewal finish.
		for i := 0; i < 3000 && len(rec.Calls()) < 5; i++ {
			time.Sleep(10 * time.Millisecond)
		}
		if n := len(rec.Calls()); n < 5 {
			t.Fatalf("only %d of 5 calls reached the server in 30 s", n)
		}
		close(gate)
		for i := 0; i < 5; i++ {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		got := bearers(rec.Calls())
		if calls.Load() != 1 || len(got) != 10 {
			t.Fatalf("%d renewals, %d requests", calls.Load(), len(got))
		}
		renewed := 0
		for _, b := range got {
			if b == "Bearer "+next {
				renewed++
			}
		}
		if renewed != 5 {
			t.Fatalf("%d requests with the new token, want 5", renewed)
		}
	})

	t.Run("never loops: a renewed token refused again is returned", func(t *testing.T) {
		var calls atomic.Int32
		c, rec := newClient(t, puguh.WithAccessToken(f.dead, func(ctx context.Context) (string, error) {
			calls.Add(1)
			return "not-a-token", nil
		}))
		_, err := c.IAM.Users.Me(ctx)
		if !errors.As(err, &authErr) || authErr.Status != 401 || authErr.Detail != "Invalid or expired token" ||
			authErr.WWWAuthenticate() != `Bearer realm="puguh", error="invalid_token"` || !authErr.InvalidToken() {
			t.Fatalf("%v", err)
		}
		if calls.Load() != 1 || len(rec.Calls()) != 2 {
			t.Fatalf("%d renewals, %d requests", calls.Load(), len(rec.Calls()))
		}
	})

	t.Run("giving up returns the 401; the callback's own error reaches the caller as it is", func(t *testing.T) {
		c, rec := newClient(t, puguh.WithAccessToken(f.dead, func(ctx context.Context) (string, error) { return "", nil }))
		if _, err := c.APIKeys.List(ctx); !errors.As(err, &authErr) || len(rec.Calls()) != 1 {
			t.Fatalf("%v, %d requests", err, len(rec.Calls()))
		}
		signInAgain := errors.New("please sign in again")
		c, _ = newClient(t, puguh.WithAccessToken(f.dead, func(ctx context.Context) (string, error) { return "", signInAgain }))
		if _, err := c.APIKeys.List(ctx); err != signInAgain {
			t.Fatalf("%v", err)
		}
	})

	t.Run("no renewal for 401s that are not a refused Bearer token", func(t *testing.T) {
		var calls atomic.Int32
		renew := puguh.Options{OnTokenExpired: func(ctx context.Context) (string, error) { calls.Add(1); return "x", nil }}
		key, _ := newClient(t, renew, puguh.WithAPIKey("pgh_nope", f.user.OrganizationID))
		if _, err := key.IAM.Users.Me(ctx); !errors.As(err, &authErr) || authErr.Detail != "Invalid API key" || authErr.InvalidToken() {
			t.Fatalf("a bad API key: %v", err)
		}
		anonymous, _ := newClient(t, renew)
		if _, err := anonymous.IAM.Users.Me(ctx); !errors.As(err, &authErr) || authErr.InvalidToken() || authErr.WWWAuthenticate() != `Bearer realm="puguh"` {
			t.Fatalf("no credential: %v", err)
		}
		if _, err := anonymous.Auth.Login(ctx, puguh.LoginRequest{Email: f.user.Email, Password: "wrong password!"}); !errors.As(err, &authErr) || authErr.Detail != "Invalid email or password" {
			t.Fatalf("a failed sign-in: %v", err)
		}
		if calls.Load() != 0 {
			t.Fatalf("%d renewals", calls.Load())
		}
	})

	t.Run("the session refreshes by itself and keeps the rotated refresh token", func(t *testing.T) {
		_, live := server.Login(t, f.user.Email, f.user.Password) // a family only the client uses
		var stored []puguh.TokenPair
		c, rec := newClient(t, puguh.Options{AccessToken: f.dead, RefreshToken: live,
			OnTokens: func(ctx context.Context, p puguh.TokenPair) error { stored = append(stored, p); return nil }})
		me, err := c.IAM.Users.Me(ctx)
		if err != nil || me.ID != f.user.UserID {
			t.Fatal(err)
		}
		var paths []string
		for _, r := range rec.Calls() {
			paths = append(paths, r.Method+" "+r.Path)
		}
		if !slices.Equal(paths, []string{"GET /api/v1/iam/users/me", "POST /api/v1/auth/refresh", "GET /api/v1/iam/users/me"}) {
			t.Fatal(paths)
		}
		if len(stored) != 1 || c.RefreshToken() == live || c.RefreshToken() != stored[0].RefreshToken || rec.Calls()[2].Authorization != "Bearer "+stored[0].AccessToken {
			t.Fatal("the rotated pair was not stored and used")
		}
		// A client resumed from a refresh token alone refreshes before its first calls (once for all).
		resumed, rec2 := newClient(t, puguh.WithRefreshToken(c.RefreshToken()))
		var wg sync.WaitGroup
		errs := make([]error, 2)
		wg.Add(2)
		go func() { defer wg.Done(); _, errs[0] = resumed.IAM.Users.Me(ctx) }()
		go func() { defer wg.Done(); _, errs[1] = resumed.Organizations.List(ctx) }()
		wg.Wait()
		if errs[0] != nil || errs[1] != nil {
			t.Fatal(errs)
		}
		refreshes := 0
		for _, r := range rec2.Calls() {
			if r.Path == "/api/v1/auth/refresh" {
				refreshes++
			}
		}
		if refreshes != 1 || len(rec2.Calls()) != 3 {
			t.Fatalf("%d refreshes, %d requests", refreshes, len(rec2.Calls()))
		}
	})

	t.Run("a refused refresh token is returned", func(t *testing.T) {
		c, _ := newClient(t, puguh.Options{AccessToken: f.dead, RefreshToken: "ory_rt_not.valid"})
		if _, err := c.IAM.Users.Me(ctx); !errors.As(err, &authErr) || authErr.Detail != "Invalid or expired refresh token" {
			t.Fatalf("%v", err)
		}
	})

	t.Run("a caller's cancellation ends its wait, not the shared renewal", func(t *testing.T) {
		next, _ := f.fresh(t)
		gate := make(chan struct{})
		c, _ := newClient(t, puguh.WithAccessToken(f.dead, func(ctx context.Context) (string, error) { <-gate; return next, nil }))
		cctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { _, err := c.IAM.Users.Me(cctx); done <- err }()
		time.Sleep(200 * time.Millisecond)
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("%v", err)
		}
		other := make(chan error, 1)
		go func() { _, err := c.IAM.Users.Me(ctx); other <- err }()
		close(gate)
		if err := <-other; err != nil || c.AccessToken() != next {
			t.Fatalf("%v", err)
		}
	})
}
