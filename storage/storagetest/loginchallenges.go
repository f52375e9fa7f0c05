package storagetest

import (
	"context"
	"testing"
	"time"

	"github.com/arsaka/puguh/storage"
)

func normChallenge(c *storage.LoginChallenge) {
	c.RequestedAt = micro(c.RequestedAt)
	c.ExpiresAt = micro(c.ExpiresAt)
	c.ConsentedAt = microPtr(c.ConsentedAt)
}

// newChallenge returns an unsaved, pending challenge of browser requested at
// requestedAt and expiring a day later.
func newChallenge(t *testing.T, browser string, requestedAt time.Time) *storage.LoginChallenge {
	t.Helper()
	id := newID(t)
	return &storage.LoginChallenge{
		ID:       id,
		Browser:  browser,
		ClientID: "client-" + id[:6],
		// A real authorization request's parameters, URL-encoded, with
		// characters a careless store would mangle.
		Query: "client_id=client-" + id[:6] + "&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb%3Fa%3D1%26b%3D2" +
			"&response_type=code&scope=openid+profile+offline_access&state=%C3%A9t%C3%A9%27%3B--&nonce=n%00",
		RequestedAt: requestedAt,
		ExpiresAt:   requestedAt.Add(24 * time.Hour),
	}
}

func createChallenge(t *testing.T, s storage.LoginChallengeStore, browser string, requestedAt time.Time) *storage.LoginChallenge {
	t.Helper()
	c := newChallenge(t, browser, requestedAt)
	if err := s.CreateLoginChallenge(context.Background(), c); err != nil {
		t.Fatalf("CreateLoginChallenge: %v", err)
	}
	return c
}

