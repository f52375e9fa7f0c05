package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arsaka/puguh/storage"
	"github.com/arsaka/puguh/storage/sqlstore"
)

func TestUsersDisableEnable(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"PUGUH_DATA_DIR": dir}
	ctx := context.Background()
	db := "sqlite:" + filepath.Join(dir, "puguh.db")
	s, err := sqlstore.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	const userID = "6a1e3c52-8a43-4a7e-a9d4-5c3f2f7b9e02"
	err = s.Register(ctx, &storage.User{ID: userID, Email: "jane@example.com", FullName: "Jane", PasswordHash: "$argon2id$x"},
		&storage.Organization{ID: "0b4c9b0e-3a51-4c4e-9d2e-6f7c1f0a9d12", Name: "Jane", Plan: storage.PlanFree, Personal: true})
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	disabled := func() bool {
		t.Helper()
		s, err := sqlstore.Open(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		u, err := s.UserByID(ctx, userID)
		if err != nil {
			t.Fatal(err)
		}
		return u.Disabled
	}
	for _, tc := range []struct {
		name         string
		args         []string
		code         int
		out, errText string
		disabled     bool
	}{
		{"disable", []string{"users", "disable", "Jane@Example.com"}, 0, "user jane@example.com (" + userID + ") disabled", "", true},
		{"disable again", []string{"users", "disable", "jane@example.com"}, 0, "disabled", "", true},
		{"enable", []string{"users", "enable", "jane@example.com"}, 0, "user jane@example.com (" + userID + ") enabled", "", false},
		{"unknown user", []string{"users", "disable", "nobody@example.com"}, 1, "", "puguh: no user nobody@example.com", false},
		{"missing email", []string{"users", "disable"}, 2, "", "puguh users disable: missing EMAIL; run 'puguh help users disable'\n", false},
		{"two emails", []string{"users", "enable", "jane@example.com", "joe@example.com"}, 2, "",
			"puguh users enable: unexpected argument \"joe@example.com\"; run 'puguh help users enable'\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCmd(t, env, tc.args...)
			if code != tc.code || !strings.Contains(out, tc.out) || !strings.HasPrefix(errOut, tc.errText) {
				t.Fatalf("got %d %q %q", code, out, errOut)
			}
			if got := disabled(); got != tc.disabled {
				t.Fatalf("disabled = %v, want %v", got, tc.disabled)
			}
		})
	}
}
