package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestLogRecord(t *testing.T) {
	at := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		ctx    context.Context
		event  Event
		fields map[string]any
		absent []string
	}{
		{
			name: "source from the request",
			ctx:  WithSource(context.Background(), "203.0.113.7", "curl/8.5"),
			event: Event{Type: SignInFailed, Actor: Ref{Type: ActorAnonymous},
				Subject: User("usr_1"), Details: map[string]string{"reason": "wrong_password"}},
			fields: map[string]any{"msg": "audit", "event": "sign_in.failed", "actor_type": "anonymous",
				"subject_type": "user", "subject_id": "usr_1", "ip": "203.0.113.7", "user_agent": "curl/8.5",
				"details": map[string]any{"reason": "wrong_password"}},
			absent: []string{"organization_id"},
		},
		{
			name: "explicit source wins, organization shown",
			ctx:  WithSource(context.Background(), "203.0.113.7", "curl/8.5"),
			event: Event{Type: MemberAdded, OrganizationID: "org_1", Actor: User("usr_1"), Subject: User("usr_2"),
				IP: "198.51.100.1"},
			fields: map[string]any{"event": "member.added", "organization_id": "org_1", "actor_id": "usr_1",
				"ip": "198.51.100.1"},
			absent: []string{"user_agent", "details"},
		},
		{
			name:   "no source: operator on the command line",
			ctx:    context.Background(),
			event:  Event{Type: UserDisabled, Actor: Ref{Type: ActorOperator}, Subject: User("usr_3")},
			fields: map[string]any{"event": "user.disabled", "actor_type": "operator", "actor_id": ""},
			absent: []string{"ip", "user_agent"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			l := NewLog(slog.New(slog.NewJSONHandler(&buf, nil)), func() time.Time { return at })
			l.Record(tt.ctx, tt.event)
			var got map[string]any
			if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
				t.Fatalf("log line %q: %v", buf.String(), err)
			}
			for k, want := range tt.fields {
				g, _ := json.Marshal(got[k])
				w, _ := json.Marshal(want)
				if string(g) != string(w) {
					t.Errorf("%s = %s, want %s", k, g, w)
				}
			}
			for _, k := range tt.absent {
				if _, ok := got[k]; ok {
					t.Errorf("%s present, want absent: %v", k, got[k])
				}
			}
			if id, _ := got["event_id"].(string); !strings.HasPrefix(id, "evt_") || len(id) != 36 {
				t.Errorf("event_id = %q, want evt_ and 32 hex digits", id)
			}
		})
	}
}

func TestCompleteBoundsUserAgent(t *testing.T) {
	ua := strings.Repeat("é", 200) // 400 bytes of two-byte runes
	e := Event{UserAgent: ua}
	Complete(context.Background(), &e, time.Now)
	if len(e.UserAgent) > maxUserAgent || !strings.HasPrefix(ua, e.UserAgent) {
		t.Fatalf("user agent kept %d bytes, want at most %d of the original", len(e.UserAgent), maxUserAgent)
	}
	if len(e.UserAgent)%2 != 0 {
		t.Fatalf("user agent cut inside a rune: %d bytes", len(e.UserAgent))
	}
}
