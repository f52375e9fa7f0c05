package storagetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/arsaka/puguh/storage"
)

func normSession(s *storage.BrowserSession) {
	s.AuthTime = micro(s.AuthTime)
	s.CreatedAt = micro(s.CreatedAt)
	s.ExpiresAt = micro(s.ExpiresAt)
	s.LastSeenAt = micro(s.LastSeenAt)
}

// newSession returns an unsaved session of userID created at createdAt,
// expiring a day later.
func newSession(t *testing.T, userID string, createdAt time.Time) *storage.BrowserSession {
	t.Helper()
	return &storage.BrowserSession{
		ID:         newID(t),
		UserID:     userID,
		AuthTime:   createdAt.Add(-time.Minute),
		CreatedAt:  createdAt,
		ExpiresAt:  createdAt.Add(24 * time.Hour),
		LastSeenAt: createdAt.Add(time.Second),
		UserAgent:  "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/128.0 ü 🦊",
	}
}

func createSession(t *testing.T, s storage.SessionStore, userID string, createdAt time.Time) *storage.BrowserSession {
	t.Helper()
	bs := newSession(t, userID, createdAt)
	if err := s.CreateSession(context.Background(), bs); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	return bs
}

// addFamily records a new family of session sessionID and returns its id.
func addFamily(t *testing.T, s storage.SessionStore, sessionID, userID, appID string, createdAt time.Time) string {
	t.Helper()
	f := &storage.SessionFamily{
		FamilyID:      newID(t),
		SessionID:     sessionID,
		UserID:        userID,
		ApplicationID: appID,
		CreatedAt:     createdAt,
		ExpiresAt:     createdAt.Add(90 * 24 * time.Hour),
	}
	if err := s.AddSessionFamily(context.Background(), f); err != nil {
		t.Fatalf("AddSessionFamily: %v", err)
	}
	return f.FamilyID
}

// deleteSession deletes the session and checks the families it hands back.
func deleteSession(t *testing.T, s storage.SessionStore, id string, want ...string) {
	t.Helper()
	got, err := s.DeleteSession(context.Background(), id)
	wantErr(t, "DeleteSession", err, nil)
	wantSet(t, "DeleteSession families", got, want...)
}

