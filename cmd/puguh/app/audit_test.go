package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
	"github.com/arsaka/puguh/storage"
)

// auditEvent is an item of GET /api/v1/audit-events.
type auditEvent struct {
	ID             string            `json:"id"`
	Type           string            `json:"type"`
	OccurredAt     time.Time         `json:"occurred_at"`
	OrganizationID string            `json:"organization_id"`
	ActorType      string            `json:"actor_type"`
	ActorID        string            `json:"actor_id"`
	SubjectType    string            `json:"subject_type"`
	SubjectID      string            `json:"subject_id"`
	IP             string            `json:"ip"`
	UserAgent      string            `json:"user_agent"`
	Details        map[string]string `json:"details"`
}

type auditPage struct {
	Items      []auditEvent `json:"items"`
	NextCursor *string      `json:"next_cursor"`
}

func listAudit(t *testing.T, e *apptest.Env, u *apptest.User, query string) auditPage {
	t.Helper()
	r := e.Do(http.MethodGet, "/api/v1/audit-events"+query, nil, u.Bearer()...)
	if r.Status != http.StatusOK {
		t.Fatalf("audit events%s: %d %s", query, r.Status, r.Body)
	}
	var p auditPage
	r.JSON(t, &p)
	return p
}

func typesOf(events []auditEvent) []string {
	out := []string{}
	for _, e := range events {
		out = append(out, e.Type)
	}
	return out
}

