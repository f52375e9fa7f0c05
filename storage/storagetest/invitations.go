package storagetest

import (
	"context"
	"testing"
	"time"

	"github.com/arsaka/puguh/storage"
)

// InvitationStores is what TestInvitationStore needs: invitations belong to
// organizations, and accepting one adds a member.
type InvitationStores interface {
	storage.UserStore
	storage.OrganizationStore
	storage.InvitationStore
}

func normInvitation(i *storage.Invitation) {
	i.CreatedAt, i.ExpiresAt, i.EndedAt = micro(i.CreatedAt), micro(i.ExpiresAt), microPtr(i.EndedAt)
}

// newInvitation returns an unsaved pending invitation to orgID for email,
// created at baseTime and working for an hour. ids grow with n, as UUIDv7s do.
func newInvitation(t *testing.T, orgID, email string, n int) *storage.Invitation {
	t.Helper()
	at := baseTime()
	return &storage.Invitation{ID: "inv-" + string(rune('a'+n)) + "-" + newID(t), OrganizationID: orgID, Email: email, Role: storage.RoleMember,
		TokenHash: []byte(newID(t)), InvitedByType: "user", InvitedByID: "inviter", CreatedAt: at, ExpiresAt: at.Add(time.Hour)}
}

// TestInvitationStore checks a storage.InvitationStore.
func TestInvitationStore(t *testing.T, newStore func(t *testing.T) InvitationStores) {
	ctx := context.Background()
	now := baseTime().Add(time.Minute)

	t.Run("create, find by token, list pending", func(t *testing.T) {
		s := newStore(t)
		_, org := registerUser(t, s)
		a, b := newInvitation(t, org.ID, "a@example.com", 0), newInvitation(t, org.ID, "b@example.com", 1)
		wantErr(t, "CreateInvitation a", s.CreateInvitation(ctx, a, now), nil)
		wantErr(t, "CreateInvitation b", s.CreateInvitation(ctx, b, now), nil)
		got, err := s.InvitationByTokenHash(ctx, a.TokenHash)
		wantErr(t, "InvitationByTokenHash", err, nil)
		wantEqual(t, "InvitationByTokenHash", *got, *a, normInvitation)
		if got.Status != storage.InvitationPending || got.State(now) != storage.InvitationPending || got.State(a.ExpiresAt) != storage.InvitationExpired {
			t.Fatalf("state %q / %q", got.Status, got.State(a.ExpiresAt))
		}
		_, err = s.InvitationByTokenHash(ctx, []byte("nope"))
		wantErr(t, "InvitationByTokenHash unknown", err, storage.ErrNotFound)
		list, err := s.PendingInvitations(ctx, org.ID, now, storage.Page{Limit: 10})
		wantErr(t, "PendingInvitations", err, nil)
		wantEqual(t, "PendingInvitations", list, []storage.Invitation{*a, *b}, func(l *[]storage.Invitation) {
			for i := range *l {
				normInvitation(&(*l)[i])
			}
		})
		page, err := s.PendingInvitations(ctx, org.ID, now, storage.Page{After: a.ID, Limit: 10})
		wantErr(t, "PendingInvitations after", err, nil)
		if len(page) != 1 || page[0].ID != b.ID {
			t.Fatalf("second page %+v", page)
		}
		if list, _ := s.PendingInvitations(ctx, org.ID, a.ExpiresAt, storage.Page{}); len(list) != 0 {
			t.Fatalf("expired invitations listed: %+v", list)
		}
		_, err = s.PendingInvitation(ctx, org.ID, a.ID, now)
		wantErr(t, "PendingInvitation", err, nil)
		_, err = s.PendingInvitation(ctx, "other-org", a.ID, now)
		wantErr(t, "PendingInvitation of another organization", err, storage.ErrNotFound)
	})

	t.Run("one pending invitation per address; an expired one makes way", func(t *testing.T) {
		s := newStore(t)
		_, org := registerUser(t, s)
		first := newInvitation(t, org.ID, "c@example.com", 0)
		wantErr(t, "CreateInvitation", s.CreateInvitation(ctx, first, now), nil)
		wantErr(t, "CreateInvitation again", s.CreateInvitation(ctx, newInvitation(t, org.ID, "c@example.com", 1), now), storage.ErrConflict)
		_, other := registerUser(t, s)
		wantErr(t, "CreateInvitation elsewhere", s.CreateInvitation(ctx, newInvitation(t, other.ID, "c@example.com", 2), now), nil)
		later := first.ExpiresAt.Add(time.Second)
		again := newInvitation(t, org.ID, "c@example.com", 3)
		wantErr(t, "CreateInvitation after expiry", s.CreateInvitation(ctx, again, later), nil)
		old, err := s.InvitationByTokenHash(ctx, first.TokenHash)
		wantErr(t, "InvitationByTokenHash", err, nil)
		if old.Status != storage.InvitationExpired || old.EndedAt == nil {
			t.Fatalf("the replaced invitation is %q, ended %v", old.Status, old.EndedAt)
		}
		wantErr(t, "CreateInvitation no organization", s.CreateInvitation(ctx, newInvitation(t, "missing", "d@example.com", 4), now), storage.ErrNotFound)
	})

	t.Run("revoke", func(t *testing.T) {
		s := newStore(t)
		_, org := registerUser(t, s)
		inv := newInvitation(t, org.ID, "e@example.com", 0)
		wantErr(t, "CreateInvitation", s.CreateInvitation(ctx, inv, now), nil)
		wantErr(t, "RevokeInvitation other org", s.RevokeInvitation(ctx, "other", inv.ID, now), storage.ErrNotFound)
		wantErr(t, "RevokeInvitation", s.RevokeInvitation(ctx, org.ID, inv.ID, now), nil)
		wantErr(t, "RevokeInvitation twice", s.RevokeInvitation(ctx, org.ID, inv.ID, now), storage.ErrNotFound)
		got, _ := s.InvitationByTokenHash(ctx, inv.TokenHash)
		if got.Status != storage.InvitationRevoked || got.EndedAt == nil || !sameTime(*got.EndedAt, now) {
			t.Fatalf("revoked: %+v", got)
		}
		_, err := s.PendingInvitation(ctx, org.ID, inv.ID, now)
		wantErr(t, "PendingInvitation revoked", err, storage.ErrNotFound)
		wantErr(t, "AcceptInvitation revoked", s.AcceptInvitation(ctx, inv.ID,
			&storage.Membership{OrganizationID: org.ID, UserID: "x", Role: inv.Role}, now), storage.ErrPrecondition)
		// A new invitation to the same address is allowed once the old one is revoked.
		wantErr(t, "CreateInvitation after revoke", s.CreateInvitation(ctx, newInvitation(t, org.ID, "e@example.com", 1), now), nil)
	})

	t.Run("accept adds the member once", func(t *testing.T) {
		s := newStore(t)
		_, org := registerUser(t, s)
		u, _ := registerUser(t, s)
		inv := newInvitation(t, org.ID, u.Email, 0)
		inv.Role = storage.RoleAdmin
		wantErr(t, "CreateInvitation", s.CreateInvitation(ctx, inv, now), nil)
		wantErr(t, "AcceptInvitation expired", s.AcceptInvitation(ctx, inv.ID,
			&storage.Membership{OrganizationID: org.ID, UserID: u.ID, Role: inv.Role}, inv.ExpiresAt), storage.ErrPrecondition)
		errs := race(4, func(int) error {
			return s.AcceptInvitation(ctx, inv.ID, &storage.Membership{OrganizationID: org.ID, UserID: u.ID, Role: inv.Role}, now)
		})
		if n := countNil(t, errs, storage.ErrPrecondition); n != 1 {
			t.Fatalf("%d accepts succeeded, want 1", n)
		}
		m, err := s.Membership(ctx, org.ID, u.ID)
		wantErr(t, "Membership", err, nil)
		if m.Role != storage.RoleAdmin || !sameTime(m.CreatedAt, now) {
			t.Fatalf("membership %+v", m)
		}
		got, _ := s.InvitationByTokenHash(ctx, inv.TokenHash)
		if got.Status != storage.InvitationAccepted || got.AcceptedBy == nil || *got.AcceptedBy != u.ID {
			t.Fatalf("accepted: %+v", got)
		}
	})

	t.Run("accept by a member changes nothing", func(t *testing.T) {
		s := newStore(t)
		owner, org := registerUser(t, s)
		inv := newInvitation(t, org.ID, owner.Email, 0)
		wantErr(t, "CreateInvitation", s.CreateInvitation(ctx, inv, now), nil)
		wantErr(t, "AcceptInvitation", s.AcceptInvitation(ctx, inv.ID,
			&storage.Membership{OrganizationID: org.ID, UserID: owner.ID, Role: inv.Role}, now), storage.ErrConflict)
		got, _ := s.InvitationByTokenHash(ctx, inv.TokenHash)
		if got.Status != storage.InvitationPending {
			t.Fatalf("status %q after a refused accept", got.Status)
		}
		m, _ := s.Membership(ctx, org.ID, owner.ID)
		if m.Role != storage.RoleOwner {
			t.Fatalf("role %q", m.Role)
		}
	})

	t.Run("delete ended", func(t *testing.T) {
		s := newStore(t)
		_, org := registerUser(t, s)
		pending, revoked := newInvitation(t, org.ID, "f@example.com", 0), newInvitation(t, org.ID, "g@example.com", 1)
		wantErr(t, "CreateInvitation", s.CreateInvitation(ctx, pending, now), nil)
		wantErr(t, "CreateInvitation", s.CreateInvitation(ctx, revoked, now), nil)
		wantErr(t, "RevokeInvitation", s.RevokeInvitation(ctx, org.ID, revoked.ID, now), nil)
		n, err := s.DeleteEndedInvitations(ctx, now.Add(time.Second))
		wantErr(t, "DeleteEndedInvitations", err, nil)
		if n != 1 {
			t.Fatalf("deleted %d, want the revoked one", n)
		}
		if _, err := s.InvitationByTokenHash(ctx, pending.TokenHash); err != nil {
			t.Fatalf("the pending one went: %v", err)
		}
		n, err = s.DeleteEndedInvitations(ctx, pending.ExpiresAt.Add(time.Second))
		wantErr(t, "DeleteEndedInvitations", err, nil)
		if n != 1 {
			t.Fatalf("deleted %d, want the expired one", n)
		}
	})
}
