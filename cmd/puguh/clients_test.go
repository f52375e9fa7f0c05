package main

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
	"github.com/arsaka/puguh/provider/credentials"
	"github.com/arsaka/puguh/storage"
	"github.com/arsaka/puguh/storage/sqlstore"
)

// TestClientsCommand: `puguh clients create` validates like the REST API,
// prints the secret once and stores only its hash; `list` never prints it.
func TestClientsCommand(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"PUGUH_DATA_DIR": dir}
	ctx := context.Background()
	dbURL := "sqlite:" + filepath.Join(dir, "puguh.db")
	s, err := sqlstore.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	const orgID = "1c4c9b0e-3a51-4c4e-9d2e-6f7c1f0a9d22"
	err = s.Register(ctx, &storage.User{ID: "7a1e3c52-8a43-4a7e-a9d4-5c3f2f7b9e02", Email: "c@example.com", FullName: "C", PasswordHash: "$argon2id$x"},
		&storage.Organization{ID: orgID, Name: "C", Plan: storage.PlanFree, Personal: true})
	s.Close()
	if err != nil {
		t.Fatal(err)
	}

	code, out, errOut := runCmd(t, env, "clients", "create", "--org", orgID, "--name", "Intranet",
		"--redirect-uri", "https://intranet.example.com/cb", "--redirect-uri", "http://127.0.0.1:9000/cb",
		"--scope", "openid profile", "--scope", "read:user", "--trusted")
	if code != 0 {
		t.Fatalf("create: %d %q", code, errOut)
	}
	m := regexp.MustCompile(`(?m)^client_id:\s+(\S+)\nclient_secret:\s+(pghs_\S+)$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("output %q lacks client_id and client_secret", out)
	}
	clientID, secret := m[1], m[2]

	cases := []struct {
		name    string
		args    []string
		errText string
	}{
		{"http redirect", []string{"clients", "create", "--org", orgID, "--name", "x", "--redirect-uri", "http://evil.example/cb"},
			"puguh: invalid application:\n  --redirect-uri #1: URL scheme must be https"},
		{"public client_credentials", []string{"clients", "create", "--org", orgID, "--name", "x", "--grant-type", "client_credentials", "--public"},
			"puguh: invalid application:\n  --grant-type: public clients cannot use the client_credentials grant"},
		{"no name", []string{"clients", "create", "--org", orgID, "--grant-type", "client_credentials"}, "puguh: invalid application:\n  --name: "},
		{"unknown organization", []string{"clients", "create", "--org", "6f9619ff-8b86-d011-b42d-00cf4fc964ff", "--name", "x"},
			"puguh: no organization 6f9619ff-8b86-d011-b42d-00cf4fc964ff"},
		{"no org", []string{"clients", "list"}, "puguh clients list: missing --org; run 'puguh help clients list'\n"},
		{"unknown subcommand", []string{"clients", "delete", "--org", orgID}, "puguh clients: unknown command \"delete\"; run 'puguh help clients'\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := runCmd(t, env, tc.args...)
			want := 1
			if strings.HasSuffix(tc.errText, "'\n") {
				want = 2 // a usage error: the whole line
				if errOut != tc.errText {
					t.Fatalf("stderr %q, want %q", errOut, tc.errText)
				}
			}
			if code != want || !strings.HasPrefix(errOut, tc.errText) {
				t.Fatalf("got %d %q, want %d and %q", code, errOut, want, tc.errText)
			}
		})
	}

	code, out, errOut = runCmd(t, env, "clients", "list", "--org", orgID)
	if code != 0 || !strings.Contains(out, clientID) || !strings.Contains(out, "Intranet") || strings.Contains(out, secret) {
		t.Fatalf("list: %d %q %q", code, out, errOut)
	}

	s, err = sqlstore.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	app, err := s.ApplicationByID(ctx, clientID)
	if err != nil {
		t.Fatal(err)
	}
	if string(app.SecretHash) != string(credentials.HashClientSecret(secret)) || !app.Trusted || app.OrganizationID != orgID ||
		!slices.Equal(app.Scopes, []string{"openid", "profile", "read:user"}) {
		t.Fatalf("stored %+v", app)
	}
}

// TestClientsAuthMethod: --auth-method sets the method a client declares,
// `clients list` shows it, and a client made by `puguh clients create`
// (client_secret_basic) authenticates at /oauth/token with its secret sent
// either way, as the API guide's form post does.
func TestClientsAuthMethod(t *testing.T) {
	dir := t.TempDir()
	dbURL := "sqlite:" + filepath.Join(dir, "puguh.db")
	// The same secret as the server: the command opens the signing keys too.
	env := map[string]string{"PUGUH_DATA_DIR": dir, "PUGUH_DATABASE_URL": dbURL, "PUGUH_SECRET": apptest.Secret}
	e := apptest.Start(t, apptest.Options{DatabaseURL: dbURL})
	owner := e.NewUser()
	org := owner.OrganizationID

	created := map[string]string{} // method → client_id
	var basicID, basicSecret string
	for _, tc := range []struct {
		name   string
		args   []string
		method string
	}{
		{"default", nil, "client_secret_basic"},
		{"post", []string{"--auth-method", "client_secret_post"}, "client_secret_post"},
		{"none", []string{"--auth-method", "none"}, "none"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"clients", "create", "--org", org, "--name", "Backend-" + tc.name,
				"--redirect-uri", "https://backend.example.com/cb"}, tc.args...)
			if tc.method != "none" {
				args = append(args, "--grant-type", "authorization_code", "--grant-type", "client_credentials")
			}
			code, out, errOut := runCmd(t, env, args...)
			if code != 0 {
				t.Fatalf("create: %d %q", code, errOut)
			}
			m := regexp.MustCompile(`(?m)^client_id:\s+(\S+)$`).FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("output %q lacks client_id", out)
			}
			created[tc.method] = m[1]
			if tc.method == "client_secret_basic" {
				basicID = m[1]
				basicSecret = regexp.MustCompile(`(?m)^client_secret:\s+(\S+)$`).FindStringSubmatch(out)[1]
			}
		})
	}
	code, out, errOut := runCmd(t, env, "clients", "list", "--org", org)
	if code != 0 || !strings.Contains(out, "AUTH METHOD") {
		t.Fatalf("list: %d %q %q", code, out, errOut)
	}
	for method, id := range created {
		if !regexp.MustCompile(`(?m)^` + id + `\s+Backend-\S+\s+\S+\s+` + method + `\s`).MatchString(out) {
			t.Fatalf("list does not show %s for %s:\n%s", method, id, out)
		}
	}

	for _, tc := range []struct {
		name    string
		args    []string
		errText string
	}{
		{"unknown method", []string{"--auth-method", "private_key_jwt"},
			"puguh: invalid application:\n  --auth-method: value is not a valid enumeration member; permitted: 'client_secret_basic', 'client_secret_post', 'none'"},
		{"public with a secret method", []string{"--public", "--auth-method", "client_secret_post"},
			"puguh: invalid application:\n  --auth-method: public clients use token_endpoint_auth_method none, and only they do"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"clients", "create", "--org", org, "--name", "x", "--redirect-uri", "https://backend.example.com/cb"}, tc.args...)
			if code, _, errOut := runCmd(t, env, args...); code != 1 || errOut != tc.errText+"\n" {
				t.Fatalf("got %d %q, want 1 %q", code, errOut, tc.errText)
			}
		})
	}
	if code, _, errOut := runCmd(t, env, "clients", "list", "--org", org, "--auth-method", "none"); code != 2 ||
		errOut != "puguh clients list: unknown flag --auth-method; run 'puguh help clients list'\n" {
		t.Fatalf("list with --auth-method: %d %q", code, errOut)
	}

	// The CLI's client (client_secret_basic) at the token endpoint, both ways.
	for _, tc := range []struct {
		name    string
		form    url.Values
		headers []string
	}{
		{"form", url.Values{"grant_type": {"client_credentials"}, "client_id": {basicID}, "client_secret": {basicSecret}}, nil},
		{"basic", url.Values{"grant_type": {"client_credentials"}}, []string{"Authorization", "Basic " +
			base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(basicID)+":"+url.QueryEscape(basicSecret)))}},
	} {
		t.Run("token via "+tc.name, func(t *testing.T) {
			r := e.Do(http.MethodPost, "/oauth/token", tc.form.Encode(), append([]string{"Content-Type", "application/x-www-form-urlencoded"}, tc.headers...)...)
			if r.Status != http.StatusOK {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
		})
	}
}
