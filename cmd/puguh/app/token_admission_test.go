package app_test

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
)

// With one client_credentials request admitted at a time, concurrent requests
// still all get their answer, refused ones included: every request, answered
// or refused, gives its slot back (PUGUH_CLIENT_CREDENTIALS_CONCURRENCY).
func TestClientCredentialsAdmissionAnswersEveryone(t *testing.T) {
	e := apptest.Start(t, apptest.Options{Env: map[string]string{"PUGUH_CLIENT_CREDENTIALS_CONCURRENCY": "1"}})
	id, secret := ccApp(t, e, e.NewUser())

	type answer struct {
		status int
		body   string
		err    error
	}
	// A slot that was never given back would leave the rest waiting: the
	// timeout turns that into an error instead of a hung test.
	client := &http.Client{Timeout: 30 * time.Second}
	const good, bad = 16, 8
	answers := make([]answer, good+bad)
	var wg sync.WaitGroup
	for i := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := secret
			if i >= good {
				s = "not-the-secret"
			}
			req, err := http.NewRequest(http.MethodPost, e.URL+"/oauth/token", strings.NewReader("grant_type=client_credentials"))
			if err != nil {
				answers[i].err = err
				return
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(id, s)
			resp, err := client.Do(req)
			if err != nil {
				answers[i].err = err
				return
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			answers[i] = answer{resp.StatusCode, string(b), err}
		}()
	}
	wg.Wait()
	for i, a := range answers {
		switch {
		case a.err != nil:
			t.Errorf("request %d: %v", i, a.err)
		case i < good && (a.status != http.StatusOK || !strings.Contains(a.body, `"access_token":"`)):
			t.Errorf("request %d: %d %s, want 200 with a token", i, a.status, a.body)
		case i >= good && (a.status != http.StatusUnauthorized || a.body != invalidClientBody):
			t.Errorf("request %d: %d %s, want 401 %s", i, a.status, a.body, invalidClientBody)
		}
	}
}
