package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/arsaka/puguh/storage"
	"github.com/arsaka/puguh/storage/sqlstore"
)

const (
	crashWriters     = 4      // concurrent writers in the child
	crashMaxPerWrite = 100000 // bound on each writer's loop; the parent kills long before
)

// sqliteWriter is the child side of TestKillNineKeepsAcknowledgedWrites: it
// registers users (user, personal organization and membership in one
// transaction) from several goroutines and prints each id only after
// Register has returned, that is, after the commit was acknowledged.
func sqliteWriter(path string, stdout, stderr io.Writer) int {
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, "sqlite:"+path)
	if err != nil {
		fmt.Fprintln(stderr, "open:", err)
		return 1
	}
	if _, err := s.Migrate(ctx); err != nil {
		fmt.Fprintln(stderr, "migrate:", err)
		return 1
	}
	round := os.Getenv("PUGUH_TEST_ROUND")
	var mu sync.Mutex
	var wg sync.WaitGroup
	failed := make(chan error, crashWriters)
	for w := 0; w < crashWriters; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < crashMaxPerWrite; i++ {
				id := fmt.Sprintf("r%s-w%d-%06d", round, w, i)
				u := &storage.User{ID: id, Email: id + "@example.com", FullName: "Crash Test", PasswordHash: "$argon2id$x"}
				org := &storage.Organization{ID: "org-" + id, Name: "Personal", Plan: "free", Personal: true}
				if err := s.Register(ctx, u, org); err != nil {
					failed <- err
					return
				}
				mu.Lock()
				_, err := fmt.Fprintln(stdout, id)
				mu.Unlock()
				if err != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-failed:
		fmt.Fprintln(stderr, "register:", err)
		return 1
	default:
		return 0
	}
}

// TestKillNineKeepsAcknowledgedWrites is docs/security.md, "Reliability under failure": Puguh killed
// with SIGKILL in the middle of SQLite writes loses no acknowledged row and
// leaves a database that passes PRAGMA integrity_check.
func TestKillNineKeepsAcknowledgedWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "puguh.db")
	const rounds, killAfter = 3, 300
	var acked []string
	for round := 1; round <= rounds; round++ {
		ids := writeUntilKilled(t, path, round, killAfter)
		t.Logf("round %d: %d writes acknowledged before SIGKILL landed", round, len(ids))
		acked = append(acked, ids...)
		assertSurvived(t, path, acked)
	}
}

// writeUntilKilled runs the writer child, kills it with SIGKILL once it has
// acknowledged killAfter writes, and returns every id it acknowledged.
func writeUntilKilled(t *testing.T, path string, round, killAfter int) []string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	c := startChild(t, "sqlite-writer", nil, w,
		"PUGUH_TEST_SQLITE_PATH="+path, fmt.Sprintf("PUGUH_TEST_ROUND=%d", round))
	w.Close() // the child holds the write end now: EOF comes when it dies

	_ = r.SetReadDeadline(time.Now().Add(60 * time.Second))
	br := bufio.NewReader(r)
	var ids []string
	killed := false
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			// A final line without its newline was cut by the kill: its write
			// returned, but the acknowledgement never fully left, so it does
			// not count (it may or may not be in the database).
			if !errors.Is(err, io.EOF) {
				t.Fatalf("read child output: %v", err)
			}
			break
		}
		ids = append(ids, strings.TrimSuffix(line, "\n"))
		if !killed && len(ids) >= killAfter {
			if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	if !killed {
		c.waitExit(t, 10*time.Second)
		t.Fatalf("writer stopped after %d writes without being killed: %v\n%s", len(ids), c.waitErr, c.stderr)
	}
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		t.Fatal("killed child did not go away")
	}
	var exitErr interface{ Sys() any }
	if errors.As(c.waitErr, &exitErr) {
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("child ended with %v, want killed by SIGKILL", c.waitErr)
		}
	}
	return ids
}

// assertSurvived reopens the database as a restarted Puguh would and checks
// that every acknowledged registration is there, whole, and the file is sound.
func assertSurvived(t *testing.T, path string, acked []string) {
	t.Helper()
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, "sqlite:"+path)
	if err != nil {
		t.Fatalf("reopen after kill -9: %v", err)
	}
	defer s.Close()
	var integrity string
	if err := s.DB().GetContext(ctx, &integrity, "PRAGMA integrity_check"); err != nil || integrity != "ok" {
		t.Fatalf("integrity_check = %q, %v", integrity, err)
	}
	var fkViolations int
	if err := s.DB().GetContext(ctx, &fkViolations, "SELECT COUNT(*) FROM pragma_foreign_key_check"); err != nil || fkViolations != 0 {
		t.Fatalf("foreign_key_check: %d violations, %v", fkViolations, err)
	}
	var users, orgs, members int
	if err := s.DB().GetContext(ctx, &users, "SELECT COUNT(*) FROM users"); err != nil {
		t.Fatal(err)
	}
	if err := s.DB().GetContext(ctx, &orgs, "SELECT COUNT(*) FROM organizations"); err != nil {
		t.Fatal(err)
	}
	if err := s.DB().GetContext(ctx, &members, "SELECT COUNT(*) FROM memberships"); err != nil {
		t.Fatal(err)
	}
	// Each registration is one transaction: all three rows or none.
	if users != orgs || users != members {
		t.Fatalf("torn registrations: %d users, %d organizations, %d memberships", users, orgs, members)
	}
	// At most one unacknowledged write per writer per round may have committed.
	if users < len(acked) {
		t.Fatalf("%d users in the database, %d acknowledged", users, len(acked))
	}
	missing := 0
	for _, id := range acked {
		if _, err := s.UserByID(ctx, id); err != nil {
			if !errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("user %s: %v", id, err)
			}
			missing++
			if missing <= 5 {
				t.Errorf("acknowledged user %s is gone", id)
			}
			continue
		}
		if _, err := s.Membership(ctx, "org-"+id, id); err != nil {
			t.Errorf("acknowledged user %s has no membership: %v", id, err)
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d acknowledged writes lost", missing, len(acked))
	}
}
