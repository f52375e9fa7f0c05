package rest_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
)

// TestLoginAtRealCost runs at the OWASP argon2id cost: the stored hash is a
// PHC string with m=19456,t=2,p=1 (docs/security.md, "Accounts and sessions"), and an unknown
// email and a wrong password answer identically (item 15). Their timings are
// logged for a human to compare, not asserted: the assertion that they cost
// the same is TestCheckPasswordSpendsOneHashEveryWay.
func TestLoginAtRealCost(t *testing.T) {
	e := start(t, apptest.Options{RealPasswordCost: true})
	u := e.NewUser()
	var stored string
	db := e.App.Store().DB()
	if err := db.Get(&stored, db.Rebind("SELECT password_hash FROM users WHERE id = ?"), u.ID); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(stored, "$argon2id$v=19$m=19456,t=2,p=1$") || strings.Contains(stored, u.Password) {
		t.Fatalf("stored hash %q, want an argon2id PHC string with m=19456,t=2,p=1", stored)
	}

	const n = 7 // per kind; the account budget is 10 sign-ins per 10 minutes
	var reference *apptest.Response
	timings := map[string][]time.Duration{}
	for i := range 2 * n {
		kind, email := "wrong password", u.Email
		if i%2 == 1 {
			kind, email = "unknown email", "nobody-"+u.ID[:8]+"@example.com"
		}
		begin := time.Now()
		r := e.Do(http.MethodPost, "/api/v1/auth/login", map[string]string{"email": email, "password": "not the password"})
		timings[kind] = append(timings[kind], time.Since(begin))
		want(t, r, http.StatusUnauthorized, bodyBadCredentials)
		if reference == nil {
			reference = r
		}
		sameHeaders(t, reference.Header, r.Header)
	}
	median := func(d []time.Duration) time.Duration { slices.Sort(d); return d[len(d)/2] }
	t.Logf("median of %d sign-ins at OWASP cost: wrong password %v, unknown email %v",
		n, median(timings["wrong password"]), median(timings["unknown email"]))
}
