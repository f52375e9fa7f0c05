package storagetest

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/arsaka/puguh/storage"
)

// LifecycleStores is what TestLifecycleStore needs: consents tie users to
// applications of organizations, deletion reaches memberships, sessions,
// family records and the audit log.
type LifecycleStores interface {
	storage.UserStore
	storage.OrganizationStore
	storage.ApplicationStore
	storage.SessionStore
	storage.ConsentGrantStore
	storage.AuditStore
	storage.LifecycleStore
}

// TestLifecycleStore checks a storage.LifecycleStore; newStore returns a fresh, empty store.
func TestLifecycleStore(t *testing.T, newStore func(t *testing.T) LifecycleStores) {
	ctx := context.Background()
	t0 := baseTime()
	must := func(t *testing.T, what string, err error) {
		t.Helper()
		wantErr(t, what, err, nil)
	}
	// world: an owner with an organization and two applications, and a user.
	world := func(t *testing.T, s LifecycleStores) (owner, user *storage.User, a, b *storage.Application) {
		t.Helper()
		owner, org := registerUser(t, s)
		user, _ = registerUser(t, s)
		a, b = newApplication(t, org.ID, t0), newApplication(t, org.ID, t0)
		must(t, "CreateApplication", s.CreateApplication(ctx, a))
		must(t, "CreateApplication", s.CreateApplication(ctx, b))
		return owner, user, a, b
	}

	t.Run("consents of a user, with the newest use of each", func(t *testing.T) {
		s := newStore(t)
		owner, user, a, b := world(t, s)
		if got, err := s.ConsentsOfUser(ctx, user.ID); err != nil || got == nil || len(got) != 0 {
			t.Fatalf("no consents: %v %v, want an empty list", got, err)
		}
		saveGrant(t, s, user, a.ID, t0, "openid", "profile")
		saveGrant(t, s, user, b.ID, t0.Add(time.Minute), "openid")
		saveGrant(t, s, owner, a.ID, t0, "openid")
		for i, at := range []time.Time{t0.Add(time.Hour), t0.Add(2 * time.Hour)} {
			must(t, "AddSessionFamily", s.AddSessionFamily(ctx, &storage.SessionFamily{FamilyID: newID(t), SessionID: newID(t),
				UserID: user.ID, ApplicationID: a.ID, CreatedAt: at, ExpiresAt: at.Add(time.Duration(i+1) * time.Hour)}))
		}
		got, err := s.ConsentsOfUser(ctx, user.ID)
		must(t, "ConsentsOfUser", err)
		used := micro(t0.Add(2 * time.Hour))
		want := []storage.UserConsent{
			{ApplicationID: a.ID, ApplicationName: a.Name, Scopes: []string{"openid", "profile"}, GrantedAt: micro(t0), UpdatedAt: micro(t0.Add(time.Second)), LastUsedAt: &used},
			{ApplicationID: b.ID, ApplicationName: b.Name, Scopes: []string{"openid"}, GrantedAt: micro(t0.Add(time.Minute)), UpdatedAt: micro(t0.Add(time.Minute + time.Second))},
		}
		for i := range got {
			got[i].GrantedAt, got[i].UpdatedAt, got[i].LastUsedAt = micro(got[i].GrantedAt), micro(got[i].UpdatedAt), microPtr(got[i].LastUsedAt)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("ConsentsOfUser = %+v\nwant %+v", got, want)
		}
	})

	t.Run("ownership", func(t *testing.T) {
		s := newStore(t)
		owner, user, _, _ := world(t, s)
		team := &storage.Organization{ID: newID(t), Name: "Team", Plan: storage.PlanFree, CreatedAt: t0.Add(time.Hour), UpdatedAt: t0.Add(time.Hour)}
		must(t, "CreateOrganization", s.CreateOrganization(ctx, team, owner.ID))
		must(t, "AddMember", s.AddMember(ctx, &storage.Membership{OrganizationID: team.ID, UserID: user.ID, Role: storage.RoleMember, CreatedAt: t0}))
		got, err := s.OwnershipOfUser(ctx, owner.ID)
		must(t, "OwnershipOfUser", err)
		if len(got) != 2 || got[0].Members != 1 || got[0].Owners != 1 || !got[0].Personal || got[0].Role != storage.RoleOwner ||
			got[1] != (storage.Ownership{ID: team.ID, Name: "Team", Role: storage.RoleOwner, Members: 2, Owners: 1}) {
			t.Fatalf("the owner's ownership %+v", got)
		}
		got, err = s.OwnershipOfUser(ctx, user.ID)
		must(t, "OwnershipOfUser", err)
		if len(got) != 2 || got[1].ID != team.ID || got[1].Role != storage.RoleMember || got[1].Members != 2 {
			t.Fatalf("the member's ownership %+v", got)
		}
	})

	t.Run("delete erases the user and the organizations named", func(t *testing.T) {
		s := newStore(t)
		owner, user, a, _ := world(t, s)
		personal, err := s.OrganizationsOfUser(ctx, user.ID)
		must(t, "OrganizationsOfUser", err)
		must(t, "AddMember", s.AddMember(ctx, &storage.Membership{OrganizationID: a.OrganizationID, UserID: user.ID, Role: storage.RoleMember, CreatedAt: t0}))
		saveGrant(t, s, user, a.ID, t0, "openid")
		must(t, "AddSessionFamily", s.AddSessionFamily(ctx, &storage.SessionFamily{FamilyID: newID(t), SessionID: newID(t),
			UserID: user.ID, ApplicationID: a.ID, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}))
		for i, e := range []*storage.AuditEvent{
			{Type: "sign_in.succeeded", ActorType: "user", ActorID: user.ID, SubjectType: "user", SubjectID: user.ID},
			{Type: "member.added", OrganizationID: a.OrganizationID, ActorType: "user", ActorID: owner.ID, SubjectType: "user", SubjectID: user.ID},
			{Type: "sign_in.succeeded", ActorType: "user", ActorID: owner.ID, SubjectType: "user", SubjectID: owner.ID},
		} {
			e.ID, e.At, e.IP, e.UserAgent = newID(t), t0.Add(time.Duration(i)*time.Second), "203.0.113.7", "Browser/1.0"
			must(t, "InsertAuditEvent", s.InsertAuditEvent(ctx, e))
		}

		must(t, "DeleteUser", s.DeleteUser(ctx, user.ID, []string{personal[0].ID}))
		if _, err := s.UserByID(ctx, user.ID); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("UserByID after delete: %v", err)
		}
		if _, err := s.UserByEmail(ctx, user.Email); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("UserByEmail after delete: %v", err)
		}
		if _, err := s.OrganizationByID(ctx, personal[0].ID); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("the personal organization after delete: %v", err)
		}
		if _, err := s.OrganizationByID(ctx, a.OrganizationID); err != nil {
			t.Fatalf("the shared organization after delete: %v", err)
		}
		if _, err := s.Membership(ctx, a.OrganizationID, user.ID); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("the membership after delete: %v", err)
		}
		if _, err := s.ConsentGrant(ctx, a.ID, user.ID); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("the consent after delete: %v", err)
		}
		if got, err := s.FamiliesOfUser(ctx, user.ID, time.Time{}); err != nil || len(got) != 0 {
			t.Fatalf("family records after delete: %v %v", got, err)
		}
		events, err := s.AuditEvents(ctx, storage.AuditQuery{UserID: user.ID, Limit: 10})
		must(t, "AuditEvents", err)
		if len(events) != 2 {
			t.Fatalf("the user's events after delete: %+v, want both kept", events)
		}
		for _, e := range events {
			if e.IP != "" || e.UserAgent != "" {
				t.Fatalf("event %s kept the address %q and agent %q", e.Type, e.IP, e.UserAgent)
			}
		}
		others, err := s.AuditEvents(ctx, storage.AuditQuery{UserID: owner.ID, Limit: 10})
		must(t, "AuditEvents", err)
		for _, e := range others {
			if e.SubjectID == owner.ID && e.IP != "203.0.113.7" {
				t.Fatalf("another user's event lost its address: %+v", e)
			}
		}
		wantErr(t, "DeleteUser again", s.DeleteUser(ctx, user.ID, nil), storage.ErrNotFound)
	})
}
