package storagetest

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/arsaka/puguh/storage"
)

func normGrant(g *storage.ConsentGrant) {
	g.CreatedAt = micro(g.CreatedAt)
	g.UpdatedAt = micro(g.UpdatedAt)
}

func normGrants(gs *[]storage.ConsentGrant) {
	for i := range *gs {
		normGrant(&(*gs)[i])
	}
}

// saveGrant saves a grant of user to app and returns it as the store reads it back.
func saveGrant(t *testing.T, s storage.ConsentGrantStore, u *storage.User, appID string, createdAt time.Time, scopes ...string) storage.ConsentGrant {
	t.Helper()
	g := &storage.ConsentGrant{UserID: u.ID, ApplicationID: appID, Scopes: scopes, CreatedAt: createdAt, UpdatedAt: createdAt.Add(time.Second)}
	want := *g
	want.Email = u.Email
	if err := s.SaveConsentGrant(context.Background(), g); err != nil {
		t.Fatalf("SaveConsentGrant: %v", err)
	}
	return want
}

// wantGrant fails the test unless the store holds want for its application and user.
func wantGrant(t *testing.T, what string, s storage.ConsentGrantStore, want storage.ConsentGrant) {
	t.Helper()
	got, err := s.ConsentGrant(context.Background(), want.ApplicationID, want.UserID)
	wantErr(t, what+": ConsentGrant", err, nil)
	wantEqual(t, what, *got, want, normGrant)
}

