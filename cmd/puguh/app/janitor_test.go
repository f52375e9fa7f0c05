package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/arsaka/puguh/cmd/puguh/config"
	"github.com/arsaka/puguh/provider/password"
	"github.com/arsaka/puguh/storage"
)

// The browser-state janitor deletes every expired challenge in batches, more
// than one batch's worth included, and leaves live ones.
func TestSweepBrowserState(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"PUGUH_DATA_DIR": dir, "PUGUH_DATABASE_URL": "sqlite:" + filepath.Join(dir, "puguh.db"),
		"PUGUH_SECRET": "test-secret-0123456789-abcdefghijklmnop", "PUGUH_ADMIN_ADDR": "off"}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a, err := NewWithOptions(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)),
		Options{PasswordParams: &password.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	now := time.Now().UTC()
	expired := browserJanitorBatch*2 + 7
	for i := range expired + 1 {
		c := &storage.LoginChallenge{ID: fmt.Sprintf("c-%05d", i), Browser: "b", ClientID: "c", Query: "q",
			RequestedAt: now.Add(-time.Hour), ExpiresAt: now.Add(-time.Minute)}
		if i == expired {
			c.ID, c.ExpiresAt = "live", now.Add(time.Hour)
		}
		if err := a.sql.CreateLoginChallenge(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	n, err := a.sweepBrowserState(ctx, now)
	if err != nil || n != expired {
		t.Fatalf("sweep deleted %d (%v), want %d", n, err, expired)
	}
	var left int
	if err := a.sql.DB().GetContext(ctx, &left, "SELECT COUNT(*) FROM login_challenges"); err != nil || left != 1 {
		t.Fatalf("%d challenges left (%v), want the live one", left, err)
	}
}

// The audit janitor deletes the events older than PUGUH_AUDIT_RETENTION, in
// batches, and keeps the rest.
func TestSweepAuditEvents(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"PUGUH_DATA_DIR": dir, "PUGUH_DATABASE_URL": "sqlite:" + filepath.Join(dir, "puguh.db"),
		"PUGUH_SECRET": "test-secret-0123456789-abcdefghijklmnop", "PUGUH_ADMIN_ADDR": "off", "PUGUH_AUDIT_RETENTION": "7d"}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a, err := NewWithOptions(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)),
		Options{PasswordParams: &password.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	now := time.Now().UTC()
	old := auditJanitorBatch + 3
	for i := range old + 2 {
		e := &storage.AuditEvent{ID: fmt.Sprintf("evt_%05d", i), At: now.Add(-8 * 24 * time.Hour), Type: "sign_in.failed",
			ActorType: "anonymous"}
		if i >= old {
			e.At = now.Add(-6 * 24 * time.Hour) // within the retention
		}
		if err := a.sql.InsertAuditEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	n, err := a.sweepAuditEvents(ctx, now)
	if err != nil || n != old {
		t.Fatalf("sweep deleted %d (%v), want %d", n, err, old)
	}
	var left int
	if err := a.sql.DB().GetContext(ctx, &left, "SELECT COUNT(*) FROM audit_events"); err != nil || left != 2 {
		t.Fatalf("%d events left (%v), want the 2 within the retention", left, err)
	}
}
