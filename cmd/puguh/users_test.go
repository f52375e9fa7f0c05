package main

import (
	"context"
	"errors"
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
		{"enable by id", []string{"users", "enable", userID}, 0, "enabled", "", false},
		{"disable by id", []string{"users", "disable", strings.ToUpper(userID)}, 0, "disabled", "", true},
		{"enable", []string{"users", "enable", "jane@example.com"}, 0, "user jane@example.com (" + userID + ") enabled", "", false},
		{"unknown user", []string{"users", "disable", "nobody@example.com"}, 1, "", "puguh: no user nobody@example.com", false},
		{"unknown id", []string{"users", "disable", "00000000-0000-4000-8000-000000000000"}, 1, "", "puguh: no user 00000000-0000-4000-8000-000000000000\n", false},
		{"missing email", []string{"users", "disable"}, 2, "", "puguh users disable: missing USER; run 'puguh help users disable'\n", false},
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

// TestUsersDelete: `puguh users delete` needs --yes, refuses while the user is
// the last owner of an organization with other members, and then erases the
// user with the organizations only they belonged to.
func TestUsersDelete(t *testing.T) {
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
	const (
		janeID, janeOrg = "6a1e3c52-8a43-4a7e-a9d4-5c3f2f7b9e02", "0b4c9b0e-3a51-4c4e-9d2e-6f7c1f0a9d12"
		joeID, joeOrg   = "7b2f4d63-9b54-4b8f-b0e5-6d4a3a8c0f13", "1c5dac1f-4b62-4d5f-8e3f-7a8d2a1b0e23"
		teamID          = "2d6ebd20-5c73-4e60-9f40-8b9e3b2c1f34"
	)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.Register(ctx, &storage.User{ID: janeID, Email: "jane@example.com", FullName: "Jane", PasswordHash: "$argon2id$x"},
		&storage.Organization{ID: janeOrg, Name: "Jane", Plan: storage.PlanFree, Personal: true}))
	must(s.Register(ctx, &storage.User{ID: joeID, Email: "joe@example.com", FullName: "Joe", PasswordHash: "$argon2id$x"},
		&storage.Organization{ID: joeOrg, Name: "Joe", Plan: storage.PlanFree, Personal: true}))
	must(s.CreateOrganization(ctx, &storage.Organization{ID: teamID, Name: "Team", Plan: storage.PlanFree}, janeID))
	must(s.AddMember(ctx, &storage.Membership{OrganizationID: teamID, UserID: joeID, Role: storage.RoleMember}))
	s.Close()
	run := func(wantCode int, wantOut, wantErr string, args ...string) {
		t.Helper()
		code, out, errOut := runCmd(t, env, args...)
		// stderr also carries the log (the audit line of a deletion): the
		// error, if any, is its last line.
		if code != wantCode || !strings.Contains(out, wantOut) || !strings.HasSuffix(errOut, wantErr) {
			t.Fatalf("%v: got %d %q %q, want %d %q %q", args, code, out, errOut, wantCode, wantOut, wantErr)
		}
	}
	exists := func(id string) bool {
		t.Helper()
		s, err := sqlstore.Open(ctx, db)
		must(err)
		defer s.Close()
		_, err = s.UserByID(ctx, id)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			t.Fatal(err)
		}
		return err == nil
	}
	run(2, "", "puguh users delete: deleting a user cannot be undone: add --yes; run 'puguh help users delete'\n", "users", "delete", "jane@example.com")
	run(1, "", "puguh: user jane@example.com is the last owner of the organization \"Team\" ("+teamID+"), which has other members: make another member an owner first\n",
		"users", "delete", "jane@example.com", "--yes")
	if !exists(janeID) {
		t.Fatal("a refused deletion deleted the user")
	}
	run(0, "user joe@example.com ("+joeID+") deleted", "", "users", "delete", joeID, "--yes")
	if exists(joeID) {
		t.Fatal("joe still exists")
	}
	run(0, "user jane@example.com ("+janeID+") deleted", "", "users", "delete", "jane@example.com", "--yes")
	run(1, "", "puguh: no user jane@example.com\n", "users", "delete", "jane@example.com", "--yes")
	s, err = sqlstore.Open(ctx, db)
	must(err)
	defer s.Close()
	for _, org := range []string{janeOrg, joeOrg, teamID} {
		if _, err := s.OrganizationByID(ctx, org); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("organization %s: %v, want it deleted with its only member", org, err)
		}
	}
}
