package audit

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/arsaka/puguh/provider/authz"
	"github.com/arsaka/puguh/provider/problem"
	"github.com/arsaka/puguh/storage"
)

type fakeStore struct {
	rows      []*storage.AuditEvent
	ctxErrs   []error
	deadlines []bool
	err       error
	q         storage.AuditQuery
}

func (f *fakeStore) InsertAuditEvent(ctx context.Context, e *storage.AuditEvent) error {
	_, ok := ctx.Deadline()
	f.ctxErrs, f.deadlines = append(f.ctxErrs, ctx.Err()), append(f.deadlines, ok)
	if f.err != nil {
		return f.err
	}
	f.rows = append(f.rows, e)
	return nil
}

func (f *fakeStore) AuditEvents(_ context.Context, q storage.AuditQuery) ([]storage.AuditEvent, error) {
	f.q = q
	return nil, f.err
}

func TestStoredLogsAndStores(t *testing.T) {
	at := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	var buf bytes.Buffer
	st := &fakeStore{}
	r := NewStored(st, slog.New(slog.NewJSONHandler(&buf, nil)), func() time.Time { return at })
	ctx, cancel := context.WithCancel(WithSource(context.Background(), "203.0.113.7", "curl/8.5"))
	cancel() // the client hung up: the event is stored all the same
	r.Record(ctx, Event{Type: MemberAdded, OrganizationID: "org_1", Actor: User("usr_1"), Subject: User("usr_2"),
		Details: map[string]string{"role": "admin"}})
	if len(st.rows) != 1 {
		t.Fatalf("stored %d events, want 1", len(st.rows))
	}
	got := st.rows[0]
	want := storage.AuditEvent{ID: got.ID, At: at, Type: "member.added", OrganizationID: "org_1", ActorType: "user", ActorID: "usr_1",
		SubjectType: "user", SubjectID: "usr_2", IP: "203.0.113.7", UserAgent: "curl/8.5", Details: map[string]string{"role": "admin"}}
	if !strings.HasPrefix(got.ID, "evt_") || got.At != want.At || got.Type != want.Type || got.OrganizationID != want.OrganizationID ||
		got.ActorID != want.ActorID || got.SubjectID != want.SubjectID || got.IP != want.IP || got.UserAgent != want.UserAgent ||
		got.Details["role"] != "admin" {
		t.Fatalf("stored %+v\nwant %+v", *got, want)
	}
	if err := st.ctxErrs[0]; err != nil {
		t.Fatalf("the write's context is done: %v", err)
	}
	if !st.deadlines[0] {
		t.Fatal("the write has no deadline")
	}
	if !strings.Contains(buf.String(), `"msg":"audit"`) || !strings.Contains(buf.String(), got.ID) {
		t.Fatalf("log = %s, want the audit line with the event id", buf.String())
	}
	if r.Failures() != 0 {
		t.Fatalf("failures = %d", r.Failures())
	}
}

func TestStoredCountsFailures(t *testing.T) {
	var buf bytes.Buffer
	st := &fakeStore{err: errors.New("database unavailable")}
	r := NewStored(st, slog.New(slog.NewJSONHandler(&buf, nil)), nil)
	r.Record(context.Background(), Event{Type: SignInFailed, Actor: Ref{Type: ActorAnonymous}})
	if r.Failures() != 1 {
		t.Fatalf("failures = %d, want 1", r.Failures())
	}
	if !strings.Contains(buf.String(), `"msg":"audit"`) || !strings.Contains(buf.String(), "could not store the event") ||
		!strings.Contains(buf.String(), `"level":"ERROR"`) {
		t.Fatalf("log = %s, want the audit line and an error line", buf.String())
	}
}

func TestServiceRules(t *testing.T) {
	ctx := context.Background()
	st := &fakeStore{}
	s := &Service{Store: st}
	member := &authz.Principal{Type: authz.TypeUser, ID: "u1", OrganizationID: "o1", Role: authz.Member, Permissions: authz.ForRole(authz.Member)}
	if _, err := s.Organization(ctx, member, Filter{}); problem.As(err) == nil || problem.As(err).Permission != authz.AuditRead {
		t.Fatalf("member: err = %v, want missing audit.read", err)
	}
	admin := &authz.Principal{Type: authz.TypeUser, ID: "u1", OrganizationID: "o1", Role: authz.Admin, Permissions: authz.ForRole(authz.Admin)}
	if _, err := s.Organization(ctx, admin, Filter{Types: []Type{MemberAdded}, ActorID: "u2", Limit: 5}); err != nil {
		t.Fatal(err)
	}
	if st.q.OrganizationID != "o1" || st.q.UserID != "" || len(st.q.Types) != 1 || st.q.Types[0] != "member.added" ||
		st.q.ActorID != "u2" || st.q.Limit != 5 {
		t.Fatalf("query = %+v", st.q)
	}
	if _, err := s.Account(ctx, "u1", Filter{Limit: 5}); err != nil || st.q.UserID != "u1" || st.q.OrganizationID != "" {
		t.Fatalf("account: err %v, query %+v", err, st.q)
	}
	if _, err := s.Account(ctx, "", Filter{}); err == nil {
		t.Fatal("account activity without a user")
	}
}

func TestTypesAreKnown(t *testing.T) {
	seen := map[Type]bool{}
	for _, typ := range Types() {
		if seen[typ] {
			t.Fatalf("%s listed twice", typ)
		}
		seen[typ] = true
	}
	if !Known(SignInFailed) || Known("sign_in") {
		t.Fatal("Known is wrong")
	}
}
