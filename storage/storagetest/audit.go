package storagetest

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/arsaka/puguh/storage"
)

// TestAuditStore runs the conformance suite of storage.AuditStore.
func TestAuditStore(t *testing.T, newStore func(t *testing.T) storage.AuditStore) {
	ctx := context.Background()
	at := baseTime()
	event := func(id string, offset time.Duration, typ, org, actor, subject string) *storage.AuditEvent {
		return &storage.AuditEvent{ID: id, At: at.Add(offset), Type: typ, OrganizationID: org,
			ActorType: "user", ActorID: actor, SubjectType: "user", SubjectID: subject}
	}
	ids := func(events []storage.AuditEvent) []string {
		out := []string{}
		for _, e := range events {
			out = append(out, e.ID)
		}
		return out
	}
	wantIDs := func(t *testing.T, what string, got []storage.AuditEvent, err error, want ...string) {
		t.Helper()
		wantErr(t, what, err, nil)
		if want == nil {
			want = []string{}
		}
		if g := ids(got); !reflect.DeepEqual(g, want) {
			t.Fatalf("%s = %v, want %v", what, g, want)
		}
	}
	// seed stores events of two organizations and one account's own events.
	seed := func(t *testing.T, s storage.AuditStore) (org, other string) {
		t.Helper()
		org, other = newID(t), newID(t)
		for _, e := range []*storage.AuditEvent{
			event("e1", 0, "member.added", org, "alice", "bob"),
			event("e2", time.Second, "api_key.created", org, "bob", ""),
			event("e3", 2*time.Second, "member.removed", org, "alice", "bob"),
			event("e4", 3*time.Second, "member.added", other, "carol", "dave"),
			event("e5", 4*time.Second, "sign_in.succeeded", "", "bob", "bob"),
			event("e6", 5*time.Second, "sign_in.failed", "", "anonymous", "alice"),
		} {
			if err := s.InsertAuditEvent(ctx, e); err != nil {
				t.Fatalf("InsertAuditEvent %s: %v", e.ID, err)
			}
		}
		return org, other
	}

	t.Run("round trip", func(t *testing.T) {
		s := newStore(t)
		org := newID(t)
		e := &storage.AuditEvent{ID: newID(t), At: at, Type: "application.created", OrganizationID: org,
			ActorType: "api_key", ActorID: "k1", SubjectType: "application", SubjectID: "app1",
			IP: "2001:db8::1", UserAgent: "curl/8.5", Details: map[string]string{"name": "Shop", "public": "false"}}
		wantErr(t, "InsertAuditEvent", s.InsertAuditEvent(ctx, e), nil)
		got, err := s.AuditEvents(ctx, storage.AuditQuery{OrganizationID: org, Limit: 10})
		wantErr(t, "AuditEvents", err, nil)
		if len(got) != 1 {
			t.Fatalf("got %d events, want 1", len(got))
		}
		wantEqual(t, "event", got[0], *e, func(e *storage.AuditEvent) { e.At = micro(e.At) })
		wantErr(t, "InsertAuditEvent again", s.InsertAuditEvent(ctx, e), storage.ErrConflict)
	})

	t.Run("no details reads back empty", func(t *testing.T) {
		s := newStore(t)
		org := newID(t)
		wantErr(t, "InsertAuditEvent", s.InsertAuditEvent(ctx, event("x", 0, "member.added", org, "a", "b")), nil)
		got, err := s.AuditEvents(ctx, storage.AuditQuery{OrganizationID: org, Limit: 10})
		wantErr(t, "AuditEvents", err, nil)
		if len(got) != 1 || got[0].Details == nil || len(got[0].Details) != 0 {
			t.Fatalf("details = %#v, want an empty map", got)
		}
	})

	t.Run("scopes", func(t *testing.T) {
		s := newStore(t)
		org, other := seed(t, s)
		got, err := s.AuditEvents(ctx, storage.AuditQuery{OrganizationID: org, Limit: 10})
		wantIDs(t, "organization", got, err, "e3", "e2", "e1")
		got, err = s.AuditEvents(ctx, storage.AuditQuery{OrganizationID: other, Limit: 10})
		wantIDs(t, "other organization", got, err, "e4")
		got, err = s.AuditEvents(ctx, storage.AuditQuery{UserID: "bob", Limit: 10})
		wantIDs(t, "user bob (actor or subject)", got, err, "e5", "e3", "e2", "e1")
		got, err = s.AuditEvents(ctx, storage.AuditQuery{UserID: "alice", Limit: 10})
		wantIDs(t, "user alice", got, err, "e6", "e3", "e1")
		if _, err := s.AuditEvents(ctx, storage.AuditQuery{Limit: 10}); err == nil {
			t.Fatal("a query without a scope listed events")
		}
	})

	t.Run("filters", func(t *testing.T) {
		s := newStore(t)
		org, _ := seed(t, s)
		got, err := s.AuditEvents(ctx, storage.AuditQuery{OrganizationID: org, Types: []string{"member.added", "member.removed"}, Limit: 10})
		wantIDs(t, "types", got, err, "e3", "e1")
		got, err = s.AuditEvents(ctx, storage.AuditQuery{OrganizationID: org, ActorID: "bob", Limit: 10})
		wantIDs(t, "actor", got, err, "e2")
		got, err = s.AuditEvents(ctx, storage.AuditQuery{OrganizationID: org, Since: at.Add(time.Second), Limit: 10})
		wantIDs(t, "since (inclusive)", got, err, "e3", "e2")
		got, err = s.AuditEvents(ctx, storage.AuditQuery{OrganizationID: org, Until: at.Add(2 * time.Second), Limit: 10})
		wantIDs(t, "until (exclusive)", got, err, "e2", "e1")
		got, err = s.AuditEvents(ctx, storage.AuditQuery{OrganizationID: org, Since: at.Add(time.Second), Until: at.Add(2 * time.Second), Limit: 10})
		wantIDs(t, "since and until", got, err, "e2")
		got, err = s.AuditEvents(ctx, storage.AuditQuery{OrganizationID: org, Types: []string{"user.deleted"}, Limit: 10})
		wantIDs(t, "no match", got, err)
	})

	t.Run("pages", func(t *testing.T) {
		s := newStore(t)
		org := newID(t)
		// Five events, three of them in the same microsecond: the id breaks ties.
		for _, e := range []*storage.AuditEvent{
			event("a", 0, "member.added", org, "x", "y"),
			event("b", time.Second, "member.added", org, "x", "y"),
			event("c", time.Second, "member.added", org, "x", "y"),
			event("d", time.Second, "member.added", org, "x", "y"),
			event("e", 2*time.Second, "member.added", org, "x", "y"),
		} {
			wantErr(t, "InsertAuditEvent", s.InsertAuditEvent(ctx, e), nil)
		}
		var all []string
		q := storage.AuditQuery{OrganizationID: org, Limit: 2}
		for range 5 {
			got, err := s.AuditEvents(ctx, q)
			wantErr(t, "AuditEvents", err, nil)
			if len(got) == 0 {
				break
			}
			all = append(all, ids(got)...)
			q.After = got[len(got)-1].Position()
		}
		if want := []string{"e", "d", "c", "b", "a"}; !reflect.DeepEqual(all, want) {
			t.Fatalf("paged = %v, want %v", all, want)
		}
		if _, err := s.AuditEvents(ctx, storage.AuditQuery{OrganizationID: org, After: "garbage", Limit: 2}); err == nil {
			t.Fatal("a malformed position was accepted")
		}
	})

	t.Run("delete before", func(t *testing.T) {
		s := newStore(t)
		org, _ := seed(t, s)
		n, err := s.DeleteAuditEventsBefore(ctx, at.Add(3*time.Second), 2)
		wantErr(t, "DeleteAuditEventsBefore", err, nil)
		if n != 2 {
			t.Fatalf("deleted %d, want 2 (the limit)", n)
		}
		got, err := s.AuditEvents(ctx, storage.AuditQuery{OrganizationID: org, Limit: 10})
		wantIDs(t, "after the first batch (oldest go first)", got, err, "e3")
		n, err = s.DeleteAuditEventsBefore(ctx, at.Add(3*time.Second), 10)
		wantErr(t, "DeleteAuditEventsBefore", err, nil)
		if n != 1 {
			t.Fatalf("deleted %d, want 1", n)
		}
		got, err = s.AuditEvents(ctx, storage.AuditQuery{UserID: "bob", Limit: 10})
		wantIDs(t, "newer events stay", got, err, "e5")
	})
}
