package main

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// `puguh keys rotate --algorithm` rotates that algorithm's chain only, and
// refuses an algorithm the configuration does not enable.
func TestKeysRotateAlgorithm(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"PUGUH_DATA_DIR": filepath.Join(dir, "data"), "PUGUH_SIGNING_ALGORITHMS": "RS256,ES256"}
	code, out, errOut := runCmd(t, env, "keys", "list")
	if code != 0 || strings.Count(out, "ES256") != 2 || strings.Count(out, "RS256") != 2 {
		t.Fatalf("keys list: %d %q %q; want an active and a next key of each algorithm", code, out, errOut)
	}
	activeRS := regexp.MustCompile(`(\S+)\s+active\s+RS256`).FindStringSubmatch(out)
	code, out, errOut = runCmd(t, env, "keys", "rotate", "--algorithm", "ES256", "--force")
	rotated := regexp.MustCompile(`^rotated: (\S+) now signs`).FindStringSubmatch(out)
	if code != 0 || rotated == nil || !regexp.MustCompile(regexp.QuoteMeta(rotated[1])+`\s+active\s+ES256`).MatchString(out) {
		t.Fatalf("rotate ES256: %d %q %q", code, out, errOut)
	}
	if activeRS == nil || !regexp.MustCompile(regexp.QuoteMeta(activeRS[1])+`\s+active\s+RS256`).MatchString(out) {
		t.Fatalf("rotating ES256 moved the RS256 key %v:\n%s", activeRS, out)
	}
	code, _, errOut = runCmd(t, env, "keys", "rotate", "--algorithm", "EdDSA")
	if code != 1 || errOut != "puguh: keys: \"EdDSA\" is not an enabled signing algorithm (enabled: [RS256 ES256])\n" {
		t.Fatalf("rotate EdDSA: %d %q", code, errOut)
	}
}
