package mfa

import (
	"context"
	"testing"
	"time"

	"github.com/arsaka/puguh/provider/audit"
	"github.com/arsaka/puguh/provider/authz"
	"github.com/arsaka/puguh/provider/problem"
	"github.com/arsaka/puguh/storage"
	"github.com/arsaka/puguh/storage/sqlstore"
	"github.com/arsaka/puguh/storage/sqlstore/sqltest"
)

// roles is a fake orgs.Service.ActIn: each user's role in any organization.
type roles map[string]string

func (r roles) ActIn(_ context.Context, p *authz.Principal, orgID string) (*authz.Principal, error) {
	role, ok := r[p.ID]
	if !ok {
		return nil, problem.NotFoundf("Organization not found")
	}
	q := *p
	q.OrganizationID, q.Role, q.Permissions = orgID, role, authz.ForRole(role)
	return &q, nil
}

// policyFixture is an organization "Acme" with the fixture's user as its
// member and an owner who manages the policy.
func policyFixture(t *testing.T, s *sqlstore.Store) (*fixture, *Policies, string, *authz.Principal) {
	t.Helper()
	f := newFixture(t, s)
	ctx := context.Background()
	owner := &storage.User{ID: f.user.ID + "-owner", Email: "owner-" + f.user.ID + "@example.com", PasswordHash: "x", CreatedAt: f.clock.Now(), UpdatedAt: f.clock.Now()}
	if err := s.Register(ctx, owner, &storage.Organization{ID: "o-" + owner.ID, Name: "p", Plan: storage.PlanFree, Personal: true, CreatedAt: f.clock.Now(), UpdatedAt: f.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	org := &storage.Organization{ID: "acme-" + f.user.ID, Name: "Acme", Plan: storage.PlanFree, CreatedAt: f.clock.Now(), UpdatedAt: f.clock.Now()}
	if err := s.CreateOrganization(ctx, org, owner.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.AddMember(ctx, &storage.Membership{OrganizationID: org.ID, UserID: f.user.ID, Role: authz.Member, CreatedAt: f.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	p := &Policies{Store: s, Roles: roles{owner.ID: authz.Owner, f.user.ID: authz.Member}, Factors: f.svc, Audit: f.audit, Now: f.clock.Now}
	return f, p, org.ID, &authz.Principal{Type: authz.TypeUser, ID: owner.ID}
}

func boolPtr(b bool) *bool { return &b }

// TestPolicyGracePeriod: the grace period counts from when the policy was
// turned on, to the second; enrolling ends what the policy asks; saving the
// policy again keeps its start; turning it off forgets it.
func TestPolicyGracePeriod(t *testing.T) {
	sqltest.ForEach(t, func(t *testing.T, s *sqlstore.Store) {
		f, p, orgID, owner := policyFixture(t, s)
		ctx := context.Background()
		if e, err := p.AtSignIn(ctx, f.user.ID); err != nil || e.Required {
			t.Fatalf("no policy: %+v, %v", e, err)
		}
		_, err := p.Set(ctx, f.user, orgID, PolicyInput{Required: boolPtr(true)})
		wantProblem(t, "a member sets the policy", err, problem.Forbidden, "Missing permission: organization.update")
		start := f.clock.Now()
		pol, err := p.Set(ctx, owner, orgID, PolicyInput{Required: boolPtr(true), GracePeriod: ptr("72h")})
		if err != nil || !pol.RequiredSince.Equal(start) || !pol.EnforcedFrom().Equal(start.Add(72*time.Hour)) {
			t.Fatalf("policy on: %+v, %v", pol, err)
		}
		f.clock.Add(72*time.Hour - time.Second)
		e, err := p.AtSignIn(ctx, f.user.ID)
		if err != nil || !e.Required || e.Enforced || !e.Deadline.Equal(start.Add(72*time.Hour)) || len(e.Organizations) != 1 || e.Organizations[0].Name != "Acme" {
			t.Fatalf("a second before the deadline: %+v, %v", e, err)
		}
		f.clock.Add(time.Second)
		if e, _ := p.AtSignIn(ctx, f.user.ID); !e.Enforced {
			t.Fatalf("at the deadline: %+v", e)
		}
		// A longer grace period moves the deadline from the same start.
		pol, _ = p.Set(ctx, owner, orgID, PolicyInput{Required: boolPtr(true), GracePeriod: ptr("96h")})
		if !pol.RequiredSince.Equal(start) {
			t.Fatalf("saving again moved the start: %+v", pol)
		}
		if e, _ := p.AtSignIn(ctx, f.user.ID); e.Enforced {
			t.Fatalf("within the longer grace period: %+v", e)
		}
		// Default grace period, and off.
		if pol, _ = p.Set(ctx, owner, orgID, PolicyInput{Required: boolPtr(false)}); pol.RequiredSince != nil || pol.GracePeriod != DefaultGracePeriod || pol.EnforcedFrom() != nil {
			t.Fatalf("policy off: %+v", pol)
		}
		if e, _ := p.AtSignIn(ctx, f.user.ID); e.Required {
			t.Fatalf("policy off: %+v", e)
		}
		pol, _ = p.Set(ctx, owner, orgID, PolicyInput{Required: boolPtr(true), GracePeriod: ptr("0s")})
		if !pol.RequiredSince.Equal(f.clock.Now()) {
			t.Fatalf("turned on again: the start is now, got %+v", pol)
		}
		// With a factor nothing more is asked (the second step asks for it).
		f.enrol(t)
		if e, _ := p.AtSignIn(ctx, f.user.ID); e.Required {
			t.Fatalf("with a factor: %+v", e)
		}
		var changes int
		for _, ev := range f.audit.events {
			if ev.Type == audit.OrganizationMFAPolicyChanged {
				changes++
				if ev.OrganizationID != orgID || ev.Actor.ID != owner.ID || ev.Subject.ID != orgID {
					t.Fatalf("policy event %+v", ev)
				}
			}
		}
		if changes != 4 {
			t.Fatalf("%d policy events, want 4", changes)
		}
	})
}

// TestEnrolmentAtSignIn: the enrolment challenge shows one secret, takes a
// wrong code, turns the app on with the right one (once), and proves both
// factors; skipping proves the password only; an expired or disabled
// user's challenge is refused.
func TestEnrolmentAtSignIn(t *testing.T) {
	sqltest.ForEach(t, func(t *testing.T, s *sqlstore.Store) {
		f := newFixture(t, s)
		ctx := context.Background()
		pending, err := f.svc.StartEnrolment(ctx, f.user.ID, []string{AMRPassword})
		if err != nil {
			t.Fatal(err)
		}
		e1, err := f.svc.BeginEnrolment(ctx, pending.Token)
		if err != nil {
			t.Fatal(err)
		}
		e2, _ := f.svc.BeginEnrolment(ctx, pending.Token)
		if e1.Secret != e2.Secret {
			t.Fatal("showing the enrolment again changed its secret")
		}
		_, _, err = f.svc.CompleteEnrolment(ctx, pending.Token, ptr("000000"))
		wantProblem(t, "wrong code", err, problem.Invalid, "")
		_, _, err = f.svc.CompleteEnrolment(ctx, "short", ptr("000000"))
		wantProblem(t, "malformed challenge", err, problem.Unauthenticated, ErrChallenge)
		proof, codes, err := f.svc.CompleteEnrolment(ctx, pending.Token, ptr(codeAt(t, e1.Secret, f.clock.Now())))
		if err != nil || len(codes) != RecoveryCodeCount || JoinAMR(proof.AMR) != "pwd otp mfa" || proof.User.ID != f.user.ID {
			t.Fatalf("complete: %+v %v %v", proof, codes, err)
		}
		_, _, err = f.svc.CompleteEnrolment(ctx, pending.Token, ptr(codeAt(t, e1.Secret, f.clock.Now().Add(30*time.Second))))
		wantProblem(t, "used challenge", err, problem.Unauthenticated, ErrChallenge)
		if has, err := f.svc.HasSecondFactor(ctx, f.user.ID); err != nil || !has {
			t.Fatalf("HasSecondFactor after enrolling: %v %v", has, err)
		}

		t.Run("skip, expiry, disabled", func(t *testing.T) { skipAndExpiry(t, s) })
	})
}

// skipAndExpiry: skipping proves the password only, once; a challenge
// expires with the enrolment; a user disabled since the password is refused.
func skipAndExpiry(t *testing.T, s *sqlstore.Store) {
	g := newFixture(t, s)
	ctx := context.Background()
	{
		skip, _ := g.svc.StartEnrolment(ctx, g.user.ID, []string{AMRPassword})
		proof, err := g.svc.SkipEnrolment(ctx, skip.Token)
		if err != nil || JoinAMR(proof.AMR) != "pwd" {
			t.Fatalf("skip: %+v %v", proof, err)
		}
		_, err = g.svc.SkipEnrolment(ctx, skip.Token)
		wantProblem(t, "skip twice", err, problem.Unauthenticated, ErrChallenge)

		// Expired after EnrolmentLifetime.
		late, _ := g.svc.StartEnrolment(ctx, g.user.ID, []string{AMRPassword})
		g.clock.Add(EnrolmentLifetime + time.Second)
		_, err = g.svc.BeginEnrolment(ctx, late.Token)
		wantProblem(t, "expired challenge", err, problem.Unauthenticated, ErrChallenge)

		// A user disabled since the password.
		off, _ := g.svc.StartEnrolment(ctx, g.user.ID, []string{AMRPassword})
		if err := s.SetUserDisabled(ctx, g.user.ID, true); err != nil {
			t.Fatal(err)
		}
		_, err = g.svc.SkipEnrolment(ctx, off.Token)
		wantProblem(t, "disabled user", err, problem.Unauthenticated, ErrChallenge)
	}
}

func TestParseGracePeriod(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Duration
		typ  string
	}{
		{"168h", 168 * time.Hour, ""}, {"0s", 0, ""}, {"90m", 90 * time.Minute, ""}, {"2160h", MaxGracePeriod, ""},
		{"soon", 0, "value_error.duration"}, {"-1s", 0, "value_error.duration.negative"},
		{"2160h1s", 0, "value_error.duration.max"}, {"1500ms", 0, "value_error.duration"}, {"", 0, "value_error.duration"},
	} {
		d, err := ParseGracePeriod(&c.in)
		if c.typ == "" && (err != nil || d != c.want) {
			t.Errorf("%q: %v, %v", c.in, d, err)
		}
		if c.typ != "" && (problem.As(err) == nil || problem.As(err).Issues[0].Type != c.typ) {
			t.Errorf("%q: error %v, want %s", c.in, err, c.typ)
		}
	}
	if d, err := ParseGracePeriod(nil); err != nil || d != DefaultGracePeriod {
		t.Errorf("nil: %v %v", d, err)
	}
	for d, want := range map[time.Duration]string{168 * time.Hour: "168h", 90 * time.Minute: "90m", 45 * time.Second: "45s", 0: "0s"} {
		if got := FormatGracePeriod(d); got != want {
			t.Errorf("FormatGracePeriod(%v) = %q, want %q", d, got, want)
		}
	}
}
