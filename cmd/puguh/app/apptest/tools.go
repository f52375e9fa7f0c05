package apptest

import (
	"os"
	"os/exec"
	"testing"
)

// EnvRequireTools makes a missing external tool fail a test instead of
// skipping it. .ci/run sets it, so CI cannot pass by skipping the tests that
// run the guide's curls, the quick start or a private Redis.
const EnvRequireTools = "PUGUH_TEST_REQUIRE_TOOLS"

// NeedTool skips t when the program is not on PATH, saying how to install
// it, or fails it when EnvRequireTools is set.
func NeedTool(t testing.TB, program, install string) {
	t.Helper()
	if _, err := exec.LookPath(program); err == nil {
		return
	}
	if os.Getenv(EnvRequireTools) != "" {
		t.Fatalf("%s is not installed and %s is set: %s", program, EnvRequireTools, install)
	}
	t.Skipf("%s is not installed: %s to run this test (.ci/run does)", program, install)
}
