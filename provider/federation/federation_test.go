package federation_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/arsaka/puguh/keys"
	"github.com/arsaka/puguh/provider/authz"
	"github.com/arsaka/puguh/provider/federation"
	"github.com/arsaka/puguh/provider/orgs"
	"github.com/arsaka/puguh/provider/password"
	"github.com/arsaka/puguh/provider/problem"
	"github.com/arsaka/puguh/storage"
	"github.com/arsaka/puguh/storage/sqlstore"
	"github.com/arsaka/puguh/storage/sqlstore/sqltest"
)

type fixture struct {
	svc   *federation.Service
	store *sqlstore.Store
	box   *keys.Box
	orgs  *orgs.Service
	ctx   context.Context
	n     int
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	store := sqltest.Open(t, sqltest.Backends()[0])
	box, err := keys.NewBox(bytes.Repeat([]byte("k"), 32), "federation-client-secret")
	if err != nil {
		t.Fatal(err)
	}
	hasher, err := password.NewHasher(password.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}, 0)
	if err != nil {
		t.Fatal(err)
	}
	o := &orgs.Service{Store: store}
	return &fixture{svc: &federation.Service{Store: store, Roles: o, Secrets: box, Hasher: hasher}, store: store, box: box, orgs: o, ctx: context.Background()}
}

// user registers a user and returns it with a principal in its personal organization.
func (f *fixture) user(t *testing.T, email string) (*storage.User, *authz.Principal) {
	t.Helper()
	f.n++
	now := time.Now().UTC()
	u := &storage.User{ID: email + "-id", Email: email, FullName: email, PasswordHash: "x", CreatedAt: now, UpdatedAt: now}
	org := &storage.Organization{ID: email + "-org", Name: email, Plan: storage.PlanFree, Personal: true, CreatedAt: now, UpdatedAt: now}
	if err := f.store.Register(f.ctx, u, org); err != nil {
		t.Fatal(err)
	}
	return u, &authz.Principal{Type: authz.TypeUser, ID: u.ID, OrganizationID: org.ID, Role: authz.Owner, Permissions: authz.ForRole(authz.Owner)}
}

func ptr[T any](v T) *T { return &v }

func input(domains ...string) federation.Input {
	return federation.Input{
		Name: ptr("Acme IdP"), Issuer: ptr("https://idp.acme.example"), ClientID: ptr("puguh"),
		ClientSecret: ptr("s3cret-value"), Domains: &domains,
		RoleMapping: &map[string]string{"engineering-admins": "admin", "readers": "viewer"},
	}
}

func wantProblem(t *testing.T, what string, err error, kind problem.Kind, detail string) {
	t.Helper()
	p := problem.As(err)
	if p == nil || p.Kind != kind || (detail != "" && p.Detail != detail) {
		t.Fatalf("%s: err = %v, want kind %d %q", what, err, kind, detail)
	}
}

func wantIssues(t *testing.T, what string, err error, want ...string) {
	t.Helper()
	p := problem.As(err)
	if p == nil || p.Kind != problem.Invalid {
		t.Fatalf("%s: err = %v, want Invalid", what, err)
	}
	var got []string
	for _, is := range p.Issues {
		got = append(got, is.Msg)
	}
	if len(got) != len(want) {
		t.Fatalf("%s: issues %q, want %q", what, got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("%s: issues %q, want %q", what, got, want)
		}
	}
}

