package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arsaka/puguh/storage"
	"github.com/arsaka/puguh/storage/sqlstore"
)

func TestOrgsSetPlan(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"PUGUH_DATA_DIR": dir}
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, "sqlite:"+filepath.Join(dir, "puguh.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	const orgID = "0b4c9b0e-3a51-4c4e-9d2e-6f7c1f0a9d11"
	err = s.Register(ctx, &storage.User{ID: "6a1e3c52-8a43-4a7e-a9d4-5c3f2f7b9e01", Email: "o@example.com", FullName: "O", PasswordHash: "$argon2id$x"},
		&storage.Organization{ID: orgID, Name: "O", Plan: storage.PlanFree, Personal: true})
	s.Close()
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name    string
		args    []string
		code    int
		out     string
		errText string
	}{
		{"pro", []string{"orgs", "set-plan", orgID, "pro"}, 0, "organization " + orgID + ": plan pro, 300 requests per minute", ""},
		{"enterprise, flag last", []string{"orgs", "set-plan", orgID, "enterprise", "--limit", "5000"}, 0, "plan enterprise, 5000 requests per minute", ""},
		{"enterprise, flag first", []string{"orgs", "set-plan", "--limit=7000", orgID, "Enterprise"}, 0, "plan enterprise, 7000 requests per minute", ""},
		{"enterprise without limit", []string{"orgs", "set-plan", orgID, "enterprise"}, 1, "", "puguh: the enterprise plan needs a rate limit"},
		{"limit on a fixed plan", []string{"orgs", "set-plan", orgID, "pro", "--limit", "10"}, 1, "", "puguh: only the enterprise plan takes a custom rate limit"},
		{"unknown plan", []string{"orgs", "set-plan", orgID, "gold"}, 1, "", `puguh: unknown plan "gold"`},
		{"unknown organization", []string{"orgs", "set-plan", "6f9619ff-8b86-d011-b42d-00cf4fc964ff", "pro"}, 1, "", "puguh: no organization 6f9619ff-8b86-d011-b42d-00cf4fc964ff"},
		{"missing arguments", []string{"orgs", "set-plan", orgID}, 2, "", "puguh orgs set-plan: missing PLAN; run 'puguh help orgs set-plan'\n"},
		{"unknown subcommand", []string{"orgs", "list"}, 2, "", "puguh orgs: unknown command \"list\"; run 'puguh help orgs'\n"},
		{"bad limit", []string{"orgs", "set-plan", orgID, "enterprise", "--limit", "many"}, 2, "",
			"puguh orgs set-plan: invalid value \"many\" for --limit: parse error; run 'puguh help orgs set-plan'\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCmd(t, env, tc.args...)
			if code != tc.code || !strings.Contains(out, tc.out) || !strings.HasPrefix(errOut, tc.errText) {
				t.Fatalf("got %d %q %q", code, out, errOut)
			}
		})
	}

	s, err = sqlstore.Open(ctx, "sqlite:"+filepath.Join(dir, "puguh.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	org, err := s.OrganizationByID(ctx, orgID)
	if err != nil || org.Plan != storage.PlanEnterprise || org.RateLimit != 7000 {
		t.Fatalf("stored: %+v %v", org, err)
	}
}

func TestOrgsConnections(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"PUGUH_DATA_DIR": dir, "PUGUH_ISSUER": "https://id.example.com"}
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, "sqlite:"+filepath.Join(dir, "puguh.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	const orgID = "0b4c9b0e-3a51-4c4e-9d2e-6f7c1f0a9d11"
	err = s.Register(ctx, &storage.User{ID: "6a1e3c52-8a43-4a7e-a9d4-5c3f2f7b9e01", Email: "o@example.com", FullName: "O", PasswordHash: "$argon2id$x"},
		&storage.Organization{ID: orgID, Name: "O", Plan: storage.PlanFree, Personal: true})
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	secretFile := filepath.Join(dir, "client-secret")
	if err := os.WriteFile(secretFile, []byte("very-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	connect := []string{"orgs", "connect", orgID, "--name", "Acme IdP", "--issuer", "https://idp.acme.example", "--client-id", "puguh",
		"--client-secret-file", secretFile, "--domains", "acme.example,corp.acme.example", "--map", "admins=admin"}
	code, out, errOut := runCmd(t, env, connect...)
	if code != 0 || !strings.Contains(out, "https://idp.acme.example for acme.example, corp.acme.example") ||
		!strings.Contains(out, "register this redirect URI at the provider: https://id.example.com/federation/") {
		t.Fatalf("connect: %d %q %q", code, out, errOut)
	}
	id := strings.Fields(out)[1]
	id = strings.TrimSuffix(id, ":")
	code, out, _ = runCmd(t, env, "orgs", "connections", orgID)
	if code != 0 || out != id+"\toidc\thttps://idp.acme.example\tacme.example,corp.acme.example\tmember\n" || strings.Contains(out, "very-secret") {
		t.Fatalf("connections: %d %q", code, out)
	}
	// A SAML connection from a metadata file: the output names Puguh's
	// service-provider metadata and assertion consumer service.
	code, out, errOut = runCmd(t, env, "orgs", "connect", orgID, "--name", "Acme SAML", "--domains", "saml.acme.example",
		"--saml-metadata-file", "../../provider/federation/testdata/idp-metadata.xml", "--email-claim", "mail")
	if code != 0 || !strings.Contains(out, ": SAML for saml.acme.example\ngive the identity provider Puguh's metadata: https://id.example.com/federation/saml/") ||
		!strings.Contains(out, "/metadata\n(entity ID the same URL, assertion consumer service https://id.example.com/federation/saml/") {
		t.Fatalf("connect saml: %d %q %q", code, out, errOut)
	}
	samlID := strings.TrimSuffix(strings.Fields(out)[1], ":")
	code, out, _ = runCmd(t, env, "orgs", "connections", orgID)
	if code != 0 || !strings.HasSuffix(out, samlID+"\tsaml\thttps://idp.acme.example/saml\tsaml.acme.example\tmember\n") {
		t.Fatalf("connections with saml: %d %q", code, out)
	}
	for _, tc := range []struct {
		name    string
		args    []string
		code    int
		errText string
	}{
		{"taken domain", connect, 1, "puguh: Domain acme.example is already connected to another connection\n"},
		{"no secret file", []string{"orgs", "connect", orgID, "--name", "x"}, 1, "puguh: --client-secret-file is required\n"},
		{"two metadata sources", []string{"orgs", "connect", orgID, "--name", "x", "--saml-metadata-url", "https://idp.example/md",
			"--saml-metadata-file", "-"}, 1, "puguh: --saml-metadata-url and --saml-metadata-file: give one\n"},
		{"bad map", append(connect[:len(connect)-1:len(connect)-1], "admins"), 1, "puguh: --map: \"admins\" is not GROUP=ROLE\n"},
		{"unknown organization", []string{"orgs", "connections", "6f9619ff-8b86-d011-b42d-00cf4fc964ff"}, 1, "puguh: no organization 6f9619ff-8b86-d011-b42d-00cf4fc964ff\n"},
		{"unknown connection", []string{"orgs", "disconnect", orgID, "6f9619ff-8b86-d011-b42d-00cf4fc964ff"}, 1, "puguh: Connection not found\n"},
		{"missing argument", []string{"orgs", "disconnect", orgID}, 2, "puguh orgs disconnect: missing CONNECTION_ID; run 'puguh help orgs disconnect'\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCmd(t, env, tc.args...)
			if code != tc.code || errOut != tc.errText {
				t.Fatalf("got %d %q %q", code, out, errOut)
			}
		})
	}
	code, out, _ = runCmd(t, env, "orgs", "disconnect", orgID, id)
	if code != 0 || out != "connection "+id+" deleted\n" {
		t.Fatalf("disconnect: %d %q", code, out)
	}
}
