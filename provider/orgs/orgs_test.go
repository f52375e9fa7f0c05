package orgs_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/arsaka/puguh/provider/authz"
	"github.com/arsaka/puguh/provider/orgs"
	"github.com/arsaka/puguh/provider/problem"
	"github.com/arsaka/puguh/storage"
	"github.com/arsaka/puguh/storage/sqlstore"
	"github.com/arsaka/puguh/storage/sqlstore/sqltest"
)

// house is one organization with a member of every role, on a real store.
type house struct {
	svc   *orgs.Service
	org   string
	users map[string]string // role → user id
}

func newHouse(t *testing.T, s *sqlstore.Store) *house {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	h := &house{svc: &orgs.Service{Store: s, Now: func() time.Time { return now }}, users: map[string]string{}}
	for _, role := range []string{authz.Owner, authz.Admin, authz.Member, authz.Viewer, "outsider"} {
		u := &storage.User{ID: uuid.NewString(), Email: role + "-" + uuid.NewString()[:8] + "@example.com", FullName: role, PasswordHash: "x", CreatedAt: now, UpdatedAt: now}
		personal := &storage.Organization{ID: uuid.NewString(), Name: role, Plan: storage.PlanFree, CreatedAt: now, UpdatedAt: now}
		if err := s.Register(ctx, u, personal); err != nil {
			t.Fatal(err)
		}
		h.users[role] = u.ID
	}
	org := &storage.Organization{ID: uuid.NewString(), Name: "Acme", Plan: storage.PlanFree, CreatedAt: now, UpdatedAt: now}
	if err := s.CreateOrganization(ctx, org, h.users[authz.Owner]); err != nil {
		t.Fatal(err)
	}
	h.org = org.ID
	for _, role := range []string{authz.Admin, authz.Member, authz.Viewer} {
		if err := s.AddMember(ctx, &storage.Membership{OrganizationID: org.ID, UserID: h.users[role], Role: role, CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

// user is the principal of a user acting from their personal organization:
// the service must find their role in the house itself.
func (h *house) user(role string) *authz.Principal {
	return &authz.Principal{Type: authz.TypeUser, ID: h.users[role], OrganizationID: "personal"}
}

// key is an API key of the house with the given rank.
func (h *house) key(role string) *authz.Principal {
	return &authz.Principal{Type: authz.TypeAPIKey, ID: uuid.NewString(), OrganizationID: h.org, Role: role, Permissions: authz.ForRole(role), OwnerID: h.users[authz.Owner]}
}

func ptr(s string) *string { return &s }

// wantProblem fails unless err is a problem of kind with detail.
func wantProblem(t *testing.T, err error, kind problem.Kind, detail string) {
	t.Helper()
	p := problem.As(err)
	if p == nil || p.Kind != kind || p.Detail != detail {
		t.Fatalf("got %v (%#v), want kind %d %q", err, p, kind, detail)
	}
}

func TestChangeRoleTakesRankOverBothRoles(t *testing.T) {
	sqltest.ForEach(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		for _, tc := range []struct {
			name         string
			actor        func(h *house) *authz.Principal
			target, role string
			kind         problem.Kind
			detail       string
		}{
			{"owner promotes a member to admin", func(h *house) *authz.Principal { return h.user(authz.Owner) }, authz.Member, authz.Admin, 0, ""},
			{"admin makes a viewer a member", func(h *house) *authz.Principal { return h.user(authz.Admin) }, authz.Viewer, authz.Member, 0, ""},
			{"admin cannot make an owner", func(h *house) *authz.Principal { return h.user(authz.Admin) }, authz.Member, authz.Owner, problem.Forbidden, "Cannot manage the owner role"},
			{"admin cannot demote the owner", func(h *house) *authz.Principal { return h.user(authz.Admin) }, authz.Owner, authz.Member, problem.Forbidden, "Cannot manage the owner role"},
			{"member lacks the permission", func(h *house) *authz.Principal { return h.user(authz.Member) }, authz.Viewer, authz.Member, problem.Forbidden, "Missing permission: " + authz.MembersUpdate},
			{"outsider is not a member", func(h *house) *authz.Principal { return h.user("outsider") }, authz.Viewer, authz.Member, problem.Forbidden, "Not a member of this organization"},
			{"admin key cannot make an owner though its creator could", func(h *house) *authz.Principal { return h.key(authz.Admin) }, authz.Member, authz.Owner, problem.Forbidden, "Cannot manage the owner role"},
			{"an unknown member", func(h *house) *authz.Principal { return h.user(authz.Owner) }, "outsider", authz.Member, problem.NotFound, "Member not found"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				h := newHouse(t, s)
				m, err := h.svc.ChangeRole(ctx, tc.actor(h), h.org, h.users[tc.target], ptr(tc.role))
				if tc.kind != 0 {
					wantProblem(t, err, tc.kind, tc.detail)
					if got, _ := h.svc.Role(ctx, h.org, h.users[tc.target]); tc.target != "outsider" && got != tc.target {
						t.Fatalf("the refused change still wrote: role %q", got)
					}
					return
				}
				if err != nil || m.Role != tc.role {
					t.Fatalf("%v %+v", err, m)
				}
				if got, _ := h.svc.Role(ctx, h.org, h.users[tc.target]); got != tc.role {
					t.Fatalf("role now %q", got)
				}
			})
		}
	})
}

func TestTheLastOwnerStays(t *testing.T) {
	sqltest.ForEach(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		h := newHouse(t, s)
		owner := h.user(authz.Owner)
		wantProblem(t, h.svc.RemoveMember(ctx, owner, h.org, h.users[authz.Owner]), problem.Conflict, orgs.ErrLastOwner.Detail)
		_, err := h.svc.ChangeRole(ctx, owner, h.org, h.users[authz.Owner], ptr(authz.Admin))
		wantProblem(t, err, problem.Conflict, orgs.ErrLastOwner.Detail)

		// With a second owner, the first may step down.
		if _, err := h.svc.ChangeRole(ctx, owner, h.org, h.users[authz.Admin], ptr(authz.Owner)); err != nil {
			t.Fatal(err)
		}
		if err := h.svc.RemoveMember(ctx, owner, h.org, h.users[authz.Owner]); err != nil {
			t.Fatal(err)
		}
		if _, err := h.svc.Role(ctx, h.org, h.users[authz.Owner]); err != orgs.ErrNotMember {
			t.Fatalf("removed owner: %v", err)
		}
	})
}

func TestRemoveMemberTakesRank(t *testing.T) {
	sqltest.ForEach(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		h := newHouse(t, s)
		wantProblem(t, h.svc.RemoveMember(ctx, h.user(authz.Admin), h.org, h.users[authz.Owner]), problem.Forbidden, "Cannot manage the owner role")
		wantProblem(t, h.svc.RemoveMember(ctx, h.user(authz.Viewer), h.org, h.users[authz.Member]), problem.Forbidden, "Missing permission: "+authz.MembersDelete)
		if err := h.svc.RemoveMember(ctx, h.user(authz.Admin), h.org, h.users[authz.Member]); err != nil {
			t.Fatal(err)
		}
		wantProblem(t, h.svc.RemoveMember(ctx, h.user(authz.Admin), h.org, h.users[authz.Member]), problem.NotFound, "Member not found")
	})
}

