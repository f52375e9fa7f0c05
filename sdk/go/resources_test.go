package puguh_test

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	puguh "github.com/arsaka/puguh/sdk/go"
	"github.com/arsaka/puguh/sdk/go/internal/puguhtest"
	"github.com/arsaka/puguh/sdk/go/oauth"
)

// reached collects the operationIds that answered 2xx through the SDK.
var reached sync.Map

func onResponse(info *puguh.ResponseInfo) {
	if info.Status >= 200 && info.Status < 300 {
		reached.Store(info.OperationID, true)
	}
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// TestResources runs every row of SURFACE.md's resources table against the
// server, in order, and checks what came back.
func TestResources(t *testing.T) {
	email := puguhtest.UniqueEmail("owner")
	password := "owner password 123"
	c, _ := newClient(t, puguh.WithOnResponse(onResponse))

	health := must[*puguh.Health](t)(c.Health.Check(ctx))
	if *health != (puguh.Health{Status: "ok", Database: "ok", Redis: "disabled"}) {
		t.Fatalf("health %+v", health)
	}
	reg := must[*puguh.Registration](t)(c.Auth.Register(ctx, puguh.RegisterRequest{Email: email, Password: password, FullName: "Olive Owner"}))
	if reg.Email != email || c.AccessToken() != "" {
		t.Fatalf("register: %+v, token %q", reg, c.AccessToken())
	}
	pair := must[*puguh.TokenPair](t)(c.Auth.Login(ctx, puguh.LoginRequest{Email: email, Password: password}))
	if pair.TokenType != "Bearer" || pair.ExpiresIn != 3600 || c.AccessToken() != pair.AccessToken || c.RefreshToken() != pair.RefreshToken {
		t.Fatalf("login: %+v", pair)
	}
	server.CLI(t, "orgs", "set-plan", reg.OrganizationID, "business")
	checkMFALogin(t)
	checkMFAPolicy(t)
	var info *puguh.ResponseInfo
	health = must[*puguh.Health](t)(c.Health.Check(ctx, puguh.WithResponseInfo(&info)))
	if health.Principal == nil || *health.Principal != (puguh.Principal{Type: "user", ID: reg.UserID, OrganizationID: reg.OrganizationID}) {
		t.Fatalf("principal %+v", health.Principal)
	}
	if info.OperationID != "getHealth" || info.Status != 200 || info.RequestID == "" || info.RateLimit == nil || info.RateLimit.Limit != 1000 {
		t.Fatalf("response info %+v", info)
	}

	me := must[*puguh.Me](t)(c.IAM.Users.Me(ctx))
	if me.ID != reg.UserID || me.Type != "user" || me.Role != puguh.RoleOwner || !slices.Contains(me.Permissions, "organization.members.create") {
		t.Fatalf("me %+v", me)
	}

	acme := must[*puguh.Organization](t)(c.Organizations.Create(ctx, puguh.CreateOrganizationRequest{Name: "Acme"}))
	if acme.Name != "Acme" || acme.Plan != "free" || acme.Personal || acme.Role != puguh.RoleOwner || acme.CreatedAt.IsZero() {
		t.Fatalf("organization %+v", acme)
	}
	if got := must[*puguh.Organization](t)(c.Organizations.Get(ctx, acme.ID)); got.ID != acme.ID {
		t.Fatal(got)
	}
	orgs := must[*puguh.Page[puguh.Organization]](t)(c.Organizations.List(ctx))
	if len(orgs.Items) != 2 || orgs.HasNextPage() || orgs.Response.OperationID != "listOrganizations" {
		t.Fatalf("organizations %+v", orgs)
	}

	op, _ := newClient(t, puguh.WithOnResponse(onResponse))
	must[*puguh.Registration](t)(op.Auth.Register(ctx, puguh.RegisterRequest{Email: operator, Password: "operator password 1", FullName: "Op"}))
	must[*puguh.TokenPair](t)(op.Auth.Login(ctx, puguh.LoginRequest{Email: operator, Password: "operator password 1"}))
	plan := must[*puguh.Plan](t)(op.Organizations.SetPlan(ctx, acme.ID, puguh.PlanRequest{Plan: puguh.PlanEnterprise, RateLimit: 5000}))
	if *plan != (puguh.Plan{OrganizationID: acme.ID, Plan: "enterprise", RateLimit: 5000, RequestsPerMinute: 5000}) {
		t.Fatalf("plan %+v", plan)
	}

	// Members, paginated.
	var members []*puguhtest.User
	for i := 0; i < 3; i++ {
		m := server.NewUser(t, "member")
		members = append(members, m)
		added := must[*puguh.Member](t)(c.Organizations.Members.Add(ctx, acme.ID, puguh.AddMemberRequest{Email: m.Email, Role: puguh.RoleMember}))
		if added.UserID != m.UserID || added.Role != puguh.RoleMember {
			t.Fatal(added)
		}
	}
	first := must[*puguh.Page[puguh.Member]](t)(c.Organizations.Members.List(ctx, acme.ID, puguh.PageParams{Limit: 2}))
	if len(first.Items) != 2 || !first.HasNextPage() {
		t.Fatalf("first page %+v", first)
	}
	second := must[*puguh.Page[puguh.Member]](t)(first.NextPage(ctx))
	if len(second.Items) != 2 || second.HasNextPage() {
		t.Fatalf("second page %+v", second)
	}
	if last, err := second.NextPage(ctx); last != nil || err != nil {
		t.Fatal(last, err)
	}
	var all []string
	for m, err := range c.Organizations.Members.ListAutoPaging(ctx, acme.ID, puguh.PageParams{Limit: 1}) {
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, m.Email)
	}
	want := []string{email, members[0].Email, members[1].Email, members[2].Email}
	sort.Strings(all)
	sort.Strings(want)
	if !slices.Equal(all, want) {
		t.Fatalf("every member %v, want %v", all, want)
	}
	pages := 0
	for p, err := range first.Pages(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		pages += len(p.Items) / len(p.Items)
	}
	if pages != 2 {
		t.Fatalf("%d pages", pages)
	}
	promoted := must[*puguh.Member](t)(c.Organizations.Members.Update(ctx, acme.ID, members[0].UserID, puguh.UpdateMemberRequest{Role: puguh.RoleAdmin}))
	if promoted.Role != puguh.RoleAdmin {
		t.Fatal(promoted)
	}
	if err := c.Organizations.Members.Remove(ctx, acme.ID, members[2].UserID); err != nil {
		t.Fatal(err)
	}

	// IAM users of another organization, per call.
	var emails []string
	for u, err := range c.IAM.Users.ListAutoPaging(ctx, puguh.PageParams{Limit: 1}, puguh.WithOrganizationID(acme.ID)) {
		if err != nil {
			t.Fatal(err)
		}
		emails = append(emails, u.Email)
	}
	if len(emails) != 3 {
		t.Fatalf("acme's users %v", emails)
	}
	personal := must[*puguh.Page[puguh.Member]](t)(c.IAM.Users.List(ctx, puguh.PageParams{}))
	if len(personal.Items) != 1 || personal.Items[0].Email != email {
		t.Fatalf("personal organization's users %+v", personal.Items)
	}
	disabled := must[*puguh.UserState](t)(c.IAM.Users.Disable(ctx, members[1].UserID, puguh.WithOrganizationID(acme.ID)))
	if !disabled.Disabled || disabled.ID != members[1].UserID {
		t.Fatal(disabled)
	}
	anonymous, _ := newClient(t)
	_, err := anonymous.Auth.Login(ctx, puguh.LoginRequest{Email: members[1].Email, Password: members[1].Password})
	var authErr *puguh.AuthenticationError
	if !errors.As(err, &authErr) || authErr.Detail != "Invalid email or password" {
		t.Fatalf("a disabled user's sign-in: %v", err)
	}
	if enabled := must[*puguh.UserState](t)(c.IAM.Users.Enable(ctx, members[1].UserID, puguh.WithOrganizationID(acme.ID))); enabled.Disabled {
		t.Fatal(enabled)
	}

	// API keys.
	created := must[*puguh.CreatedAPIKey](t)(c.APIKeys.Create(ctx, puguh.APIKeyRequest{Name: "CI key", Role: puguh.RoleViewer}))
	if !regexp.MustCompile(`^pgh_[0-9A-Za-z]{49}$`).MatchString(created.Key) || created.Prefix != created.Key[:12] || *created.Role != puguh.RoleViewer || created.ServiceAccountID != nil {
		t.Fatalf("created key %+v", created)
	}
	keys := must[*puguh.Page[puguh.APIKey]](t)(c.APIKeys.List(ctx))
	if !slices.ContainsFunc(keys.Items, func(k puguh.APIKey) bool { return k.ID == created.ID }) {
		t.Fatal("the key is not listed")
	}
	keyClient, _ := newClient(t, puguh.WithAPIKey(created.Key, reg.OrganizationID), puguh.WithOnResponse(onResponse))
	if h := must[*puguh.Health](t)(keyClient.Health.Check(ctx)); h.Principal == nil || h.Principal.Type != "api_key" || h.Principal.ID != created.ID {
		t.Fatalf("the key's principal %+v", h.Principal)
	}
	rotating := must[*puguh.CreatedAPIKey](t)(c.APIKeys.Create(ctx, puguh.APIKeyRequest{Name: "quarterly", Role: puguh.RoleViewer}))
	rotatedKey := must[*puguh.RotatedAPIKey](t)(c.APIKeys.Rotate(ctx, rotating.ID, puguh.RotateRequest{Overlap: "1h"}))
	if rotatedKey.Replaces != rotating.ID || rotatedKey.Name != "quarterly" || *rotatedKey.Role != puguh.RoleViewer || rotatedKey.Key == rotating.Key ||
		time.Until(rotatedKey.ReplacedKeyEndsAt) > time.Hour || time.Until(rotatedKey.ReplacedKeyEndsAt) < 59*time.Minute {
		t.Fatalf("rotated key %+v", rotatedKey)
	}
	keys = must[*puguh.Page[puguh.APIKey]](t)(c.APIKeys.List(ctx))
	if !slices.ContainsFunc(keys.Items, func(k puguh.APIKey) bool {
		return k.ID == rotating.ID && k.ReplacedBy != nil && *k.ReplacedBy == rotatedKey.ID && k.RotationEndsAt != nil
	}) {
		t.Fatalf("the rotated key is not listed with its successor: %+v", keys.Items)
	}
	if err := c.APIKeys.Revoke(ctx, created.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := keyClient.IAM.Users.Me(ctx); !errors.As(err, &authErr) || authErr.Detail != "Invalid API key" {
		t.Fatalf("a revoked key: %v", err)
	}

	// Service accounts and their client credentials.
	sa := must[*puguh.CreatedServiceAccount](t)(c.ServiceAccounts.Create(ctx, puguh.CreateServiceAccountRequest{Name: "deployer", Role: puguh.RoleMember}))
	if sa.ClientID != "sa-"+sa.ID || !strings.HasPrefix(sa.ClientSecret, "pghs_") {
		t.Fatal(sa)
	}
	if l := must[*puguh.Page[puguh.ServiceAccount]](t)(c.ServiceAccounts.List(ctx)); len(l.Items) != 1 {
		t.Fatal(l.Items)
	}
	if g := must[*puguh.ServiceAccount](t)(c.ServiceAccounts.Get(ctx, sa.ID)); g.Name != "deployer" {
		t.Fatal(g)
	}
	newSecret := must[*puguh.RotatedServiceAccountSecret](t)(c.ServiceAccounts.RotateSecret(ctx, sa.ID, puguh.RotateRequest{}))
	if newSecret.ClientID != sa.ClientID || newSecret.ClientSecret == sa.ClientSecret || time.Until(newSecret.PreviousSecretEndsAt) < 23*time.Hour {
		t.Fatalf("rotated secret %+v", newSecret)
	}
	if g := must[*puguh.ServiceAccount](t)(c.ServiceAccounts.Get(ctx, sa.ID)); g.PreviousSecretEndsAt == nil || g.RotationDue {
		t.Fatalf("after rotation %+v", g)
	}
	saKey := must[*puguh.CreatedAPIKey](t)(c.ServiceAccounts.CreateAPIKey(ctx, sa.ID, puguh.APIKeyRequest{Name: "deployer key"}))
	if saKey.ServiceAccountID == nil || *saKey.ServiceAccountID != sa.ID {
		t.Fatal(saKey)
	}
	saOAuth := must[*oauth.Client](t)(oauth.New(ctx, oauth.Config{Issuer: server.BaseURL, ClientID: sa.ClientID, ClientSecret: sa.ClientSecret, AuthMethod: oauth.ClientSecretBasic}))
	saToken, err := saOAuth.ClientCredentials(ctx)
	if err != nil {
		t.Fatal(err)
	}
	saClient, _ := newClient(t, puguh.WithAccessToken(saToken.AccessToken, nil))
	if m := must[*puguh.Me](t)(saClient.IAM.Users.Me(ctx)); m.Type != "service_account" || m.ID != sa.ID {
		t.Fatal(m)
	}
	if err := c.ServiceAccounts.Delete(ctx, sa.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ServiceAccounts.Get(ctx, sa.ID); !puguh.IsNotFound(err) {
		t.Fatalf("a deleted service account: %v", err)
	}

	// Applications, and the grant a user's consent leaves.
	const redirect = "http://127.0.0.1:9/callback"
	app := must[*puguh.Application](t)(c.Applications.Create(ctx, puguh.ApplicationFields{Name: "Dashboard", RedirectURIs: []string{redirect}, Scopes: []string{"openid", "profile", "read:user"}}))
	if app.ClientID != app.ID || app.TokenEndpointAuthMethod != "client_secret_post" || !strings.HasPrefix(app.ClientSecret, "pghs_") {
		t.Fatal(app)
	}
	if l := must[*puguh.Page[puguh.Application]](t)(c.Applications.List(ctx)); len(l.Items) != 1 || l.Items[0].ClientSecret != "" {
		t.Fatal(l.Items)
	}
	if g := must[*puguh.Application](t)(c.Applications.Get(ctx, app.ID)); g.Name != "Dashboard" {
		t.Fatal(g)
	}
	updated := must[*puguh.Application](t)(c.Applications.Update(ctx, app.ID, puguh.ApplicationFields{Name: "Dashboard 2"}))
	if updated.Name != "Dashboard 2" || !slices.Equal(updated.RedirectURIs, []string{redirect}) {
		t.Fatal(updated)
	}
	rotated := must[*puguh.RotatedSecret](t)(c.Applications.RotateSecret(ctx, app.ID))
	if rotated.ClientID != app.ID || rotated.ClientSecret == app.ClientSecret {
		t.Fatal(rotated)
	}
	sso := must[*oauth.Client](t)(oauth.New(ctx, oauth.Config{Issuer: server.BaseURL, ClientID: app.ClientID, ClientSecret: rotated.ClientSecret, RedirectURL: redirect}))
	areq := must[*oauth.AuthorizationRequest](t)(sso.AuthorizationURL(oauth.AuthorizationParams{Scopes: []string{"openid", "read:user"}}))
	if _, err := sso.HandleCallback(ctx, puguhtest.NewBrowser(t, server.BaseURL).Authorize(t, areq.URL, members[0], "allow").String(), *areq); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Applications.Grants.List(ctx); err == nil || !strings.Contains(err.Error(), "application ID is required") {
		t.Fatalf("grants without an application: %v", err)
	}
	appClient, rec := newClient(t, puguh.WithAccessToken(c.AccessToken(), nil), puguh.WithApplicationID(app.ID), puguh.WithOnResponse(onResponse))
	grants := must[*puguh.Page[puguh.Grant]](t)(appClient.Applications.Grants.List(ctx))
	if len(grants.Items) != 1 || grants.Items[0].UserID != members[0].UserID || !slices.Equal(grants.Items[0].Scopes, []string{"openid", "read:user"}) {
		t.Fatalf("grants %+v", grants.Items)
	}
	if got := rec.Calls()[0].Application; got != app.ID {
		t.Fatalf("X-Application-ID %q", got)
	}
	if err := c.Applications.Grants.Revoke(ctx, members[0].UserID, puguh.WithApplicationID(app.ID)); err != nil {
		t.Fatal(err)
	}
	if g := must[*puguh.Page[puguh.Grant]](t)(appClient.Applications.Grants.List(ctx)); len(g.Items) != 0 {
		t.Fatal(g.Items)
	}
	if err := c.Applications.Delete(ctx, app.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Applications.Get(ctx, app.ID); !puguh.IsNotFound(err) {
		t.Fatal(err)
	}

	// The audit log: the organization's events, newest first, filtered and paged.
	events := must[*puguh.Page[puguh.AuditEvent]](t)(c.Audit.List(ctx, puguh.AuditEventParams{
		Types: []string{"application.created", "application.deleted"}, Actor: reg.UserID, PageParams: puguh.PageParams{Limit: 1}}))
	if len(events.Items) != 1 || events.Items[0].Type != "application.deleted" || events.Items[0].SubjectID != app.ID ||
		events.Items[0].OrganizationID != reg.OrganizationID || events.NextCursor == "" {
		t.Fatalf("audit events %+v", events)
	}
	var seen []string
	for ev, err := range c.Audit.ListAutoPaging(ctx, puguh.AuditEventParams{Types: []string{"application.created", "application.deleted"},
		Since: events.Items[0].OccurredAt.Add(-time.Hour), PageParams: puguh.PageParams{Limit: 1}}) {
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, ev.Type)
	}
	if strings.Join(seen, " ") != "application.deleted application.created" {
		t.Fatalf("audit events paged: %v", seen)
	}
	exerciseConnections(t, c, acme.ID)
	exerciseLifecycle(t, op)

	// The session: refresh rotates, logout ends it.
	before := c.RefreshToken()
	next := must[*puguh.TokenPair](t)(c.Auth.Refresh(ctx, ""))
	if next.RefreshToken == before || c.RefreshToken() != next.RefreshToken || c.AccessToken() != next.AccessToken {
		t.Fatal("refresh did not rotate the stored pair")
	}
	if err := c.Auth.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	if c.AccessToken() != "" || c.RefreshToken() != "" {
		t.Fatal("logout kept the tokens")
	}
	stale, _ := newClient(t, puguh.WithAccessToken(next.AccessToken, nil))
	if _, err := stale.IAM.Users.Me(ctx); !errors.As(err, &authErr) || !authErr.InvalidToken() {
		t.Fatalf("a logged-out token: %v", err)
	}

	// Every operation of the OpenAPI document answered 2xx through the SDK.
	var missing []string
	for _, op := range openAPIOperations(t) {
		if _, ok := reached.Load(op); !ok {
			missing = append(missing, op)
		}
	}
	if len(missing) > 0 {
		t.Fatalf("operations that never answered 2xx: %v", missing)
	}
}

// openAPIOperations are the operationIds of provider/rest/openapi.yaml.
func openAPIOperations(t *testing.T) []string {
	t.Helper()
	root, err := puguhtest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join(root, "provider", "rest", "openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var ops []string
	for _, m := range regexp.MustCompile(`(?m)^\s+operationId:\s*(\w+)\s*$`).FindAllStringSubmatch(string(doc), -1) {
		ops = append(ops, m[1])
	}
	if len(ops) < 30 {
		t.Fatalf("only %d operationIds in openapi.yaml", len(ops))
	}
	return ops
}