// Every security action of an organization lands in its audit log, newest
// first, with who did it, to whom, from where; the log pages, filters and
// keeps to its organization; and no event holds a secret. On SQLite and
// PostgreSQL.
func TestAuditLog(t *testing.T) {
	apptest.ForEachBackend(t, func(t *testing.T, e *apptest.Env) {
		const ua = "audit-test/1.0 (+https://example.com)"
		owner := e.NewUser()
		member := e.NewUser()
		stranger := e.NewUser()
		bearer := append(owner.Bearer(), "User-Agent", ua)
		var secrets []string
		secrets = append(secrets, owner.Password, owner.AccessToken, owner.RefreshToken, member.AccessToken, member.RefreshToken)

		// A failed REST sign-in and a successful one.
		const wrong = "not the password at all"
		if r := e.Do(http.MethodPost, "/api/v1/auth/login", map[string]string{"email": owner.Email, "password": wrong}, "User-Agent", ua); r.Status != 401 {
			t.Fatalf("wrong password: %d", r.Status)
		}
		if r := e.Do(http.MethodPost, "/api/v1/auth/login", map[string]string{"email": "nobody@example.com", "password": wrong}, "User-Agent", ua); r.Status != 401 {
			t.Fatalf("unknown email: %d", r.Status)
		}
		secrets = append(secrets, wrong)

		// Keys, applications, members.
		r := e.Do(http.MethodPost, "/api/v1/api-keys", map[string]string{"name": "ci"}, bearer...)
		if r.Status != http.StatusCreated {
			t.Fatalf("create key: %d %s", r.Status, r.Body)
		}
		var key struct{ ID, Key string }
		r.JSON(t, &key)
		secrets = append(secrets, key.Key)
		if r := e.Do(http.MethodDelete, "/api/v1/api-keys/"+key.ID, nil, bearer...); r.Status != http.StatusNoContent {
			t.Fatalf("revoke key: %d %s", r.Status, r.Body)
		}
		r = e.Do(http.MethodPost, "/api/v1/applications", map[string]any{"name": "Shop", "redirect_uris": []string{"https://shop.example/cb"}}, bearer...)
		if r.Status != http.StatusCreated {
			t.Fatalf("create app: %d %s", r.Status, r.Body)
		}
		var app struct {
			ID     string `json:"id"`
			Secret string `json:"client_secret"`
		}
		r.JSON(t, &app)
		r = e.Do(http.MethodPost, "/api/v1/applications/"+app.ID+"/secret", nil, bearer...)
		if r.Status != http.StatusOK {
			t.Fatalf("rotate: %d %s", r.Status, r.Body)
		}
		var rotated struct {
			Secret string `json:"client_secret"`
		}
		r.JSON(t, &rotated)
		secrets = append(secrets, app.Secret, rotated.Secret)
		if r := e.Do(http.MethodPost, "/api/v1/organizations/"+owner.OrganizationID+"/members",
			map[string]string{"email": member.Email, "role": "viewer"}, bearer...); r.Status != http.StatusCreated {
			t.Fatalf("add member: %d %s", r.Status, r.Body)
		}
		if r := e.Do(http.MethodPatch, "/api/v1/organizations/"+owner.OrganizationID+"/members/"+member.ID,
			map[string]string{"role": "member"}, bearer...); r.Status != http.StatusOK {
			t.Fatalf("change role: %d %s", r.Status, r.Body)
		}
		if r := e.Do(http.MethodDelete, "/api/v1/applications/"+app.ID, nil, bearer...); r.Status != http.StatusNoContent {
			t.Fatalf("delete app: %d %s", r.Status, r.Body)
		}

		// The organization's log, newest first.
		got := listAudit(t, e, owner, "")
		want := []string{"application.deleted", "member.role_changed", "member.added", "application.secret_rotated",
			"application.created", "api_key.revoked", "api_key.created"}
		if g := typesOf(got.Items); strings.Join(g, " ") != strings.Join(want, " ") {
			t.Fatalf("events = %v\nwant %v", g, want)
		}
		for _, ev := range got.Items {
			if ev.OrganizationID != owner.OrganizationID || ev.ActorType != "user" || ev.ActorID != owner.ID ||
				ev.IP != "127.0.0.1" || ev.UserAgent != ua || !strings.HasPrefix(ev.ID, "evt_") || ev.OccurredAt.IsZero() {
				t.Errorf("event %+v: want the owner acting in their organization from 127.0.0.1 with the test's agent", ev)
			}
		}
		roleChange := got.Items[1]
		if roleChange.SubjectType != "user" || roleChange.SubjectID != member.ID || roleChange.Details["from"] != "viewer" || roleChange.Details["role"] != "member" {
			t.Errorf("role change = %+v", roleChange)
		}
		if created := got.Items[6]; created.SubjectType != "api_key" || created.SubjectID != key.ID || created.Details["name"] != "ci" {
			t.Errorf("key created = %+v", created)
		}

		// Filters.
		if g := typesOf(listAudit(t, e, owner, "?type=member.added&type=member.role_changed").Items); strings.Join(g, " ") != "member.role_changed member.added" {
			t.Errorf("type filter: %v", g)
		}
		if g := listAudit(t, e, owner, "?actor="+member.ID).Items; len(g) != 0 {
			t.Errorf("actor filter (member did nothing here): %v", typesOf(g))
		}
		if g := listAudit(t, e, owner, "?actor="+owner.ID).Items; len(g) != len(want) {
			t.Errorf("actor filter (owner): %v", typesOf(g))
		}
		cut := got.Items[3].OccurredAt // application.secret_rotated
		since := url.QueryEscape(cut.Format(time.RFC3339Nano))
		if g := typesOf(listAudit(t, e, owner, "?since="+since).Items); len(g) != 4 || g[3] != "application.secret_rotated" {
			t.Errorf("since: %v", g)
		}
		if g := typesOf(listAudit(t, e, owner, "?until="+since).Items); len(g) != 3 || g[0] != "application.created" {
			t.Errorf("until: %v", g)
		}

		// Cursor paging visits every event once.
		var paged []string
		query := "?limit=3"
		for range 10 {
			p := listAudit(t, e, owner, query)
			paged = append(paged, typesOf(p.Items)...)
			if p.NextCursor == nil {
				break
			}
			query = "?limit=3&cursor=" + url.QueryEscape(*p.NextCursor)
		}
		if strings.Join(paged, " ") != strings.Join(want, " ") {
			t.Errorf("paged = %v", paged)
		}

		// Other organizations see nothing of it; a cursor does not cross.
		if g := listAudit(t, e, stranger, "").Items; len(g) != 0 {
			t.Errorf("stranger sees %v", typesOf(g))
		}
		first := listAudit(t, e, owner, "?limit=1")
		if r := e.Do(http.MethodGet, "/api/v1/audit-events?cursor="+url.QueryEscape(*first.NextCursor), nil, stranger.Bearer()...); r.Status != 400 ||
			string(r.Body) != `{"detail":"Invalid cursor"}` {
			t.Errorf("borrowed cursor: %d %s", r.Status, r.Body)
		}

		// audit.read: owners and admins; a member acting in the organization is refused.
		if r := e.Do(http.MethodGet, "/api/v1/audit-events", nil, append(member.Bearer(), "X-Organization-ID", owner.OrganizationID)...); r.Status != 403 ||
			string(r.Body) != `{"detail":"Missing permission: audit.read"}` {
			t.Errorf("member: %d %s", r.Status, r.Body)
		}
		if r := e.Do(http.MethodGet, "/api/v1/audit-events", nil); r.Status != 401 {
			t.Errorf("anonymous: %d %s", r.Status, r.Body)
		}

		// Bad input, answered as FastAPI would.
		for _, tc := range []struct{ query, body string }{
			{"?type=bogus", `{"detail":[{"loc":["query","type"],"msg":"value is not a known event type","type":"type_error.enum"}]}`},
			{"?type=member.added&type=", `{"detail":[{"loc":["query","type",1],"msg":"value is not a known event type","type":"type_error.enum"}]}`},
			{"?since=yesterday", `{"detail":[{"loc":["query","since"],"msg":"invalid datetime format","type":"value_error.datetime"}]}`},
			{"?since=2030-01-02T00:00:00Z&until=2030-01-01T00:00:00Z", `{"detail":[{"loc":["query","until"],"msg":"until must be after since","type":"value_error"}]}`},
			{"?actor=" + strings.Repeat("a", 65), `{"detail":[{"loc":["query","actor"],"msg":"ensure this value has at most 64 characters","type":"value_error.any_str.max_length"}]}`},
			{"?limit=0", `{"detail":[{"loc":["query","limit"],"msg":"ensure this value is greater than or equal to 1","type":"value_error.number.not_ge"}]}`},
		} {
			r := e.Do(http.MethodGet, "/api/v1/audit-events"+tc.query, nil, owner.Bearer()...)
			if r.Status != 422 || string(r.Body) != tc.body {
				t.Errorf("%s: %d %s\nwant 422 %s", tc.query, r.Status, r.Body, tc.body)
			}
		}
		if r := e.Do(http.MethodGet, "/api/v1/audit-events?cursor=forged.cursor", nil, owner.Bearer()...); r.Status != 400 || string(r.Body) != `{"detail":"Invalid cursor"}` {
			t.Errorf("forged cursor: %d %s", r.Status, r.Body)
		}

		// The account's own events: sign-ins, failed or not, with source.
		ctx := context.Background()
		mine, err := e.App.Store().AuditEvents(ctx, storage.AuditQuery{UserID: owner.ID, Types: []string{"sign_in.failed", "sign_in.succeeded"}, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(mine) != 2 || mine[0].Type != "sign_in.failed" || mine[0].Details["reason"] != "wrong_password" ||
			mine[0].IP != "127.0.0.1" || mine[0].UserAgent != ua || mine[0].SubjectID != owner.ID || mine[0].ActorType != "anonymous" ||
			mine[1].Type != "sign_in.succeeded" || mine[1].ActorID != owner.ID || mine[1].SubjectID != owner.ID {
			t.Fatalf("account events = %+v", mine)
		}

		// A REST sign-out is recorded like a page's.
		leaver := e.NewUser()
		if r := e.Do(http.MethodPost, "/api/v1/auth/logout", nil, leaver.Bearer()...); r.Status != 204 {
			t.Fatalf("logout: %d %s", r.Status, r.Body)
		}
		out, err := e.App.Store().AuditEvents(ctx, storage.AuditQuery{UserID: leaver.ID, Types: []string{"sign_out"}, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(out) != 1 || out[0].ActorID != leaver.ID || out[0].SubjectID != leaver.ID || out[0].Details["method"] != "token" {
			t.Fatalf("sign-out events = %+v", out)
		}

		// No event, stored or logged, holds a secret.
		rows, err := e.App.Store().DB().QueryContext(ctx, `SELECT id, type, organization_id, actor_type, actor_id, subject_type, subject_id, ip, user_agent, details FROM audit_events`)
		if err != nil {
			t.Fatal(err)
		}
		var dump strings.Builder
		n := 0
		for rows.Next() {
			var cols [10]string
			if err := rows.Scan(&cols[0], &cols[1], &cols[2], &cols[3], &cols[4], &cols[5], &cols[6], &cols[7], &cols[8], &cols[9]); err != nil {
				t.Fatal(err)
			}
			dump.WriteString(strings.Join(cols[:], "|") + "\n")
			n++
		}
		rows.Close()
		if n < 12 {
			t.Fatalf("only %d events stored", n)
		}
		var auditLines strings.Builder
		for _, line := range strings.Split(e.Logs(), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == "audit" {
				auditLines.WriteString(line + "\n")
			}
		}
		if strings.Count(auditLines.String(), "\n") < n {
			t.Errorf("%d audit log lines for %d stored events", strings.Count(auditLines.String(), "\n"), n)
		}
		for _, s := range secrets {
			if s == "" {
				t.Fatal("empty secret in the list")
			}
			if strings.Contains(dump.String(), s) || strings.Contains(auditLines.String(), s) {
				t.Errorf("a secret (%.6s…) is in the audit log", s)
			}
		}
	})
}
