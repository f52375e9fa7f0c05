package app_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
)

// TestMailWiring: without PUGUH_SMTP_URL the server makes its outbox (0700)
// and says so; the mail metrics are on the admin listener.
func TestMailWiring(t *testing.T) {
	dir := t.TempDir()
	e := apptest.Start(t, apptest.Options{Env: map[string]string{"PUGUH_DATA_DIR": dir}})
	fi, err := os.Stat(filepath.Join(dir, "outbox"))
	if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
		t.Fatalf("outbox: %v %v", fi, err)
	}
	if !strings.Contains(e.Logs(), "messages are written to the outbox") {
		t.Fatalf("no outbox line in the logs")
	}
	r := e.Admin("/metrics")
	if r.Status != http.StatusOK {
		t.Fatalf("metrics: %d", r.Status)
	}
	for _, m := range []string{`puguh_mail_messages_total{result="failed"} 0`, "puguh_mail_queue_depth 0", "puguh_mail_retries_total 0"} {
		if !strings.Contains(string(r.Body), m) {
			t.Errorf("/metrics lacks %q", m)
		}
	}
}
