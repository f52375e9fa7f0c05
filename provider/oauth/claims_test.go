package oauth

import (
	"testing"
	"time"

	"github.com/ory/fosite"

	"github.com/arsaka/puguh/storage"
)

// email_verified follows the account: false until the address is confirmed.
func TestUserClaimsEmailVerified(t *testing.T) {
	u := &storage.User{ID: "u1", Email: "ada@example.com", FullName: "Ada"}
	got := UserClaims(u, fosite.Arguments{"openid", "email"})
	if got["email"] != "ada@example.com" || got["email_verified"] != false {
		t.Fatalf("unconfirmed: %v", got)
	}
	at := time.Now()
	u.EmailVerifiedAt = &at
	got = UserClaims(u, fosite.Arguments{"openid", "email", "profile"})
	if got["email_verified"] != true || got["name"] != "Ada" {
		t.Fatalf("confirmed: %v", got)
	}
	if got := UserClaims(u, fosite.Arguments{"openid"}); len(got) != 0 {
		t.Fatalf("without the email scope: %v", got)
	}
}