func TestAddMemberRefusesARoleAboveTheActor(t *testing.T) {
	sqltest.ForEach(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		h := newHouse(t, s)
		outsider, err := s.UserByID(ctx, h.users["outsider"])
		if err != nil {
			t.Fatal(err)
		}
		_, err = h.svc.AddMember(ctx, h.key(authz.Admin), h.org, &outsider.Email, ptr(authz.Owner))
		wantProblem(t, err, problem.Forbidden, "Cannot manage the owner role")
		_, err = h.svc.AddMember(ctx, h.user(authz.Admin), h.org, &outsider.Email, ptr("superuser"))
		if p := problem.As(err); p == nil || p.Kind != problem.Invalid || len(p.Issues) != 1 || p.Issues[0].Type != "type_error.enum" {
			t.Fatalf("unknown role: %v", err)
		}
		if _, err := h.svc.Role(ctx, h.org, outsider.ID); err != orgs.ErrNotMember {
			t.Fatalf("a refused add still wrote: %v", err)
		}
	})
}

func TestCredentialsActOnlyInTheirOwnOrganization(t *testing.T) {
	sqltest.ForEach(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		h := newHouse(t, s)
		other := newHouse(t, s)
		// A key of the house asking about another organization learns nothing,
		// not even that it exists.
		_, err := h.svc.ActIn(ctx, h.key(authz.Owner), other.org)
		wantProblem(t, err, problem.NotFound, "Organization not found")
		// A user asking about an organization that does not exist.
		_, err = h.svc.ActIn(ctx, h.user(authz.Owner), uuid.NewString())
		wantProblem(t, err, problem.NotFound, "Organization not found")
		// A user acts with their role there, not the one they came with.
		q, err := h.svc.ActIn(ctx, &authz.Principal{Type: authz.TypeUser, ID: h.users[authz.Viewer], Role: authz.Owner}, h.org)
		if err != nil || q.Role != authz.Viewer || q.Permissions.Has(authz.MembersCreate) {
			t.Fatalf("%v %+v", err, q)
		}
	})
}
