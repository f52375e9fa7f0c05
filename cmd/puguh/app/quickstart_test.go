package app_test

import (
	"bytes"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
)

// TestQuickstart runs docs/quickstart.md: every ```sh block, in order, as
// written, in one bash session against a real server (PUGUH points at it,
// as the page's first block allows), then checks what the steps left behind:
// a logged-out API session and a revoked refresh family.
func TestQuickstart(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "jq", "openssl"} {
		apptest.NeedTool(t, tool, "apt-get install "+tool)
	}
	if err := exec.Command("python3", "-c", "import jwt").Run(); err != nil {
		if exec.Command("/usr/bin/python3", "-c", "import jwt").Run() != nil {
			if os.Getenv(apptest.EnvRequireTools) != "" {
				t.Fatalf("no python3 with PyJWT and %s is set: apt-get install python3-jwt", apptest.EnvRequireTools)
			}
			t.Skip("no python3 with PyJWT: apt-get install python3-jwt (.ci/run does) to run the quick start")
		}
	}
	doc, err := os.ReadFile("../../../docs/quickstart.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(string(doc), -1)
	if len(blocks) < 10 {
		t.Fatalf("docs/quickstart.md has %d sh blocks, want one per step", len(blocks))
	}
	var script strings.Builder
	for _, b := range blocks {
		script.WriteString(b[1])
		script.WriteString("\n")
	}
	// What the test reads back after the page's own commands.
	script.WriteString(`printf 'REFRESH=%s\nTOKEN=%s\nCLIENT_ID=%s\nCLIENT_SECRET=%s\n' "$REFRESH" "$TOKEN" "$CLIENT_ID" "$CLIENT_SECRET" > state.env` + "\n")

	e := apptest.Start(t, apptest.Options{})
	dir := t.TempDir()
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", script.String())
	cmd.Dir = dir
	// Debian's python3 (with PyJWT) first, as on the machines this page targets.
	cmd.Env = append(os.Environ(), "PUGUH="+e.URL, "PATH=/usr/bin:"+os.Getenv("PATH"), "HOME="+dir)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		si, _ := os.ReadFile(dir + "/signin.html")
		t.Fatalf("the quick start failed: %v\n%s\n%.2000s", err, out.String(), si)
	}
	for _, want := range []string{"verified", `"token_type": "Bearer"`, "204"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	raw, err := os.ReadFile(dir + "/state.env")
	if err != nil {
		t.Fatal(err)
	}
	st := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		k, v, _ := strings.Cut(line, "=")
		st[k] = v
	}
	// The page must have left real credentials behind: an empty token is
	// refused too, and would make the checks below pass for nothing.
	if strings.Count(st["TOKEN"], ".") != 2 || st["REFRESH"] == "" || st["CLIENT_ID"] == "" || st["CLIENT_SECRET"] == "" {
		t.Fatalf("the quick start left TOKEN=%q REFRESH=%q CLIENT_ID=%q CLIENT_SECRET set=%v", st["TOKEN"], st["REFRESH"], st["CLIENT_ID"], st["CLIENT_SECRET"] != "")
	}
	const loggedOut = `{"detail":"Invalid or expired token"}`
	if r := e.Do(http.MethodGet, "/api/v1/iam/users/me", nil, "Authorization", "Bearer "+st["TOKEN"]); r.Status != http.StatusUnauthorized ||
		strings.TrimSpace(string(r.Body)) != loggedOut {
		t.Errorf("the logged-out API token: %d %s, want 401 %s", r.Status, r.Body, loggedOut)
	}
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {st["REFRESH"]},
		"client_id": {st["CLIENT_ID"]}, "client_secret": {st["CLIENT_SECRET"]}}
	if r := tokenRequest(e, form); r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), `"error":"invalid_grant"`) {
		t.Errorf("the revoked refresh token: %d %s, want 400 invalid_grant", r.Status, r.Body)
	}
}
