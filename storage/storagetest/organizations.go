package storagetest

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arsaka/puguh/storage"
)

func normOrganization(o *storage.Organization) {
	o.CreatedAt = micro(o.CreatedAt)
	o.UpdatedAt = micro(o.UpdatedAt)
}

func normMembership(m *storage.Membership) { m.CreatedAt = micro(m.CreatedAt) }

// addMember registers a new user and adds it to orgID with role.
func addMember(t *testing.T, s OrganizationStores, orgID, role string) *storage.User {
	t.Helper()
	u, _ := registerUser(t, s)
	m := &storage.Membership{OrganizationID: orgID, UserID: u.ID, Role: role, CreatedAt: baseTime()}
	if err := s.AddMember(context.Background(), m); err != nil {
		t.Fatalf("AddMember: %v", err)
	}
	return u
}

// TestOrganizationStore checks a storage.OrganizationStore; newStore returns a fresh, empty store.
func TestOrganizationStore(t *testing.T, newStore func(t *testing.T) OrganizationStores) {
	ctx := context.Background()

	t.Run("register creates personal organization with owner", func(t *testing.T) {
		s := newStore(t)
		u, org := newUser(t, "dave@example.com")
		wantOrg := *org
		wantErr(t, "Register", s.Register(ctx, u, org), nil)
		got, err := s.OrganizationByID(ctx, org.ID)
		wantErr(t, "OrganizationByID", err, nil)
		wantEqual(t, "OrganizationByID", *got, wantOrg, normOrganization)
		m, err := s.Membership(ctx, org.ID, u.ID)
		wantErr(t, "Membership", err, nil)
		wantEqual(t, "Membership", *m, storage.Membership{OrganizationID: org.ID, UserID: u.ID, Role: storage.RoleOwner, CreatedAt: u.CreatedAt}, normMembership)
		orgs, err := s.OrganizationsOfUser(ctx, u.ID)
		wantErr(t, "OrganizationsOfUser", err, nil)
		wantEqual(t, "OrganizationsOfUser", orgs, []storage.UserOrganization{{Organization: wantOrg, Role: storage.RoleOwner}}, normUserOrganizations)
	})

	t.Run("refused register leaves no organization", func(t *testing.T) {
		s := newStore(t)
		registerUserWithEmail(t, s, "erin@example.com")
		u, org := newUser(t, "ERIN@example.com")
		wantErr(t, "Register", s.Register(ctx, u, org), storage.ErrConflict)
		_, err := s.OrganizationByID(ctx, org.ID)
		wantErr(t, "OrganizationByID", err, storage.ErrNotFound)
	})

	t.Run("create organization", func(t *testing.T) {
		s := newStore(t)
		u, personal := registerUser(t, s)
		org := &storage.Organization{ID: newID(t), Name: "Acme", Plan: storage.PlanEnterprise, RateLimit: 5000,
			CreatedAt: personal.CreatedAt.Add(time.Hour), UpdatedAt: personal.CreatedAt.Add(2 * time.Hour)}
		want := *org
		wantErr(t, "CreateOrganization", s.CreateOrganization(ctx, org, u.ID), nil)
		got, err := s.OrganizationByID(ctx, org.ID)
		wantErr(t, "OrganizationByID", err, nil)
		wantEqual(t, "OrganizationByID", *got, want, normOrganization)
		m, err := s.Membership(ctx, org.ID, u.ID)
		wantErr(t, "Membership", err, nil)
		if m.Role != storage.RoleOwner {
			t.Fatalf("creator's role = %q, want owner", m.Role)
		}
		orgs, err := s.OrganizationsOfUser(ctx, u.ID)
		wantErr(t, "OrganizationsOfUser", err, nil)
		wantEqual(t, "OrganizationsOfUser (oldest first)", orgs, []storage.UserOrganization{
			{Organization: *personal, Role: storage.RoleOwner},
			{Organization: want, Role: storage.RoleOwner},
		}, normUserOrganizations)
	})

	t.Run("create organization errors", func(t *testing.T) {
		for _, tc := range []struct {
			name  string
			orgID func(taken string) string
			owner func(real string) string
			want  error
		}{
			{"unknown owner", func(string) string { return "new-org" }, func(string) string { return "missing" }, storage.ErrNotFound},
			{"taken id", func(taken string) string { return taken }, func(real string) string { return real }, storage.ErrConflict},
		} {
			t.Run(tc.name, func(t *testing.T) {
				s := newStore(t)
				u, personal := registerUser(t, s)
				org := &storage.Organization{ID: tc.orgID(personal.ID), Name: "X", Plan: storage.PlanFree, CreatedAt: baseTime(), UpdatedAt: baseTime()}
				wantErr(t, "CreateOrganization", s.CreateOrganization(ctx, org, tc.owner(u.ID)), tc.want)
				if org.ID != personal.ID {
					_, err := s.OrganizationByID(ctx, org.ID)
					wantErr(t, "OrganizationByID after refused create", err, storage.ErrNotFound)
				}
			})
		}
	})

	t.Run("set plan", func(t *testing.T) {
		s := newStore(t)
		_, org := registerUser(t, s)
		wantErr(t, "SetPlan", s.SetPlan(ctx, org.ID, storage.PlanEnterprise, 12000), nil)
		got, err := s.OrganizationByID(ctx, org.ID)
		wantErr(t, "OrganizationByID", err, nil)
		if got.Plan != storage.PlanEnterprise || got.RateLimit != 12000 {
			t.Fatalf("plan = %q/%d, want enterprise/12000", got.Plan, got.RateLimit)
		}
		if !got.UpdatedAt.After(org.UpdatedAt) {
			t.Fatalf("UpdatedAt = %v, want later than %v", got.UpdatedAt, org.UpdatedAt)
		}
	})

	t.Run("add member", func(t *testing.T) {
		s := newStore(t)
		_, org := registerUser(t, s)
		u, _ := registerUser(t, s)
		m := storage.Membership{OrganizationID: org.ID, UserID: u.ID, Role: storage.RoleViewer, CreatedAt: baseTime()}
		wantErr(t, "AddMember", s.AddMember(ctx, &m), nil)
		got, err := s.Membership(ctx, org.ID, u.ID)
		wantErr(t, "Membership", err, nil)
		wantEqual(t, "Membership", *got, m, normMembership)

		for _, tc := range []struct {
			name string
			m    storage.Membership
			want error
		}{
			{"again", storage.Membership{OrganizationID: org.ID, UserID: u.ID, Role: storage.RoleAdmin}, storage.ErrConflict},
			{"unknown user", storage.Membership{OrganizationID: org.ID, UserID: "missing", Role: storage.RoleAdmin}, storage.ErrNotFound},
			{"unknown organization", storage.Membership{OrganizationID: "missing", UserID: u.ID, Role: storage.RoleAdmin}, storage.ErrNotFound},
		} {
			t.Run(tc.name, func(t *testing.T) { wantErr(t, "AddMember", s.AddMember(ctx, &tc.m), tc.want) })
		}
	})

	t.Run("not found", func(t *testing.T) {
		s := newStore(t)
		u, org := registerUser(t, s)
		for _, tc := range []struct {
			name string
			call func() error
		}{
			{"OrganizationByID", func() error { _, err := s.OrganizationByID(ctx, "missing"); return err }},
			{"SetPlan", func() error { return s.SetPlan(ctx, "missing", storage.PlanPro, 0) }},
			{"Membership of unknown user", func() error { _, err := s.Membership(ctx, org.ID, "missing"); return err }},
			{"Membership in unknown organization", func() error { _, err := s.Membership(ctx, "missing", u.ID); return err }},
			{"UpdateMemberRole", func() error { return s.UpdateMemberRole(ctx, org.ID, "missing", storage.RoleAdmin) }},
			{"RemoveMember", func() error { return s.RemoveMember(ctx, org.ID, "missing") }},
		} {
			t.Run(tc.name, func(t *testing.T) { wantErr(t, tc.name, tc.call(), storage.ErrNotFound) })
		}
	})

	t.Run("last owner", func(t *testing.T) {
		for _, tc := range []struct {
			name       string
			extraOwner bool   // a second owner besides the one registered
			targetRole string // role of the member the change applies to
			remove     bool   // remove the target, else change its role to newRole
			newRole    string
			want       error
		}{
			{"remove sole owner", false, storage.RoleOwner, true, "", storage.ErrPrecondition},
			{"demote sole owner", false, storage.RoleOwner, false, storage.RoleAdmin, storage.ErrPrecondition},
			{"sole owner stays owner", false, storage.RoleOwner, false, storage.RoleOwner, nil},
			{"remove one of two owners", true, storage.RoleOwner, true, "", nil},
			{"demote one of two owners", true, storage.RoleOwner, false, storage.RoleMember, nil},
			{"remove a member", false, storage.RoleMember, true, "", nil},
			{"promote a member", false, storage.RoleMember, false, storage.RoleOwner, nil},
			{"demote a member", false, storage.RoleMember, false, storage.RoleViewer, nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				s := newStore(t)
				owner, org := registerUser(t, s)
				if tc.extraOwner {
					addMember(t, s, org.ID, storage.RoleOwner)
				}
				target := owner.ID
				if tc.targetRole != storage.RoleOwner {
					target = addMember(t, s, org.ID, tc.targetRole).ID
				}
				var err error
				if tc.remove {
					err = s.RemoveMember(ctx, org.ID, target)
				} else {
					err = s.UpdateMemberRole(ctx, org.ID, target, tc.newRole)
				}
				wantErr(t, "change", err, tc.want)

				m, err := s.Membership(ctx, org.ID, target)
				switch {
				case tc.want != nil: // refused: nothing changed
					wantErr(t, "Membership", err, nil)
					if m.Role != tc.targetRole {
						t.Fatalf("role after refused change = %q, want %q", m.Role, tc.targetRole)
					}
				case tc.remove:
					wantErr(t, "Membership after removal", err, storage.ErrNotFound)
				default:
					wantErr(t, "Membership", err, nil)
					if m.Role != tc.newRole {
						t.Fatalf("role = %q, want %q", m.Role, tc.newRole)
					}
				}
				if n := countOwners(t, s, org.ID); n == 0 {
					t.Fatal("organization left without an owner")
				}
			})
		}
	})

	t.Run("concurrent changes of two owners", func(t *testing.T) {
		for _, tc := range []struct {
			name   string
			change func(s OrganizationStores, orgID, userID string) error
		}{
			{"remove", func(s OrganizationStores, orgID, userID string) error { return s.RemoveMember(ctx, orgID, userID) }},
			{"demote", func(s OrganizationStores, orgID, userID string) error {
				return s.UpdateMemberRole(ctx, orgID, userID, storage.RoleAdmin)
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				s := newStore(t)
				// Several rounds: one race may by chance run the two transactions one after the other.
				for round := 0; round < 5; round++ {
					a, org := registerUser(t, s)
					b := addMember(t, s, org.ID, storage.RoleOwner)
					errs := make([]error, 2)
					start := make(chan struct{})
					var wg sync.WaitGroup
					for i, id := range []string{a.ID, b.ID} {
						wg.Add(1)
						go func() {
							defer wg.Done()
							<-start
							errs[i] = tc.change(s, org.ID, id)
						}()
					}
					close(start)
					wg.Wait()
					if ok := countNil(t, errs, storage.ErrPrecondition); ok != 1 {
						t.Fatalf("round %d: %d of 2 concurrent changes succeeded (errors %v), want exactly 1", round, ok, errs)
					}
					if n := countOwners(t, s, org.ID); n != 1 {
						t.Fatalf("round %d: %d owners left, want 1", round, n)
					}
				}
			})
		}
	})

	t.Run("list members pages by user id", func(t *testing.T) {
		s := newStore(t)
		owner, org := registerUser(t, s)
		want := []storage.Member{{
			Membership: storage.Membership{OrganizationID: org.ID, UserID: owner.ID, Role: storage.RoleOwner, CreatedAt: owner.CreatedAt},
			Email:      owner.Email, FullName: owner.FullName,
		}}
		for i := 0; i < 6; i++ {
			u := addMember(t, s, org.ID, storage.RoleMember)
			want = append(want, storage.Member{
				Membership: storage.Membership{OrganizationID: org.ID, UserID: u.ID, Role: storage.RoleMember, CreatedAt: baseTime()},
				Email:      u.Email, FullName: u.FullName,
			})
		}
		addMember(t, s, registerOrg(t, s), storage.RoleMember) // another organization's member stays out
		slices.SortFunc(want, func(a, b storage.Member) int { return strings.Compare(a.UserID, b.UserID) })

		for _, tc := range []struct {
			name  string
			limit int
			pages []int // sizes of the pages expected, the last one empty or short
		}{
			{"pages of 3", 3, []int{3, 3, 1, 0}},
			{"pages of 7", 7, []int{7, 0}},
			{"pages of 10", 10, []int{7}},
			{"default limit", 0, []int{7}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				var got []storage.Member
				page := storage.Page{Limit: tc.limit}
				for i, size := range tc.pages {
					members, err := s.ListMembers(ctx, org.ID, page)
					wantErr(t, "ListMembers", err, nil)
					if len(members) != size {
						t.Fatalf("page %d has %d members, want %d", i, len(members), size)
					}
					got = append(got, members...)
					if size > 0 {
						page.After = members[len(members)-1].UserID
					}
				}
				wantEqual(t, "members", got, want, normMembers)
			})
		}
	})

	t.Run("user without organizations", func(t *testing.T) {
		s := newStore(t)
		orgs, err := s.OrganizationsOfUser(ctx, "missing")
		wantErr(t, "OrganizationsOfUser", err, nil)
		if orgs == nil || len(orgs) != 0 {
			t.Fatalf("OrganizationsOfUser = %#v, want an empty list", orgs)
		}
	})
}

