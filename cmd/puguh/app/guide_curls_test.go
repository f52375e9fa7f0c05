package app_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
)

// guideHost is the host the API guide's commands are written for.
const guideHost = "https://api-puguh.arsaka.io"

// TestGuideCurlsAsWritten runs every curl of the API guide
// (testdata/guide_curls.sh, copied verbatim) with bash and the real curl and
// jq, the host swapped for a running Puguh and the placeholders for real
// values (a user registered as user@example.com / your_password, as the
// guide's login assumes; an API key; tokens; an application and an
// authorization code). Each block must get the status and JSON shape the
// guide documents. curl's own configuration (CURL_HOME) only adds
// --dump-header, so the commands run exactly as written.
func TestGuideCurlsAsWritten(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "jq"} {
		apptest.NeedTool(t, tool, "apt-get install "+tool)
	}
	raw, err := os.ReadFile("testdata/guide_curls.sh")
	if err != nil {
		t.Fatal(err)
	}
	blocks := guideBlocks(string(raw))
	if len(blocks) != 10 {
		t.Fatalf("%d blocks in testdata/guide_curls.sh, want the guide's 10", len(blocks))
	}

	e := apptest.Start(t, apptest.Options{})
	user := e.RegisterAndLogin("user@example.com", "your_password", "Guide Reader")
	r := e.Do(http.MethodPost, "/api/v1/api-keys", map[string]string{"name": "guide"}, user.Bearer()...)
	if r.Status != http.StatusCreated {
		t.Fatalf("api key: %d %s", r.Status, r.Body)
	}
	var key struct {
		Key string `json:"key"`
	}
	r.JSON(t, &key)
	session := &apptest.User{Email: user.Email, Password: user.Password}
	e.Login(session) // a second sign-in, for the logout block
	app, _ := restApp(t, e, user, map[string]any{})
	code := codeFrom(t, e, app, newBrowser(t, e).authorize(codeQuery(app, "openid profile email"), user))

	swap := strings.NewReplacer(
		guideHost, e.URL,
		"YOUR_API_KEY", key.Key,
		"YOUR_ORGANIZATION_ID", user.OrganizationID,
		"eyJhbGciOiJSUzI1NiIs...", user.AccessToken,
		"dGhpcyBpcyBhIHJlZnJl...", user.RefreshToken,
		"YOUR_TOKEN", session.AccessToken,
		"AUTHORIZATION_CODE", code,
		"YOUR_CLIENT_ID", app.ID,
		"YOUR_CLIENT_SECRET", app.Secret,
		"YOUR_REDIRECT_URI", app.RedirectURI,
	)
	want := map[string]struct {
		status int
		keys   []string // exactly these top-level keys; nil: no body
	}{
		"Using API Keys":          {200, []string{"items"}},
		"Login":                   {200, []string{"access_token", "token_type", "expires_in", "refresh_token"}},
		"JWKS":                    {200, []string{"keys"}},
		"Register":                {201, []string{"user_id", "email", "organization_id"}},
		"Using JWT Tokens":        {200, []string{"items"}},
		"Refreshing Tokens":       {200, []string{"access_token", "token_type", "expires_in", "refresh_token"}},
		"Logout":                  {204, nil},
		"Test API Key":            {200, []string{"status", "database", "redis", "principal"}},
		"Test JWT Token":          {200, []string{"items"}},
		"Exchange Code for Token": {200, []string{"access_token", "token_type", "expires_in", "id_token", "scope"}},
	}
	dir := t.TempDir()
	headers := filepath.Join(dir, "headers")
	if err := os.WriteFile(filepath.Join(dir, ".curlrc"), []byte("dump-header = \""+headers+"\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, b := range blocks {
		t.Run(b.name, func(t *testing.T) {
			w, ok := want[b.name]
			if !ok {
				t.Fatalf("no expectation for block %q", b.name)
			}
			script := swap.Replace(b.script)
			if strings.Contains(script, "arsaka.io") || regexp.MustCompile(`YOUR_|\.\.\."`).MatchString(script) {
				t.Fatalf("a placeholder is left:\n%s", script)
			}
			_ = os.Remove(headers)
			cmd := exec.Command("bash", "-euo", "pipefail", "-c", script)
			cmd.Env = append(os.Environ(), "CURL_HOME="+dir, "HOME="+dir)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("%v\n%s\nstderr: %s", err, script, stderr.String())
			}
			status := lastStatus(t, headers)
			if status != w.status {
				t.Fatalf("status %d, want %d; body %s", status, w.status, stdout.String())
			}
			if w.keys == nil {
				if stdout.Len() != 0 {
					t.Fatalf("body %q, want none", stdout.String())
				}
				return
			}
			var body map[string]any
			if err := json.Unmarshal(stdout.Bytes(), &body); err != nil {
				t.Fatalf("body is not a JSON object: %v\n%s", err, stdout.String())
			}
			var got []string
			for k := range body {
				got = append(got, k)
			}
			slices.Sort(got)
			exp := slices.Sorted(slices.Values(w.keys))
			if !slices.Equal(got, exp) {
				t.Fatalf("keys %v, want %v: %s", got, exp, stdout.String())
			}
			if tt, ok := body["token_type"]; ok && tt != "Bearer" {
				t.Fatalf("token_type %v, want the guide's Bearer", tt)
			}
		})
	}
	// The logged-out session is over; the others still work.
	if r := e.Do(http.MethodGet, "/api/v1/iam/users/me", nil, session.Bearer()...); r.Status != http.StatusUnauthorized {
		t.Fatalf("after the guide's logout: %d", r.Status)
	}
}

type guideBlock struct{ name, script string }

// guideBlocks splits the file at its "### name" lines.
func guideBlocks(src string) []guideBlock {
	var out []guideBlock
	for _, part := range strings.Split(src, "\n### ")[1:] {
		name, script, _ := strings.Cut(part, "\n")
		out = append(out, guideBlock{name: strings.TrimSpace(name), script: script})
	}
	return out
}

// lastStatus reads the status of the last response curl dumped.
func lastStatus(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("curl dumped no headers: %v", err)
	}
	m := regexp.MustCompile(`(?m)^HTTP/[0-9.]+ ([0-9]{3})`).FindAllStringSubmatch(string(b), -1)
	if m == nil {
		t.Fatalf("no status line in %q", b)
	}
	n, _ := strconv.Atoi(m[len(m)-1][1])
	return n
}