// TestSessionStore checks a storage.SessionStore; newStore returns a fresh, empty store.
func TestSessionStore(t *testing.T, newStore func(t *testing.T) SessionStores) {
	ctx := context.Background()
	t0 := baseTime()

	t.Run("round trip", func(t *testing.T) {
		s := newStore(t)
		u, _ := registerUser(t, s)
		bs := newSession(t, u.ID, t0)
		want := *bs
		wantErr(t, "CreateSession", s.CreateSession(ctx, bs), nil)
		got, err := s.SessionByID(ctx, bs.ID, t0)
		wantErr(t, "SessionByID", err, nil)
		wantEqual(t, "SessionByID", *got, want, normSession)
	})

	t.Run("create errors", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			edit func(bs, existing *storage.BrowserSession)
			want error
		}{
			{"taken id", func(bs, existing *storage.BrowserSession) { bs.ID = existing.ID }, storage.ErrConflict},
			{"unknown user", func(bs, _ *storage.BrowserSession) { bs.UserID = "missing" }, storage.ErrNotFound},
		} {
			t.Run(tc.name, func(t *testing.T) {
				s := newStore(t)
				u, _ := registerUser(t, s)
				other, _ := registerUser(t, s)
				existing := createSession(t, s, u.ID, t0)
				bs := newSession(t, other.ID, t0.Add(time.Minute))
				tc.edit(bs, existing)
				wantErr(t, "CreateSession", s.CreateSession(ctx, bs), tc.want)
				got, err := s.SessionByID(ctx, existing.ID, t0)
				wantErr(t, "SessionByID of the existing session", err, nil)
				wantEqual(t, "SessionByID of the existing session", *got, *existing, normSession)
			})
		}
	})

	// The user agent comes from a request header, which may carry bytes that
	// are not UTF-8 (or be cut inside a character when shortened). The store
	// keeps it as text: each run of such bytes, and each NUL, reads back as
	// U+FFFD, the same on every backend; text that is fine is kept as it is.
	t.Run("user agent is kept as text", func(t *testing.T) {
		for _, tc := range []struct {
			name, ua, want string
		}{
			{"empty", "", ""},
			{"UTF-8", "Mozilla/5.0 é 🦊", "Mozilla/5.0 é 🦊"},
			{"invalid byte", "Mozilla/5.0 \xff", "Mozilla/5.0 \uFFFD"},
			{"cut inside a character", "Mozilla/5.0 \xc3", "Mozilla/5.0 \uFFFD"},
			{"run of invalid bytes", "a\xc0\xaf\xed\xa0\x80b", "a\uFFFDb"},
			{"NUL", "a\x00b\x00\x00c", "a\uFFFDb\uFFFD\uFFFDc"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				s := newStore(t)
				u, _ := registerUser(t, s)
				bs := newSession(t, u.ID, t0)
				bs.UserAgent = tc.ua
				wantErr(t, "CreateSession", s.CreateSession(ctx, bs), nil)
				got, err := s.SessionByID(ctx, bs.ID, t0)
				wantErr(t, "SessionByID", err, nil)
				if got.UserAgent != tc.want {
					t.Fatalf("UserAgent = %q, want %q", got.UserAgent, tc.want)
				}
			})
		}
	})

	// A session has expired once now is not before ExpiresAt.
	t.Run("expiry", func(t *testing.T) {
		sec := t0.Truncate(time.Second)
		for _, tc := range []struct {
			name         string
			expires, now time.Time
			want         error
		}{
			{"long before", t0, t0.Add(-23 * time.Hour), nil},
			{"a microsecond before", t0, t0.Add(-time.Microsecond), nil},
			{"at ExpiresAt", t0, t0, storage.ErrNotFound},
			{"a microsecond after", t0, t0.Add(time.Microsecond), storage.ErrNotFound},
			{"long after", t0, t0.Add(time.Hour), storage.ErrNotFound},
			// Sub-second steps catch a backend comparing times as text of varying length.
			{"whole second before a fraction", sec.Add(500 * time.Millisecond), sec, nil},
			{"fraction after a whole second", sec, sec.Add(500 * time.Millisecond), storage.ErrNotFound},
			{"shorter fraction after", sec.Add(499999 * time.Microsecond), sec.Add(500 * time.Millisecond), storage.ErrNotFound},
			{"shorter fraction before", sec.Add(500 * time.Millisecond), sec.Add(499999 * time.Microsecond), nil},
			{"other zone, same instant", t0, t0.In(time.FixedZone("UTC-5", -5*3600)), storage.ErrNotFound},
		} {
			t.Run(tc.name, func(t *testing.T) {
				s := newStore(t)
				u, _ := registerUser(t, s)
				bs := newSession(t, u.ID, tc.expires.Add(-24*time.Hour))
				bs.ExpiresAt = tc.expires
				wantErr(t, "CreateSession", s.CreateSession(ctx, bs), nil)
				got, err := s.SessionByID(ctx, bs.ID, tc.now)
				wantErr(t, "SessionByID", err, tc.want)
				if tc.want == nil {
					wantEqual(t, "SessionByID", *got, *bs, normSession)
				}
			})
		}
	})

	t.Run("unknown session", func(t *testing.T) {
		s := newStore(t)
		u, _ := registerUser(t, s)
		bs := createSession(t, s, u.ID, t0)
		_, err := s.SessionByID(ctx, "missing", t0)
		wantErr(t, "SessionByID", err, storage.ErrNotFound)
		// Deleting or touching a session that is gone (signed out in another
		// tab, swept) is not an error.
		wantErr(t, "TouchSession", s.TouchSession(ctx, "missing", t0), nil)
		deleteSession(t, s, "missing")
		wantErr(t, "MoveSessionFamilies", s.MoveSessionFamilies(ctx, "missing", bs.ID), nil)
		got, err := s.SessionByID(ctx, bs.ID, t0)
		wantErr(t, "SessionByID of the other session", err, nil)
		wantEqual(t, "SessionByID of the other session", *got, *bs, normSession)
	})

	t.Run("touch records last use", func(t *testing.T) {
		s := newStore(t)
		u, _ := registerUser(t, s)
		bs := createSession(t, s, u.ID, t0)
		other := createSession(t, s, u.ID, t0)
		at := t0.Add(time.Hour)
		wantErr(t, "TouchSession", s.TouchSession(ctx, bs.ID, at), nil)
		want := *bs
		want.LastSeenAt = at
		got, err := s.SessionByID(ctx, bs.ID, t0)
		wantErr(t, "SessionByID", err, nil)
		wantEqual(t, "SessionByID after touch", *got, want, normSession)
		got, err = s.SessionByID(ctx, other.ID, t0)
		wantErr(t, "SessionByID of the other session", err, nil)
		wantEqual(t, "SessionByID of the other session", *got, *other, normSession)
	})

	t.Run("delete returns the session's families", func(t *testing.T) {
		s := newStore(t)
		u, _ := registerUser(t, s)
		v, _ := registerUser(t, s)
		bs := createSession(t, s, u.ID, t0)
		sibling := createSession(t, s, u.ID, t0)
		stranger := createSession(t, s, v.ID, t0)
		f1 := addFamily(t, s, bs.ID, u.ID, "app-a", t0)
		f2 := addFamily(t, s, bs.ID, u.ID, "app-b", t0.Add(time.Minute))
		f3 := addFamily(t, s, sibling.ID, u.ID, "app-a", t0)
		f4 := addFamily(t, s, stranger.ID, v.ID, "app-a", t0)

		deleteSession(t, s, bs.ID, f1, f2)
		_, err := s.SessionByID(ctx, bs.ID, t0)
		wantErr(t, "SessionByID after delete", err, storage.ErrNotFound)
		// The family records went with the session: they are handed back once.
		deleteSession(t, s, bs.ID)
		families, err := s.FamiliesOfUser(ctx, u.ID, t0.Add(-time.Hour))
		wantErr(t, "FamiliesOfUser", err, nil)
		wantSet(t, "FamiliesOfUser after delete", families, f3)

		_, err = s.SessionByID(ctx, sibling.ID, t0)
		wantErr(t, "SessionByID of the sibling session", err, nil)
		deleteSession(t, s, sibling.ID, f3)
		deleteSession(t, s, stranger.ID, f4)
	})

	t.Run("a family id is recorded once", func(t *testing.T) {
		s := newStore(t)
		u, _ := registerUser(t, s)
		bs := createSession(t, s, u.ID, t0)
		id := addFamily(t, s, bs.ID, u.ID, "app-a", t0)
		dup := &storage.SessionFamily{FamilyID: id, SessionID: bs.ID, UserID: u.ID, ApplicationID: "app-b", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
		wantErr(t, "AddSessionFamily with a taken id", s.AddSessionFamily(ctx, dup), storage.ErrConflict)
		deleteSession(t, s, bs.ID, id)
	})

	t.Run("families of user since", func(t *testing.T) {
		s := newStore(t)
		u, _ := registerUser(t, s)
		v, _ := registerUser(t, s)
		s1 := createSession(t, s, u.ID, t0.Add(-3*time.Hour))
		s2 := createSession(t, s, u.ID, t0)
		sv := createSession(t, s, v.ID, t0)
		sec := t0.Truncate(time.Second)
		old := addFamily(t, s, s1.ID, u.ID, "app-a", t0.Add(-2*time.Hour))
		recent := addFamily(t, s, s1.ID, u.ID, "app-a", t0.Add(-time.Minute))
		otherSession := addFamily(t, s, s2.ID, u.ID, "app-b", t0)
		half := addFamily(t, s, s2.ID, u.ID, "app-b", sec.Add(-500*time.Millisecond))
		addFamily(t, s, sv.ID, v.ID, "app-a", t0) // another user's

		for _, tc := range []struct {
			name  string
			since time.Time
			want  []string
		}{
			{"long ago", t0.Add(-24 * time.Hour), []string{old, recent, half, otherSession}},
			{"an hour back", t0.Add(-time.Hour), []string{recent, half, otherSession}},
			{"a microsecond before a family", t0.Add(-time.Minute - time.Microsecond), []string{recent, half, otherSession}},
			{"at a family's creation", t0.Add(-time.Minute), []string{half, otherSession}},
			// Sub-second steps catch a backend comparing times as text of varying length.
			{"a whole second before a fraction", sec.Add(-time.Second), []string{half, otherSession}},
			{"a fraction after", sec.Add(-400 * time.Millisecond), []string{otherSession}},
			{"at the newest", t0, nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, err := s.FamiliesOfUser(ctx, u.ID, tc.since)
				wantErr(t, "FamiliesOfUser", err, nil)
				wantSet(t, "FamiliesOfUser", got, tc.want...)
			})
		}
		got, err := s.FamiliesOfUser(ctx, "missing", t0.Add(-24*time.Hour))
		wantErr(t, "FamiliesOfUser of an unknown user", err, nil)
		wantSet(t, "FamiliesOfUser of an unknown user", got)
	})

	// Signing in again replaces the session; the families move to the new one,
	// and signing out of it then finds them all.
	t.Run("move families", func(t *testing.T) {
		s := newStore(t)
		u, _ := registerUser(t, s)
		v, _ := registerUser(t, s)
		from := createSession(t, s, u.ID, t0)
		to := createSession(t, s, u.ID, t0.Add(time.Hour))
		stranger := createSession(t, s, v.ID, t0)
		f1 := addFamily(t, s, from.ID, u.ID, "app-a", t0)
		f2 := addFamily(t, s, from.ID, u.ID, "app-b", t0)
		f3 := addFamily(t, s, to.ID, u.ID, "app-a", t0.Add(time.Hour))
		f4 := addFamily(t, s, stranger.ID, v.ID, "app-a", t0)

		wantErr(t, "MoveSessionFamilies", s.MoveSessionFamilies(ctx, from.ID, to.ID), nil)
		families, err := s.FamiliesOfUser(ctx, u.ID, t0.Add(-time.Hour))
		wantErr(t, "FamiliesOfUser", err, nil)
		wantSet(t, "FamiliesOfUser after the move", families, f1, f2, f3)
		deleteSession(t, s, from.ID)
		deleteSession(t, s, to.ID, f1, f2, f3)
		deleteSession(t, s, stranger.ID, f4)
	})

	// Each call removes at most limit rows of each kind (sessions, login
	// challenges, family records) and says how many it removed in all, so a
	// janitor calls it until a call comes back short.
	t.Run("delete expired in bounded batches", func(t *testing.T) {
		for _, tc := range []struct {
			limit int
			want  []int // what successive calls return
		}{
			{1, []int{3, 3, 3, 0}},
			{2, []int{6, 3, 0}},
			{3, []int{9, 0}},
			{100, []int{9, 0}},
		} {
			t.Run(fmt.Sprintf("limit %d", tc.limit), func(t *testing.T) {
				s := newStore(t)
				u, _ := registerUser(t, s)
				now := t0
				// Three expired rows of each kind (one expiring exactly now) and one live one.
				expiries := []time.Time{now.Add(-time.Hour), now.Add(-time.Microsecond), now}
				var expiredSessions, expiredChallenges []string
				holder := createSession(t, s, u.ID, now.Add(-time.Hour)) // holds the expired families
				live := createSession(t, s, u.ID, now.Add(-time.Hour))
				liveChallenge := createChallenge(t, s, newID(t), now.Add(-time.Hour))
				liveFamily := addFamily(t, s, live.ID, u.ID, "app-a", now.Add(-time.Hour))
				for _, exp := range expiries {
					bs := newSession(t, u.ID, exp.Add(-24*time.Hour))
					bs.ExpiresAt = exp
					wantErr(t, "CreateSession", s.CreateSession(ctx, bs), nil)
					expiredSessions = append(expiredSessions, bs.ID)

					c := newChallenge(t, newID(t), exp.Add(-10*time.Minute))
					c.ExpiresAt = exp
					wantErr(t, "CreateLoginChallenge", s.CreateLoginChallenge(ctx, c), nil)
					expiredChallenges = append(expiredChallenges, c.ID)

					f := &storage.SessionFamily{FamilyID: newID(t), SessionID: holder.ID, UserID: u.ID, ApplicationID: "app-b",
						CreatedAt: exp.Add(-90 * 24 * time.Hour), ExpiresAt: exp}
					wantErr(t, "AddSessionFamily", s.AddSessionFamily(ctx, f), nil)
				}

				for i, want := range tc.want {
					n, err := s.DeleteExpiredSessions(ctx, now, tc.limit)
					wantErr(t, "DeleteExpiredSessions", err, nil)
					if n != want {
						t.Fatalf("call %d: DeleteExpiredSessions = %d, want %d (calls should return %v)", i+1, n, want, tc.want)
					}
				}

				// The expired rows are gone, not just hidden: looked up at a
				// time before they expired, they are still not found.
				long := now.Add(-48 * time.Hour)
				for _, id := range expiredSessions {
					_, err := s.SessionByID(ctx, id, long)
					wantErr(t, "SessionByID of a swept session", err, storage.ErrNotFound)
				}
				for _, id := range expiredChallenges {
					_, err := s.LoginChallengeByID(ctx, id, long)
					wantErr(t, "LoginChallengeByID of a swept challenge", err, storage.ErrNotFound)
				}
				deleteSession(t, s, holder.ID)
				_, err := s.SessionByID(ctx, live.ID, now)
				wantErr(t, "SessionByID of the live session", err, nil)
				_, err = s.LoginChallengeByID(ctx, liveChallenge.ID, now)
				wantErr(t, "LoginChallengeByID of the live challenge", err, nil)
				deleteSession(t, s, live.ID, liveFamily)
			})
		}
	})
}