func normUserOrganizations(orgs *[]storage.UserOrganization) {
	for i := range *orgs {
		normOrganization(&(*orgs)[i].Organization)
	}
}

func normMembers(ms *[]storage.Member) {
	for i := range *ms {
		normMembership(&(*ms)[i].Membership)
	}
}

// registerUserWithEmail registers a user with the given email.
func registerUserWithEmail(t *testing.T, s storage.UserStore, email string) *storage.User {
	t.Helper()
	u, org := newUser(t, email)
	if err := s.Register(context.Background(), u, org); err != nil {
		t.Fatalf("Register: %v", err)
	}
	return u
}

// registerOrg registers a user and returns the id of its personal organization.
func registerOrg(t *testing.T, s storage.UserStore) string {
	t.Helper()
	_, org := registerUser(t, s)
	return org.ID
}

// countOwners counts the owners of orgID through ListMembers.
func countOwners(t *testing.T, s storage.OrganizationStore, orgID string) int {
	t.Helper()
	members, err := s.ListMembers(context.Background(), orgID, storage.Page{Limit: 1000})
	if err != nil {
		t.Fatalf("ListMembers: %v", err)
	}
	n := 0
	for _, m := range members {
		if m.Role == storage.RoleOwner {
			n++
		}
	}
	return n
}
