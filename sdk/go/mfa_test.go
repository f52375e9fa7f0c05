package puguh_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	puguh "github.com/arsaka/puguh/sdk/go"
	"github.com/arsaka/puguh/sdk/go/internal/puguhtest"
)

// checkMFALogin: a TOTP user's login is an *MFARequiredError carrying the
// challenge; CompleteLogin with a wrong code fails, with the right one
// stores the pair; a recovery code works once. TestResources calls it, so
// completeLogin counts among the operations that answered 2xx.
func checkMFALogin(t *testing.T) {
	t.Helper()
	u := &puguhtest.User{Email: puguhtest.UniqueEmail("mfa"), Password: "mfa password 1234"}
	c, _ := newClient(t, puguh.WithOnResponse(onResponse))
	if _, err := c.Auth.Register(ctx, puguh.RegisterRequest{Email: u.Email, Password: u.Password, FullName: "Mo Factor"}); err != nil {
		t.Fatal(err)
	}
	secret, codes := puguhtest.NewBrowser(t, server.BaseURL).EnrolTOTP(t, u)

	login := func(c *puguh.Client) *puguh.MFARequiredError {
		t.Helper()
		_, err := c.Auth.Login(ctx, puguh.LoginRequest{Email: u.Email, Password: u.Password})
		var mfa *puguh.MFARequiredError
		var auth *puguh.AuthenticationError
		if !errors.As(err, &mfa) || !errors.As(err, &auth) || auth.Status != 401 || mfa.Detail != "A second factor is required" ||
			len(mfa.Challenge) != 43 || !slices.Equal(mfa.Methods, []string{"totp", "recovery_code"}) || mfa.ExpiresIn != 300 {
			t.Fatalf("login of a TOTP user: %#v", err)
		}
		if c.AccessToken() != "" {
			t.Fatal("a login that asked for a second factor stored a token")
		}
		return mfa
	}
	mfa := login(c)
	_, err := c.Auth.CompleteLogin(ctx, mfa.Challenge, "000000")
	var auth *puguh.AuthenticationError
	if !errors.As(err, &auth) || auth.Detail != "Invalid authentication code" {
		t.Fatalf("wrong code: %v", err)
	}
	_, err = c.Auth.CompleteLogin(ctx, "not-a-challenge", puguhtest.TOTP(secret, time.Now().Add(30*time.Second)))
	if !errors.As(err, &auth) || auth.Detail != "The sign-in challenge is invalid or has expired; sign in again" {
		t.Fatalf("unknown challenge: %v", err)
	}
	pair, err := c.Auth.CompleteLogin(ctx, mfa.Challenge, puguhtest.TOTP(secret, time.Now().Add(30*time.Second)))
	if err != nil || c.AccessToken() != pair.AccessToken || pair.TokenType != "Bearer" {
		t.Fatalf("complete login: %+v, %v", pair, err)
	}
	if me, err := c.IAM.Users.Me(ctx); err != nil || me.Type != "user" {
		t.Fatalf("me after an MFA login: %+v, %v", me, err)
	}
	// A recovery code works once.
	c2, _ := newClient(t)
	if _, err := c2.Auth.CompleteLogin(ctx, login(c2).Challenge, codes[0]); err != nil {
		t.Fatal(err)
	}
	c3, _ := newClient(t)
	mfa = login(c3)
	if _, err := c3.Auth.CompleteLogin(ctx, mfa.Challenge, codes[0]); !errors.As(err, &auth) || auth.Detail != "Invalid authentication code" {
		t.Fatalf("reused recovery code: %v", err)
	}
}
