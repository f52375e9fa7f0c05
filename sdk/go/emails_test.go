package puguh_test

import (
	"errors"
	"strings"
	"testing"

	puguh "github.com/arsaka/puguh/sdk/go"
	"github.com/arsaka/puguh/sdk/go/internal/puguhtest"
)

// TestEmailLinks: confirming an address and resetting a password through
// the SDK, with the links the server wrote to its outbox.
func TestEmailLinks(t *testing.T) {
	c, _ := newClient(t, puguh.WithOnResponse(onResponse))
	email := puguhtest.UniqueEmail("mail")
	const pw = "mail password 123"
	if _, err := c.Auth.Register(ctx, puguh.RegisterRequest{Email: email, Password: pw, FullName: "Mia Mail"}); err != nil {
		t.Fatal(err)
	}
	acc := must[*puguh.Accepted](t)(c.Auth.ResendVerification(ctx, puguh.EmailRequest{Email: email}))
	if !strings.HasPrefix(acc.Detail, "If the address belongs to an account") {
		t.Fatalf("resend: %+v", acc)
	}
	link := server.MailLink(t, email, "/verify-email?token=", 1)
	token := link[strings.Index(link, "token=")+len("token="):]
	v := must[*puguh.EmailVerification](t)(c.Auth.VerifyEmail(ctx, puguh.VerifyEmailRequest{Token: token}))
	if v.Email != email || !v.EmailVerified {
		t.Fatalf("verify: %+v", v)
	}
	var bad *puguh.BadRequestError
	if _, err := c.Auth.VerifyEmail(ctx, puguh.VerifyEmailRequest{Token: token}); !errors.As(err, &bad) || bad.Detail != "Invalid or expired verification link" {
		t.Fatalf("second use: %v", err)
	}

	must[*puguh.Accepted](t)(c.Auth.RequestPasswordReset(ctx, puguh.EmailRequest{Email: email}))
	link = server.MailLink(t, email, "/password-reset/confirm?token=", 0)
	token = link[strings.Index(link, "token=")+len("token="):]
	if err := c.Auth.ConfirmPasswordReset(ctx, puguh.PasswordResetRequest{Token: token, Password: "a new mail password"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Auth.Login(ctx, puguh.LoginRequest{Email: email, Password: "a new mail password"}); err != nil {
		t.Fatal(err)
	}
	me := must[*puguh.Me](t)(c.IAM.Users.Me(ctx))
	if me.EmailVerified == nil || !*me.EmailVerified {
		t.Fatalf("me: %+v", me)
	}
}
