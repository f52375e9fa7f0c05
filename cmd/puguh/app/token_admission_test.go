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

// With one client_credentials request and one JWT introspection admitted at a
// time, concurrent requests still all get their answer, refused ones
// included: every request, answered or refused, gives its slot back
// (PUGUH_CLIENT_CREDENTIALS_CONCURRENCY, PUGUH_INTROSPECTION_CONCURRENCY).
func TestAdmissionAnswersEveryone(t *testing.T) {
	e := apptest.Start(t, apptest.Options{Env: map[string]string{
		"PUGUH_CLIENT_CREDENTIALS_CONCURRENCY": "1",
		"PUGUH_INTROSPECTION_CONCURRENCY":      "1",
	}})
	id, secret := ccApp(t, e, e.NewUser())
	r := ccToken(t, e, id, secret)
	if r.Status != http.StatusOK {
		t.Fatalf("token: %d %s", r.Status, r.Body)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	r.JSON(t, &tok)

	type request struct {
		path, form, secret string
		status             int
		body               string // exact, or a part of it when prefixed with "~"
	}
	var requests []request
	for range 12 {
		requests = append(requests,
			request{"/oauth/token", "grant_type=client_credentials", secret, http.StatusOK, `~"access_token":"`},
			request{"/oauth/introspect", "token=" + tok.AccessToken, secret, http.StatusOK, `~"active":true`})
	}
	for range 4 {
		requests = append(requests,
			request{"/oauth/token", "grant_type=client_credentials", "not-the-secret", http.StatusUnauthorized, invalidClientBody},
			request{"/oauth/introspect", "token=" + tok.AccessToken + "x", secret, http.StatusOK, `{"active":false}`},
			request{"/oauth/introspect", "token=" + tok.AccessToken, "not-the-secret", http.StatusUnauthorized,
				`{"error":"request_unauthorized","error_description":"The request could not be authorized. OAuth 2.0 Client credentials are invalid."}`},
			request{"/oauth/introspect", "token=not-a-jwt", secret, http.StatusOK, `{"active":false}`})
	}

	// A slot that was never given back would leave the rest waiting: the
	// timeout turns that into an error instead of a hung test.
	client := &http.Client{Timeout: 30 * time.Second}
	errs := make([]string, len(requests))
	var wg sync.WaitGroup
	for i, rq := range requests {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, err := http.NewRequest(http.MethodPost, e.URL+rq.path, strings.NewReader(rq.form))
			if err != nil {
				errs[i] = err.Error()
				return
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(id, rq.secret)
			resp, err := client.Do(req)
			if err != nil {
				errs[i] = err.Error()
				return
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			body := strings.TrimSpace(string(b))
			want, part := strings.CutPrefix(rq.body, "~")
			switch {
			case err != nil:
				errs[i] = err.Error()
			case resp.StatusCode != rq.status || (part && !strings.Contains(body, want)) || (!part && body != want):
				errs[i] = resp.Status + " " + body
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != "" {
			rq := requests[i]
			t.Errorf("%s %s (secret %s): got %s, want %d %s", rq.path, rq.form[:min(len(rq.form), 40)], rq.secret[:min(len(rq.secret), 6)], err, rq.status, rq.body)
		}
	}
}