func TestConnectionRules(t *testing.T) {
	f := newFixture(t)
	owner, p := f.user(t, "owner@acme.example")
	c, err := f.svc.Create(f.ctx, p, p.OrganizationID, input("acme.example", "ACME.example", "corp.acme.example"))
	if err != nil {
		t.Fatal(err)
	}
	if c.ClientSecretSealed != nil || c.Protocol != "oidc" || c.DefaultRole != "member" ||
		len(c.Domains) != 2 || c.Domains[0] != "acme.example" || c.Scopes[0] != "openid" {
		t.Fatalf("created %+v", c)
	}
	stored, _ := f.store.ConnectionByID(f.ctx, c.ID)
	if bytes.Contains(stored.ClientSecretSealed, []byte("s3cret-value")) {
		t.Fatal("the client secret is stored in the clear")
	}
	if plain, err := f.box.Open(c.ID, stored.ClientSecretSealed); err != nil || string(plain) != "s3cret-value" {
		t.Fatalf("sealed secret opens to %q, %v", plain, err)
	}
	lc, err := f.svc.ForLogin(f.ctx, c.ID)
	if err != nil || lc.ClientSecret != "s3cret-value" {
		t.Fatalf("ForLogin: %v %v", lc, err)
	}

	// Another organization's connection cannot claim a connected domain.
	_, q := f.user(t, "other@else.example")
	_, err = f.svc.Create(f.ctx, q, q.OrganizationID, input("else.example", "acme.example"))
	wantProblem(t, "taken domain", err, problem.Conflict, "Domain acme.example is already connected to another connection")
	// Nor see, change or delete it.
	_, err = f.svc.Get(f.ctx, q, p.OrganizationID, c.ID)
	wantProblem(t, "another organization", err, problem.Forbidden, "Not a member of this organization")
	_, err = f.svc.Get(f.ctx, q, q.OrganizationID, c.ID)
	wantProblem(t, "another organization's id", err, problem.NotFound, "Connection not found")
	wantProblem(t, "delete elsewhere", f.svc.Delete(f.ctx, q, q.OrganizationID, c.ID), problem.NotFound, "Connection not found")

	// Members and viewers may not manage connections; admins may, but not hand out owner.
	member, _ := f.user(t, "member@acme.example")
	admin, _ := f.user(t, "admin@acme.example")
	for _, m := range []struct {
		u    *storage.User
		role string
	}{{member, "member"}, {admin, "admin"}} {
		if err := f.store.AddMember(f.ctx, &storage.Membership{OrganizationID: p.OrganizationID, UserID: m.u.ID, Role: m.role, CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	mp := &authz.Principal{Type: authz.TypeUser, ID: member.ID, OrganizationID: "elsewhere"}
	_, err = f.svc.List(f.ctx, mp, p.OrganizationID)
	wantProblem(t, "member lists", err, problem.Forbidden, "Missing permission: organization.update")
	ap := &authz.Principal{Type: authz.TypeUser, ID: admin.ID, OrganizationID: "elsewhere"}
	list, err := f.svc.List(f.ctx, ap, p.OrganizationID)
	if err != nil || len(list) != 1 || list[0].ClientSecretSealed != nil {
		t.Fatalf("admin lists: %v %v", list, err)
	}
	_, err = f.svc.Update(f.ctx, ap, p.OrganizationID, c.ID, federation.Input{RoleMapping: &map[string]string{"boss": "owner"}})
	wantIssues(t, "admin maps to owner", err, "you cannot grant the role owner")
	_, err = f.svc.Update(f.ctx, ap, p.OrganizationID, c.ID, federation.Input{DefaultRole: ptr("owner")})
	wantIssues(t, "admin defaults to owner", err, "you cannot grant the role owner")

	// Validation.
	_, err = f.svc.Create(f.ctx, p, p.OrganizationID, federation.Input{})
	wantIssues(t, "empty", err, "field required", "field required", "field required", "field required", "field required")
	bad := input("not a domain")
	bad.Issuer, bad.Scopes, bad.DefaultRole = ptr("http://idp.example.com"), &[]string{"email"}, ptr("boss")
	_, err = f.svc.Create(f.ctx, p, p.OrganizationID, bad)
	wantIssues(t, "bad fields", err,
		"must be an https URL without query or fragment (http only on localhost)", "must include openid",
		"value is not a valid enumeration member; permitted: 'owner', 'admin', 'member', 'viewer'", "not a valid domain name")
	for _, iss := range []string{"http://127.0.0.1:8080", "http://localhost:1", "https://idp.example.com/tenant"} {
		in := input("x" + string(rune('a'+len(iss)%26)) + ".example")
		in.Issuer = &iss
		if _, err := f.svc.Create(f.ctx, p, p.OrganizationID, in); err != nil {
			t.Fatalf("issuer %s: %v", iss, err)
		}
	}

	// An update replaces the secret and the domains; the secret never comes back.
	up, err := f.svc.Update(f.ctx, p, p.OrganizationID, c.ID, federation.Input{ClientSecret: ptr("rotated"), Domains: &[]string{"acme.example"}})
	if err != nil || up.ClientSecretSealed != nil || len(up.Domains) != 1 {
		t.Fatalf("update: %+v %v", up, err)
	}
	if lc, _ := f.svc.ForLogin(f.ctx, c.ID); lc.ClientSecret != "rotated" {
		t.Fatalf("secret after update %q", lc.ClientSecret)
	}
	if err := f.svc.Delete(f.ctx, p, p.OrganizationID, c.ID); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.Get(f.ctx, p, p.OrganizationID, c.ID)
	wantProblem(t, "deleted", err, problem.NotFound, "Connection not found")
	_ = owner
}

func TestSignInRules(t *testing.T) {
	f := newFixture(t)
	_, p := f.user(t, "owner@acme.example")
	c, err := f.svc.Create(f.ctx, p, p.OrganizationID, input("acme.example"))
	if err != nil {
		t.Fatal(err)
	}
	lc, err := f.svc.ForLogin(f.ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok, _ := f.svc.Discover(f.ctx, " Jane@ACME.example"); !ok || got.ID != c.ID {
		t.Fatalf("discover: %v %v", got, ok)
	}
	if _, ok, _ := f.svc.Discover(f.ctx, "jane@other.example"); ok {
		t.Fatal("discover found a connection for another domain")
	}

	// Just-in-time provisioning with the mapped role.
	jane, err := f.svc.SignIn(f.ctx, lc, federation.Upstream{Subject: "up-jane", Email: "Jane@acme.example", Name: "Jane Doe",
		Groups: []string{"readers", "engineering-admins"}})
	if err != nil {
		t.Fatal(err)
	}
	if jane.Email != "jane@acme.example" || jane.FullName != "Jane Doe" {
		t.Fatalf("provisioned %+v", jane)
	}
	if role, err := f.orgs.Role(f.ctx, p.OrganizationID, jane.ID); err != nil || role != "admin" {
		t.Fatalf("role %q %v, want admin", role, err)
	}
	// The account has a password nobody knows.
	if jane.PasswordHash == "" || jane.PasswordHash == "x" {
		t.Fatalf("password hash %q", jane.PasswordHash)
	}
	// The same subject signs in as the same user, whatever email it sends now.
	again, err := f.svc.SignIn(f.ctx, lc, federation.Upstream{Subject: "up-jane", Email: "renamed@acme.example"})
	if err != nil || again.ID != jane.ID {
		t.Fatalf("second sign-in: %v %v", again, err)
	}
	// No groups: the default role.
	bob, err := f.svc.SignIn(f.ctx, lc, federation.Upstream{Subject: "up-bob", Email: "bob@acme.example"})
	if err != nil {
		t.Fatal(err)
	}
	if role, _ := f.orgs.Role(f.ctx, p.OrganizationID, bob.ID); role != "member" {
		t.Fatalf("default role %q", role)
	}

	// The refusals (docs/federation.md, "Account takeover").
	victim, _ := f.user(t, "victim@other.example")
	_, err = f.svc.SignIn(f.ctx, lc, federation.Upstream{Subject: "evil", Email: victim.Email, EmailVerified: true})
	if !errors.Is(err, federation.ErrDomain) {
		t.Fatalf("another domain's account: %v", err)
	}
	existing, _ := f.user(t, "existing@acme.example")
	_, err = f.svc.SignIn(f.ctx, lc, federation.Upstream{Subject: "up-existing", Email: existing.Email})
	if !errors.Is(err, federation.ErrUnverified) {
		t.Fatalf("unverified email of an existing account: %v", err)
	}
	_, err = f.svc.SignIn(f.ctx, lc, federation.Upstream{Subject: "up-existing", Email: existing.Email, EmailVerified: true})
	if !errors.Is(err, federation.ErrNotOrgMember) {
		t.Fatalf("existing account outside the organization: %v", err)
	}
	for _, up := range []federation.Upstream{{Email: "x@acme.example"}, {Subject: "s"}, {Subject: "s", Email: "not an email"}} {
		if _, err := f.svc.SignIn(f.ctx, lc, up); !errors.Is(err, federation.ErrNoSubject) && !errors.Is(err, federation.ErrNoEmail) {
			t.Fatalf("%+v: %v", up, err)
		}
	}
	// A member of the organization, verified upstream: linked, role kept.
	if err := f.store.AddMember(f.ctx, &storage.Membership{OrganizationID: p.OrganizationID, UserID: existing.ID, Role: "viewer", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	linked, err := f.svc.SignIn(f.ctx, lc, federation.Upstream{Subject: "up-existing", Email: existing.Email, EmailVerified: true, Groups: []string{"engineering-admins"}})
	if err != nil || linked.ID != existing.ID {
		t.Fatalf("link: %v %v", linked, err)
	}
	if role, _ := f.orgs.Role(f.ctx, p.OrganizationID, existing.ID); role != "viewer" {
		t.Fatalf("a link changed the role to %q", role)
	}
	// A disabled linked account is refused.
	if err := f.store.SetUserDisabled(f.ctx, jane.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SignIn(f.ctx, lc, federation.Upstream{Subject: "up-jane"}); !errors.Is(err, federation.ErrDisabled) {
		t.Fatalf("disabled: %v", err)
	}
	// A deleted connection cannot sign anyone in.
	if err := f.svc.Delete(f.ctx, p, p.OrganizationID, c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.ForLogin(f.ctx, c.ID); !errors.Is(err, federation.ErrConnectionGone) {
		t.Fatalf("ForLogin of a deleted connection: %v", err)
	}
}

func TestFromClaims(t *testing.T) {
	c := &federation.Connection{FederationConnection: storage.FederationConnection{EmailClaim: "mail", NameClaim: "display", GroupsClaim: "roles"}}
	up := federation.FromClaims(c, map[string]any{"sub": "s1", "mail": "a@b.example", "display": "A", "roles": []any{"x", 3, "y"}, "email_verified": "true"})
	if up.Subject != "s1" || up.Email != "a@b.example" || up.Name != "A" || len(up.Groups) != 2 || !up.EmailVerified {
		t.Fatalf("%+v", up)
	}
	if up := federation.FromClaims(c, map[string]any{"roles": "solo", "email_verified": false}); len(up.Groups) != 1 || up.EmailVerified {
		t.Fatalf("%+v", up)
	}
}
