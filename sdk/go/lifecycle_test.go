package puguh_test

import (
	"errors"
	"slices"
	"testing"

	puguh "github.com/arsaka/puguh/sdk/go"
	"github.com/arsaka/puguh/sdk/go/internal/puguhtest"
	"github.com/arsaka/puguh/sdk/go/oauth"
)

// exerciseLifecycle (called by TestResources, whose every-operation check it
// feeds): a user's connected apps are listed and revoked; the user deletes
// their own account; a platform operator (op) deletes another.
func exerciseLifecycle(t *testing.T, op *puguh.Client) {
	t.Helper()
	owner := server.NewUser(t, "appowner")
	ownerClient, _ := newClient(t, puguh.WithAccessToken(owner.AccessToken, nil), puguh.WithOnResponse(onResponse))
	const redirect = "http://127.0.0.1:9/callback"
	app := must[*puguh.Application](t)(ownerClient.Applications.Create(ctx, puguh.ApplicationFields{Name: "Planner", RedirectURIs: []string{redirect}, Scopes: []string{"openid", "profile"}}))
	user := server.NewUser(t, "consenter")
	rp := must[*oauth.Client](t)(oauth.New(ctx, oauth.Config{Issuer: server.BaseURL, ClientID: app.ClientID, ClientSecret: app.ClientSecret, RedirectURL: redirect}))
	areq := must[*oauth.AuthorizationRequest](t)(rp.AuthorizationURL(oauth.AuthorizationParams{Scopes: []string{"openid", "profile"}}))
	if _, err := rp.HandleCallback(ctx, puguhtest.NewBrowser(t, server.BaseURL).Authorize(t, areq.URL, user, "allow").String(), *areq); err != nil {
		t.Fatal(err)
	}

	c, _ := newClient(t, puguh.WithAccessToken(user.AccessToken, nil), puguh.WithOnResponse(onResponse))
	consents := must[*puguh.Page[puguh.Consent]](t)(c.IAM.Users.Consents.List(ctx))
	if len(consents.Items) != 1 || consents.Items[0].ApplicationID != app.ID || consents.Items[0].ApplicationName != "Planner" ||
		!slices.Equal(consents.Items[0].Scopes, []string{"openid", "profile"}) || consents.Items[0].LastUsedAt == nil {
		t.Fatalf("consents %+v", consents.Items)
	}
	if err := c.IAM.Users.Consents.Revoke(ctx, app.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.IAM.Users.Consents.Revoke(ctx, app.ID); !puguh.IsNotFound(err) {
		t.Fatalf("revoke again: %v", err)
	}
	if l := must[*puguh.Page[puguh.Consent]](t)(c.IAM.Users.Consents.List(ctx)); len(l.Items) != 0 {
		t.Fatalf("consents after revoking %+v", l.Items)
	}

	var denied *puguh.PermissionDeniedError
	if err := c.IAM.Users.DeleteMe(ctx, puguh.DeleteMeRequest{Password: "not the password"}); !errors.As(err, &denied) || denied.Detail != "The password is not correct" {
		t.Fatalf("delete with a wrong password: %v", err)
	}
	if err := c.IAM.Users.DeleteMe(ctx, puguh.DeleteMeRequest{Password: user.Password}); err != nil {
		t.Fatal(err)
	}
	var authErr *puguh.AuthenticationError
	if _, err := c.IAM.Users.Me(ctx); !errors.As(err, &authErr) {
		t.Fatalf("a deleted user's token: %v", err)
	}

	if err := op.IAM.Users.Delete(ctx, owner.UserID); err != nil {
		t.Fatal(err)
	}
	if err := op.IAM.Users.Delete(ctx, owner.UserID); !puguh.IsNotFound(err) {
		t.Fatalf("delete again: %v", err)
	}
}
