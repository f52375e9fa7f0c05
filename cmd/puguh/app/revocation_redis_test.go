package app_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
	"github.com/arsaka/puguh/storage/revocation"
	"github.com/arsaka/puguh/storage/sqlstore/sqltest"
)

// denyChannel is the Redis channel of the denylist of e's deployment.
func denyChannel(e *apptest.Env) string { return e.RedisNamespace() + "deny" }

// pollSlack is what a replica may take beyond revocation.PollInterval to
// read the table and answer, on a busy machine under -race.
const pollSlack = 3 * time.Second

// invalidTokenBody is the REST API's 401 for a refused Bearer token.
const invalidTokenBody = `{"detail":"Invalid or expired token"}`

func me(e *apptest.Env, u *apptest.User) *apptest.Response {
	return e.Do(http.MethodGet, "/api/v1/iam/users/me", nil, u.Bearer()...)
}

func refused(r *apptest.Response) bool {
	return r.Status == http.StatusUnauthorized && string(r.Body) == invalidTokenBody
}

// wantMe checks /users/me with u's token: 200, or refused (401 with the exact body).
func wantMe(t *testing.T, e *apptest.Env, u *apptest.User, status int, what string) {
	t.Helper()
	r := me(e, u)
	if r.Status != status || (status == http.StatusUnauthorized && !refused(r)) {
		t.Fatalf("%s: /users/me answered %d %s, want %d", what, r.Status, r.Body, status)
	}
}

// waitSubscribers waits until n clients are subscribed to channel.
func waitSubscribers(t *testing.T, c *redis.Client, channel string, n int64, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		got, err := c.PubSubNumSub(context.Background(), channel).Result()
		if err == nil && got[channel] == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d subscribers to %s after %s, want %d (%v)", got[channel], channel, within, n, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// refusedWithin polls replica e until u's token is refused, failing the test
// if that takes longer than within.
func refusedWithin(t *testing.T, e *apptest.Env, u *apptest.User, within time.Duration, what string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for r := me(e, u); !refused(r); r = me(e, u) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: the logged-out token still answers %d %s after %s", what, r.Status, r.Body, within)
		}
		time.Sleep(250 * time.Millisecond) // within the free plan's 60 requests a minute
	}
}

// familyOf reads the sid claim of an access token (not verified: the
// server checks it).
func familyOf(t *testing.T, token string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %.20s…", token)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		SID string `json:"sid"`
	}
	if err := json.Unmarshal(raw, &c); err != nil || c.SID == "" {
		t.Fatalf("no sid in the token (%v)", err)
	}
	return c.SID
}

// Two replicas on one database and one Redis, which dies: a logout on A is
// recorded in the database before it answers, so B refuses the token within
// revocation.PollInterval without Redis, and both still refuse it after
// restarting. When Redis is back, both subscribe again and denials fan out
// through it again. On SQLite (two apps on one file) and PostgreSQL.
func TestLogoutReachesReplicasWhileRedisIsDown(t *testing.T) {
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			apptest.NeedTool(t, "redis-server", "apt-get install redis-server")
			rs := startRedis(t, "")
			ra := apptest.Start(t, apptest.Options{Backend: b, Env: map[string]string{"PUGUH_REDIS_URL": rs.url()}})
			rb := apptest.Start(t, apptest.Options{Backend: b, DatabaseURL: ra.DatabaseURL,
				Env: map[string]string{"PUGUH_REDIS_URL": rs.url(), "PUGUH_ISSUER": ra.URL}})
			waitSubscribers(t, rs.client(t), denyChannel(ra), 2, 10*time.Second)

			out, kept := ra.NewUser(), ra.NewUser()
			wantMe(t, rb, out, http.StatusOK, "B before the logout")

			rs.kill()
			if r := ra.Do(http.MethodPost, "/api/v1/auth/logout", nil, out.Bearer()...); r.Status != http.StatusNoContent {
				t.Fatalf("logout on A with Redis down: %d %s", r.Status, r.Body)
			}
			wantMe(t, ra, out, http.StatusUnauthorized, "A after the logout")
			refusedWithin(t, rb, out, revocation.PollInterval+pollSlack, "B with Redis down")

			// Restarted with Redis still down, both load the denial from the
			// database before serving; the other user's token still works,
			// so the 401 is the denylist's.
			ra.Restart()
			rb.Restart()
			for name, e := range map[string]*apptest.Env{"A": ra, "B": rb} {
				wantMe(t, e, kept, http.StatusOK, name+" restarted, a live token")
				wantMe(t, e, out, http.StatusUnauthorized, name+" restarted, the logged-out token")
			}

			// Redis returns: both replicas subscribe again, and a logout on A
			// is published for B.
			rs = startRedis(t, rs.port) // the same port: the replicas' address
			watch := rs.client(t)
			waitSubscribers(t, watch, denyChannel(ra), 2, 15*time.Second)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			sub := watch.Subscribe(ctx, denyChannel(ra))
			defer sub.Close()
			if _, err := sub.Receive(ctx); err != nil { // the subscription's confirmation
				t.Fatal(err)
			}
			if r := ra.Do(http.MethodPost, "/api/v1/auth/logout", nil, kept.Bearer()...); r.Status != http.StatusNoContent {
				t.Fatalf("logout on A with Redis back: %d %s", r.Status, r.Body)
			}
			want := " sid:" + familyOf(t, kept.AccessToken)
			for {
				msg, err := sub.ReceiveMessage(ctx)
				if err != nil {
					t.Fatalf("the family's denial (…%s) was not published once Redis was back: %v", want, err)
				}
				if strings.HasSuffix(msg.Payload, want) {
					break
				}
			}
			refusedWithin(t, rb, kept, revocation.PollInterval+pollSlack, "B with Redis back")
		})
	}
}