// TestConsentGrantStore checks a storage.ConsentGrantStore; newStore returns a fresh, empty store.
func TestConsentGrantStore(t *testing.T, newStore func(t *testing.T) ConsentGrantStores) {
	ctx := context.Background()
	t0 := baseTime()

	t.Run("round trip", func(t *testing.T) {
		for _, tc := range []struct {
			name   string
			scopes []string
			want   []string
		}{
			{"scopes", []string{"openid", "profile", "read:user", "scope with ünïcode \"quoted\""}, nil},
			{"no scopes", nil, []string{}}, // read back as an empty list, never nil
			{"empty scopes", []string{}, []string{}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				s := newStore(t)
				u, org := registerUser(t, s)
				app := createApplication(t, s, org.ID, t0)
				want := saveGrant(t, s, u, app.ID, t0, tc.scopes...)
				if tc.want != nil {
					want.Scopes = tc.want
				}
				wantGrant(t, "ConsentGrant", s, want)
				list, err := s.ListConsentGrants(ctx, app.ID)
				wantErr(t, "ListConsentGrants", err, nil)
				wantEqual(t, "ListConsentGrants", list, []storage.ConsentGrant{want}, normGrants)
			})
		}
	})

	t.Run("save replaces the scopes, keeping CreatedAt", func(t *testing.T) {
		s := newStore(t)
		u, org := registerUser(t, s)
		app := createApplication(t, s, org.ID, t0)
		other := createApplication(t, s, org.ID, t0)
		first := saveGrant(t, s, u, app.ID, t0, "openid")
		untouched := saveGrant(t, s, u, other.ID, t0, "openid")
		second := saveGrant(t, s, u, app.ID, t0.Add(time.Hour), "openid", "profile")
		want := second
		want.CreatedAt = first.CreatedAt
		wantGrant(t, "ConsentGrant after replace", s, want)
		wantGrant(t, "ConsentGrant of another application", s, untouched)
		list, err := s.ListConsentGrants(ctx, app.ID)
		wantErr(t, "ListConsentGrants", err, nil)
		wantEqual(t, "ListConsentGrants after replace", list, []storage.ConsentGrant{want}, normGrants)
	})

	// Two tabs consenting at once both save the first grant: both succeed and
	// one grant is left, holding the scopes of one of them.
	t.Run("concurrent first saves", func(t *testing.T) {
		s := newStore(t)
		u, org := registerUser(t, s)
		app := createApplication(t, s, org.ID, t0)
		const n = 8
		scopes := make([][]string, n)
		for i := range scopes {
			scopes[i] = []string{"openid", fmt.Sprintf("scope-%d", i)}
		}
		errs := race(n, func(i int) error {
			return s.SaveConsentGrant(ctx, &storage.ConsentGrant{UserID: u.ID, ApplicationID: app.ID, Scopes: scopes[i], CreatedAt: t0, UpdatedAt: t0})
		})
		if ok := countNil(t, errs, nil); ok != n {
			t.Fatalf("%d of %d concurrent saves succeeded (errors %v), want all", ok, n, errs)
		}
		list, err := s.ListConsentGrants(ctx, app.ID)
		wantErr(t, "ListConsentGrants", err, nil)
		if len(list) != 1 || !slices.ContainsFunc(scopes, func(sc []string) bool { return slices.Equal(sc, list[0].Scopes) }) {
			t.Fatalf("ListConsentGrants after concurrent saves = %+v, want one grant with one save's scopes", list)
		}
	})

	// The consent page saves grants without times: the store stamps them.
	t.Run("save stamps missing times", func(t *testing.T) {
		s := newStore(t)
		u, org := registerUser(t, s)
		app := createApplication(t, s, org.ID, t0)
		before := time.Now().Add(-time.Second)
		wantErr(t, "SaveConsentGrant", s.SaveConsentGrant(ctx, &storage.ConsentGrant{UserID: u.ID, ApplicationID: app.ID, Scopes: []string{"openid"}}), nil)
		after := time.Now().Add(time.Second)
		got, err := s.ConsentGrant(ctx, app.ID, u.ID)
		wantErr(t, "ConsentGrant", err, nil)
		for what, at := range map[string]time.Time{"CreatedAt": got.CreatedAt, "UpdatedAt": got.UpdatedAt} {
			if at.Before(before) || at.After(after) {
				t.Fatalf("%s = %v, want the time of the save (between %v and %v)", what, at, before, after)
			}
		}
		created := got.CreatedAt

		before = time.Now().Add(-time.Second)
		wantErr(t, "SaveConsentGrant again", s.SaveConsentGrant(ctx, &storage.ConsentGrant{UserID: u.ID, ApplicationID: app.ID, Scopes: []string{"openid", "email"}}), nil)
		got, err = s.ConsentGrant(ctx, app.ID, u.ID)
		wantErr(t, "ConsentGrant", err, nil)
		if !sameTime(got.CreatedAt, created) {
			t.Fatalf("CreatedAt = %v after a replace, want the first save's %v", got.CreatedAt, created)
		}
		if got.UpdatedAt.Before(before) {
			t.Fatalf("UpdatedAt = %v after a replace, want the time of the replace", got.UpdatedAt)
		}
		if !reflect.DeepEqual(got.Scopes, []string{"openid", "email"}) {
			t.Fatalf("Scopes = %q after a replace, want [openid email]", got.Scopes)
		}
	})

	t.Run("save errors", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			edit func(g *storage.ConsentGrant)
		}{
			{"unknown user", func(g *storage.ConsentGrant) { g.UserID = "missing" }},
			{"unknown application", func(g *storage.ConsentGrant) { g.ApplicationID = "missing" }},
		} {
			t.Run(tc.name, func(t *testing.T) {
				s := newStore(t)
				u, org := registerUser(t, s)
				app := createApplication(t, s, org.ID, t0)
				g := &storage.ConsentGrant{UserID: u.ID, ApplicationID: app.ID, Scopes: []string{"openid"}, CreatedAt: t0, UpdatedAt: t0}
				tc.edit(g)
				wantErr(t, "SaveConsentGrant", s.SaveConsentGrant(ctx, g), storage.ErrNotFound)
				list, err := s.ListConsentGrants(ctx, g.ApplicationID)
				wantErr(t, "ListConsentGrants", err, nil)
				if len(list) != 0 {
					t.Fatalf("ListConsentGrants after a refused save = %+v, want none", list)
				}
			})
		}
	})

	t.Run("not found", func(t *testing.T) {
		s := newStore(t)
		u, org := registerUser(t, s)
		v, _ := registerUser(t, s)
		app := createApplication(t, s, org.ID, t0)
		other := createApplication(t, s, org.ID, t0)
		saveGrant(t, s, u, app.ID, t0, "openid")
		for _, tc := range []struct {
			name      string
			app, user string
		}{
			{"unknown application", "missing", u.ID},
			{"unknown user", app.ID, "missing"},
			{"another user's grant", app.ID, v.ID},
			{"grant to another application", other.ID, u.ID},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := s.ConsentGrant(ctx, tc.app, tc.user)
				wantErr(t, "ConsentGrant", err, storage.ErrNotFound)
				_, err = s.DeleteConsentGrant(ctx, tc.app, tc.user)
				wantErr(t, "DeleteConsentGrant", err, storage.ErrNotFound)
			})
		}
		_, err := s.ConsentGrant(ctx, app.ID, u.ID)
		wantErr(t, "ConsentGrant after refused deletes", err, nil)
	})

	t.Run("list oldest first", func(t *testing.T) {
		s := newStore(t)
		_, org := registerUser(t, s)
		app := createApplication(t, s, org.ID, t0)
		other := createApplication(t, s, org.ID, t0)
		var users []*storage.User
		for range 4 {
			u, _ := registerUser(t, s)
			users = append(users, u)
		}
		sec := t0.Truncate(time.Second)
		// Saved out of order; the sub-second steps catch a backend ordering
		// times as text of varying length.
		third := saveGrant(t, s, users[0], app.ID, sec.Add(time.Second), "openid")
		first := saveGrant(t, s, users[1], app.ID, sec, "openid", "email")
		second := saveGrant(t, s, users[2], app.ID, sec.Add(500*time.Millisecond), "profile")
		saveGrant(t, s, users[3], other.ID, sec.Add(-time.Hour), "openid")
		list, err := s.ListConsentGrants(ctx, app.ID)
		wantErr(t, "ListConsentGrants", err, nil)
		wantEqual(t, "ListConsentGrants", list, []storage.ConsentGrant{first, second, third}, normGrants)

		empty, err := s.ListConsentGrants(ctx, "missing")
		wantErr(t, "ListConsentGrants of an unknown application", err, nil)
		if empty == nil || len(empty) != 0 {
			t.Fatalf("ListConsentGrants of an unknown application = %#v, want an empty list", empty)
		}
	})

	// Revoking a grant revokes the tokens the user holds for the application:
	// the store hands back every family recorded for that user and
	// application, once, whether or not consent was remembered (a trusted
	// application stores no grant).
	t.Run("delete returns the user's families for the application", func(t *testing.T) {
		for _, tc := range []struct {
			name            string
			grant, families bool
			wantErr         error
		}{
			{"grant and families", true, true, nil},
			{"grant without families", true, false, nil},
			{"families without a grant", false, true, nil},
			{"neither", false, false, storage.ErrNotFound},
		} {
			t.Run(tc.name, func(t *testing.T) {
				s := newStore(t)
				u, org := registerUser(t, s)
				v, _ := registerUser(t, s)
				app := createApplication(t, s, org.ID, t0)
				other := createApplication(t, s, org.ID, t0)
				s1 := createSession(t, s, u.ID, t0)
				s2 := createSession(t, s, u.ID, t0)
				sv := createSession(t, s, v.ID, t0)
				var want []string
				if tc.grant {
					saveGrant(t, s, u, app.ID, t0, "openid")
				}
				if tc.families {
					want = append(want,
						addFamily(t, s, s1.ID, u.ID, app.ID, t0),
						addFamily(t, s, s2.ID, u.ID, app.ID, t0.Add(time.Minute)))
				}
				// What must survive: the user's grant and family for another
				// application, another user's grant and family for this one.
				keepGrants := []storage.ConsentGrant{
					saveGrant(t, s, u, other.ID, t0, "openid"),
					saveGrant(t, s, v, app.ID, t0, "openid"),
				}
				otherApp := addFamily(t, s, s1.ID, u.ID, other.ID, t0)
				otherUser := addFamily(t, s, sv.ID, v.ID, app.ID, t0)

				got, err := s.DeleteConsentGrant(ctx, app.ID, u.ID)
				wantErr(t, "DeleteConsentGrant", err, tc.wantErr)
				if tc.wantErr == nil {
					wantSet(t, "DeleteConsentGrant families", got, want...)
				}
				_, err = s.ConsentGrant(ctx, app.ID, u.ID)
				wantErr(t, "ConsentGrant after delete", err, storage.ErrNotFound)
				_, err = s.DeleteConsentGrant(ctx, app.ID, u.ID)
				wantErr(t, "DeleteConsentGrant again", err, storage.ErrNotFound)

				for _, g := range keepGrants {
					wantGrant(t, "a grant that must survive", s, g)
				}
				// The family records went with the grant: signing out hands
				// back only the families of other applications.
				deleteSession(t, s, s1.ID, otherApp)
				deleteSession(t, s, s2.ID)
				deleteSession(t, s, sv.ID, otherUser)
			})
		}
	})

	t.Run("scope descriptions", func(t *testing.T) {
		s := newStore(t)
		_, org := registerUser(t, s)
		_, other := registerUser(t, s)
		_, bare := registerUser(t, s)
		set := func(orgID, name, description string) {
			t.Helper()
			if err := s.SetScopeDescription(ctx, orgID, name, description); err != nil {
				t.Fatalf("SetScopeDescription: %v", err)
			}
		}
		set(org.ID, "read:invoices", "Read your invoices")
		set(org.ID, "write:invoices", "Create and change invoices — «all» of them")
		set(other.ID, "read:invoices", "Another organization's words")

		for _, tc := range []struct {
			name  string
			orgID string
			want  map[string]string
		}{
			{"organization with descriptions", org.ID, map[string]string{
				"read:invoices":  "Read your invoices",
				"write:invoices": "Create and change invoices — «all» of them",
			}},
			{"another organization", other.ID, map[string]string{"read:invoices": "Another organization's words"}},
			{"organization without descriptions", bare.ID, map[string]string{}},
			{"unknown organization", "missing", map[string]string{}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, err := s.ScopeDescriptions(ctx, tc.orgID)
				wantErr(t, "ScopeDescriptions", err, nil)
				if len(got) != len(tc.want) || (len(got) > 0 && !reflect.DeepEqual(got, tc.want)) {
					t.Fatalf("ScopeDescriptions = %q, want %q", got, tc.want)
				}
			})
		}
	})
}