// TestLoginChallengeStore checks a storage.LoginChallengeStore; newStore returns a fresh, empty store.
func TestLoginChallengeStore(t *testing.T, newStore func(t *testing.T) storage.LoginChallengeStore) {
	ctx := context.Background()
	t0 := baseTime()

	t.Run("round trip", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			edit func(c *storage.LoginChallenge)
		}{
			{"pending", func(*storage.LoginChallenge) {}},
			{"consented", func(c *storage.LoginChallenge) {
				c.UserID = newID(t)
				c.ConsentedAt = timePtr(t0.Add(time.Minute))
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				s := newStore(t)
				c := newChallenge(t, newID(t), t0)
				tc.edit(c)
				want := *c
				wantErr(t, "CreateLoginChallenge", s.CreateLoginChallenge(ctx, c), nil)
				got, err := s.LoginChallengeByID(ctx, c.ID, t0)
				wantErr(t, "LoginChallengeByID", err, nil)
				wantEqual(t, "LoginChallengeByID", *got, want, normChallenge)
			})
		}
	})

	// Two identical requests of one browser get the same id; the second
	// store finds the first one there and gets ErrConflict.
	t.Run("taken id conflicts", func(t *testing.T) {
		s := newStore(t)
		existing := createChallenge(t, s, newID(t), t0)
		c := newChallenge(t, newID(t), t0.Add(time.Minute))
		c.ID = existing.ID
		wantErr(t, "CreateLoginChallenge", s.CreateLoginChallenge(ctx, c), storage.ErrConflict)
		got, err := s.LoginChallengeByID(ctx, existing.ID, t0)
		wantErr(t, "LoginChallengeByID", err, nil)
		wantEqual(t, "LoginChallengeByID", *got, *existing, normChallenge)
	})

	// A challenge has expired once now is not before ExpiresAt.
	t.Run("expiry", func(t *testing.T) {
		sec := t0.Truncate(time.Second)
		for _, tc := range []struct {
			name         string
			expires, now time.Time
			want         error
		}{
			{"long before", t0, t0.Add(-20 * time.Minute), nil},
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
				c := newChallenge(t, newID(t), tc.expires.Add(-30*time.Minute))
				c.ExpiresAt = tc.expires
				wantErr(t, "CreateLoginChallenge", s.CreateLoginChallenge(ctx, c), nil)
				got, err := s.LoginChallengeByID(ctx, c.ID, tc.now)
				wantErr(t, "LoginChallengeByID", err, tc.want)
				if tc.want == nil {
					wantEqual(t, "LoginChallengeByID", *got, *c, normChallenge)
				}
			})
		}
	})

	t.Run("consent", func(t *testing.T) {
		s := newStore(t)
		c := createChallenge(t, s, newID(t), t0)
		other := createChallenge(t, s, c.Browser, t0)
		userID, at := newID(t), t0.Add(time.Minute)
		wantErr(t, "ConsentLoginChallenge", s.ConsentLoginChallenge(ctx, c.ID, userID, at), nil)
		want := *c
		want.UserID = userID
		want.ConsentedAt = timePtr(at)
		got, err := s.LoginChallengeByID(ctx, c.ID, t0)
		wantErr(t, "LoginChallengeByID", err, nil)
		wantEqual(t, "LoginChallengeByID after consent", *got, want, normChallenge)
		got, err = s.LoginChallengeByID(ctx, other.ID, t0)
		wantErr(t, "LoginChallengeByID of the other challenge", err, nil)
		wantEqual(t, "LoginChallengeByID of the other challenge", *got, *other, normChallenge)

		wantErr(t, "ConsentLoginChallenge of an unknown challenge", s.ConsentLoginChallenge(ctx, "missing", userID, at), storage.ErrNotFound)
	})

	t.Run("delete", func(t *testing.T) {
		s := newStore(t)
		c := createChallenge(t, s, newID(t), t0)
		other := createChallenge(t, s, c.Browser, t0)
		wantErr(t, "DeleteLoginChallenge", s.DeleteLoginChallenge(ctx, c.ID), nil)
		_, err := s.LoginChallengeByID(ctx, c.ID, t0)
		wantErr(t, "LoginChallengeByID after delete", err, storage.ErrNotFound)
		// A challenge that is gone already is not an error: it is what the caller wanted.
		wantErr(t, "DeleteLoginChallenge again", s.DeleteLoginChallenge(ctx, c.ID), nil)
		wantErr(t, "DeleteLoginChallenge of an unknown challenge", s.DeleteLoginChallenge(ctx, "missing"), nil)
		_, err = s.LoginChallengeByID(ctx, other.ID, t0)
		wantErr(t, "LoginChallengeByID of the other challenge", err, nil)
		// The id is free again.
		again := newChallenge(t, c.Browser, t0.Add(time.Minute))
		again.ID = c.ID
		wantErr(t, "CreateLoginChallenge under the deleted id", s.CreateLoginChallenge(ctx, again), nil)
	})

	t.Run("trim keeps a browser's most recent", func(t *testing.T) {
		sec := t0.Truncate(time.Second)
		for _, tc := range []struct {
			name string
			keep int
		}{
			{"none", 0},
			{"one", 1},
			{"some", 3},
			{"all", 5},
			{"more than there are", 10},
		} {
			t.Run(tc.name, func(t *testing.T) {
				s := newStore(t)
				browser := newID(t)
				// Newest first, a fraction of a second apart, inserted out of
				// order: sub-second steps catch a backend ordering times as
				// text of varying length.
				ages := []time.Duration{0, 500 * time.Millisecond, time.Second, 1500 * time.Millisecond, time.Minute}
				byAge := make([]*storage.LoginChallenge, len(ages))
				for _, i := range []int{3, 0, 4, 1, 2} {
					byAge[i] = createChallenge(t, s, browser, sec.Add(-ages[i]))
				}
				// An expired challenge of the browser counts like any other: it is older than them all.
				expired := newChallenge(t, browser, sec.Add(-time.Hour))
				expired.ExpiresAt = sec.Add(-time.Minute)
				wantErr(t, "CreateLoginChallenge", s.CreateLoginChallenge(ctx, expired), nil)
				otherBrowser := createChallenge(t, s, newID(t), sec.Add(-2*time.Hour))

				wantErr(t, "TrimLoginChallenges", s.TrimLoginChallenges(ctx, browser, tc.keep), nil)
				for i, c := range byAge {
					_, err := s.LoginChallengeByID(ctx, c.ID, sec)
					if i < tc.keep {
						wantErr(t, "LoginChallengeByID of a kept challenge", err, nil)
					} else {
						wantErr(t, "LoginChallengeByID of a trimmed challenge", err, storage.ErrNotFound)
					}
				}
				_, err := s.LoginChallengeByID(ctx, expired.ID, sec.Add(-2*time.Hour))
				if tc.keep > len(ages) {
					wantErr(t, "LoginChallengeByID of the kept expired challenge", err, nil)
				} else {
					wantErr(t, "LoginChallengeByID of the trimmed expired challenge", err, storage.ErrNotFound)
				}
				_, err = s.LoginChallengeByID(ctx, otherBrowser.ID, sec)
				wantErr(t, "LoginChallengeByID of another browser's challenge", err, nil)
			})
		}
	})

	t.Run("trim of an unknown browser", func(t *testing.T) {
		s := newStore(t)
		c := createChallenge(t, s, newID(t), t0)
		wantErr(t, "TrimLoginChallenges", s.TrimLoginChallenges(ctx, "missing", 0), nil)
		_, err := s.LoginChallengeByID(ctx, c.ID, t0)
		wantErr(t, "LoginChallengeByID", err, nil)
	})
}
