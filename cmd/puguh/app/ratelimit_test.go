package app_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
	"github.com/arsaka/puguh/storage"
	"github.com/arsaka/puguh/storage/sqlstore/sqltest"
)

// limitOptions starts Puguh with a Redis key namespace of the test's own, so
// tests sharing PUGUH_TEST_REDIS_URL never draw on each other's budgets.
func limitOptions(withRedis bool, env map[string]string) apptest.Options {
	vars := map[string]string{"PUGUH_REDIS_NAMESPACE": "test-" + randomHex(6) + ":"}
	for k, v := range env {
		vars[k] = v
	}
	return apptest.Options{Redis: withRedis, Env: vars}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// eachLimiter runs fn with the in-process limiter and with Redis.
func eachLimiter(t *testing.T, fn func(t *testing.T, withRedis bool)) {
	t.Run("local", func(t *testing.T) { fn(t, false) })
	t.Run("redis", func(t *testing.T) { fn(t, true) })
}

func intHeader(t *testing.T, r *apptest.Response, name string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(r.Header.Get(name), 10, 64)
	if err != nil {
		t.Fatalf("%s = %q: %v (status %d)", name, r.Header.Get(name), err, r.Status)
	}
	return n
}

// checkRefusal asserts a 429 carries every header right: Retry-After equal
// to the N of the body, Remaining 0, Reset in the future.
func checkRefusal(t *testing.T, r *apptest.Response, limit string) {
	t.Helper()
	if r.Status != http.StatusTooManyRequests {
		t.Fatalf("status %d, want 429: %s", r.Status, r.Body)
	}
	retry := intHeader(t, r, "Retry-After")
	if want := fmt.Sprintf(`{"detail":"Rate limit exceeded. Retry after %d seconds."}`, retry); string(r.Body) != want || retry < 1 {
		t.Fatalf("body %s, want %s", r.Body, want)
	}
	if r.Header.Get("X-RateLimit-Limit") != limit || r.Header.Get("X-RateLimit-Remaining") != "0" ||
		intHeader(t, r, "X-RateLimit-Reset") <= time.Now().Unix() {
		t.Fatalf("headers of the refusal: %v", r.Header)
	}
}

// spend sends authenticated requests (through get) until the first 429, at
// most max of them, checking on the way that every response carries the
// headers, that Remaining never grows and that Reset is in the future. It
// returns how many passed, the refusal, and the time it took.
func spend(t *testing.T, max int, get func(i int) *apptest.Response) (int, *apptest.Response, time.Duration) {
	t.Helper()
	start := time.Now()
	prev := int64(1 << 62)
	for i := range max {
		r := get(i)
		if r.Status == http.StatusTooManyRequests {
			return i, r, time.Since(start)
		}
		if r.Status != http.StatusOK {
			t.Fatalf("request %d: %d %s", i+1, r.Status, r.Body)
		}
		remaining := intHeader(t, r, "X-RateLimit-Remaining")
		// GCRA refills one request a second; between two quick requests the
		// figure can only stay or fall.
		if remaining > prev || intHeader(t, r, "X-RateLimit-Reset") <= time.Now().Unix() {
			t.Fatalf("request %d: remaining %d after %d, reset %s", i+1, remaining, prev, r.Header.Get("X-RateLimit-Reset"))
		}
		prev = remaining
	}
	t.Fatalf("no 429 in %d requests", max)
	return 0, nil, 0
}

// checkBudget asserts that a free organization was allowed its 60 requests
// and no more than GCRA's refill of one a second while the loop ran: if the
// loop took under a second, the 61st request was the refused one.
func checkBudget(t *testing.T, allowed int, took time.Duration) {
	t.Helper()
	if allowed < 60 || allowed > 60+int(took/time.Second)+1 {
		t.Fatalf("%d requests allowed in %s, want 60 (plus one per second elapsed)", allowed, took)
	}
}

// The API guide's "Rate Limiting" and "429" sections for a free organization.
func TestOrganizationRateLimit(t *testing.T) {
	eachLimiter(t, func(t *testing.T, withRedis bool) {
		e := apptest.Start(t, limitOptions(withRedis, nil))
		u := e.NewUser()
		allowed, refusal, took := spend(t, 80, func(int) *apptest.Response {
			return e.Do(http.MethodGet, "/api/v1/iam/users/me", nil, u.Bearer()...)
		})
		checkBudget(t, allowed, took)
		checkRefusal(t, refusal, "60")

		// Errors carry the headers too: a 404 from a handler after authentication.
		r := e.Do(http.MethodGet, "/api/v1/organizations/6f9619ff-8b86-d011-b42d-00cf4fc964ff", nil, u.Bearer()...)
		if r.Header.Get("X-RateLimit-Limit") != "60" || r.Header.Get("X-RateLimit-Reset") == "" {
			t.Fatalf("error response without headers: %d %v", r.Status, r.Header)
		}
		// Another organization has its own budget.
		v := e.NewUser()
		if r := e.Do(http.MethodGet, "/api/v1/iam/users/me", nil, v.Bearer()...); r.Status != http.StatusOK || r.Header.Get("X-RateLimit-Remaining") != "59" {
			t.Fatalf("second organization: %d %v", r.Status, r.Header)
		}
	})
}

// Two replicas on one database and one Redis draw on one budget.
func TestOrganizationRateLimitAcrossReplicas(t *testing.T) {
	// One issuer, as behind a load balancer: a token from one replica is good on the other.
	opts := limitOptions(true, map[string]string{"PUGUH_ISSUER": "http://puguh.test"})
	opts.DatabaseURL = sqltest.Backends()[0].URL(t)
	a := apptest.Start(t, opts)
	b := apptest.Start(t, opts)
	u := a.NewUser()
	allowed, refusal, took := spend(t, 80, func(i int) *apptest.Response {
		e := a
		if i%2 == 1 {
			e = b
		}
		return e.Do(http.MethodGet, "/api/v1/iam/users/me", nil, u.Bearer()...)
	})
	checkBudget(t, allowed, took) // 60 in all, not 60 each
	checkRefusal(t, refusal, "60")
}

// The plan API is for platform operators only, and a new plan is applied
// within seconds (cached.OrganizationTTL; at once on the replica that made it).
func TestPlanAPI(t *testing.T) {
	opEmail := "ops-" + randomHex(4) + "@example.com"
	e := apptest.Start(t, limitOptions(false, map[string]string{"PUGUH_PLATFORM_OPERATORS": strings.ToUpper(opEmail)}))
	owner := e.NewUser()
	op := e.RegisterAndLogin(opEmail, "correct horse battery", "Platform Operator")
	path := "/api/v1/organizations/" + owner.OrganizationID + "/plan"

	for _, tc := range []struct {
		name   string
		as     *apptest.User
		body   any
		status int
		want   string
	}{
		// An owner holds every organization permission, but not this one.
		{"owner", owner, map[string]any{"plan": "business"}, http.StatusForbidden, `{"detail":"Missing permission: platform.plans.update"}`},
		{"enterprise without limit", op, map[string]any{"plan": "enterprise"}, http.StatusUnprocessableEntity,
			`{"detail":[{"loc":["body","plan"],"msg":"the enterprise plan needs a rate limit between 1 and 1000000 requests per minute","type":"value_error"}]}`},
		{"missing plan", op, map[string]any{}, http.StatusUnprocessableEntity,
			`{"detail":[{"loc":["body","plan"],"msg":"field required","type":"value_error.missing"}]}`},
		{"unknown organization", op, map[string]any{"plan": "pro"}, http.StatusNotFound, `{"detail":"Organization not found"}`},
		{"operator", op, map[string]any{"plan": "business"}, http.StatusOK,
			`{"organization_id":"` + owner.OrganizationID + `","plan":"business","rate_limit":0,"requests_per_minute":1000}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := path
			if tc.name == "unknown organization" {
				p = "/api/v1/organizations/6f9619ff-8b86-d011-b42d-00cf4fc964ff/plan"
			}
			r := e.Do(http.MethodPatch, p, tc.body, tc.as.Bearer()...)
			if r.Status != tc.status || string(r.Body) != tc.want {
				t.Fatalf("got %d %s, want %d %s", r.Status, r.Body, tc.status, tc.want)
			}
		})
	}
	// The owner's requests were counted under the free plan (cached by the
	// refused PATCH); the business plan shows within the cache's lifetime.
	for i := 0; ; i++ {
		r := e.Do(http.MethodGet, "/api/v1/iam/users/me", nil, owner.Bearer()...)
		if r.Header.Get("X-RateLimit-Limit") == "1000" {
			break
		}
		if i == 40 {
			t.Fatalf("plan change not applied after 10 s: %v", r.Header)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// loginAs sends one failing REST login for email, from the client address
// xff when it is not empty.
func loginAs(e *apptest.Env, email, xff string) *apptest.Response {
	e.T.Helper()
	h := []string{}
	if xff != "" {
		h = append(h, "X-Forwarded-For", xff)
	}
	return e.Do(http.MethodPost, "/api/v1/auth/login", map[string]string{"email": email, "password": "wrong password 1"}, h...)
}

func randomIP() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return fmt.Sprintf("198.%d.%d.%d", 18+b[0]%2, b[1], 1+b[2]%250)
}

// One account guessed at: an attacker's IP is cut off after 10 guesses while
// the owner, from another IP, still signs in (no lockout of a victim,
// docs/security.md, "Accounts and sessions"); guesses spread over many IPs stop at the
// account-wide budget of 100.
func TestLoginThrottlePerAccount(t *testing.T) {
	eachLimiter(t, func(t *testing.T, withRedis bool) {
		e := apptest.Start(t, limitOptions(withRedis, map[string]string{"PUGUH_TRUSTED_PROXIES": "127.0.0.1/32"}))
		victim := e.NewUser()
		attacker := randomIP()
		for i := range 10 {
			if r := loginAs(e, victim.Email, attacker); r.Status != http.StatusUnauthorized {
				t.Fatalf("attempt %d: %d %s", i+1, r.Status, r.Body)
			}
		}
		// The email is normalised: case and spaces do not make a new account.
		r := loginAs(e, "  "+strings.ToUpper(victim.Email), attacker)
		if r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") != "60" ||
			string(r.Body) != `{"detail":"Rate limit exceeded. Retry after 60 seconds."}` {
			t.Fatalf("11th attempt from one IP: %d %v %s", r.Status, r.Header, r.Body)
		}
		// The owner, elsewhere, is not locked out.
		owner := e.Do(http.MethodPost, "/api/v1/auth/login", map[string]string{"email": victim.Email, "password": victim.Password},
			"X-Forwarded-For", randomIP())
		if owner.Status != http.StatusOK {
			t.Fatalf("owner from another IP during the attack: %d %s", owner.Status, owner.Body)
		}
		// Unknown emails are throttled alike, so a 429 tells nothing about registration.
		ghost := "ghost-" + randomHex(4) + "@example.com"
		for range 10 {
			loginAs(e, ghost, attacker)
		}
		if r := loginAs(e, ghost, attacker); r.Status != http.StatusTooManyRequests {
			t.Fatalf("unknown email: %d", r.Status)
		}
		// Spread over many IPs, guessing at one account stops at the account-wide budget.
		target := e.NewUser()
		allowed := 0
		for range 130 {
			if r := loginAs(e, target.Email, randomIP()); r.Status == http.StatusUnauthorized {
				allowed++
			} else if r.Status != http.StatusTooManyRequests {
				t.Fatalf("distributed guessing: %d %s", r.Status, r.Body)
			}
		}
		if allowed < 99 || allowed > 110 {
			t.Fatalf("%d distributed guesses allowed, want about 100 (the account-wide budget)", allowed)
		}
	})
}

// The guide's login, correct, many times a minute for one account from one
// IP: the account throttle counts failures only, so none is refused; wrong
// passwords still stop at the documented point, the 11th from that IP.
func TestLoginThrottleCountsFailuresOnly(t *testing.T) {
	eachLimiter(t, func(t *testing.T, withRedis bool) {
		e := apptest.Start(t, limitOptions(withRedis, nil))
		u := e.NewUser()
		login := func(pw string) *apptest.Response {
			// curl -X POST …/api/v1/auth/login -H "Content-Type: application/json"
			//   -d '{"email": "user@example.com", "password": "your_password"}'
			return e.Do(http.MethodPost, "/api/v1/auth/login", `{"email": "`+u.Email+`", "password": "`+pw+`"}`)
		}
		for i := range 15 {
			if r := login(u.Password); r.Status != http.StatusOK {
				t.Fatalf("correct login %d: %d %s", i+1, r.Status, r.Body)
			}
		}
		for i := range 10 {
			if r := login("wrong password 1"); r.Status != http.StatusUnauthorized || string(r.Body) != `{"detail":"Invalid email or password"}` {
				t.Fatalf("wrong password %d: %d %s", i+1, r.Status, r.Body)
			}
		}
		r := login("wrong password 1")
		if r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") != "60" ||
			string(r.Body) != `{"detail":"Rate limit exceeded. Retry after 60 seconds."}` {
			t.Fatalf("11th wrong password: %d %v %s", r.Status, r.Header, r.Body)
		}
		// The budget of this account from this IP is spent: the password is
		// not even checked until it refills.
		if r := login(u.Password); r.Status != http.StatusTooManyRequests {
			t.Fatalf("correct password while throttled: %d %s", r.Status, r.Body)
		}
	})
}

// Many accounts guessed at from one IP: the sign-in budget of that IP runs
// out, and a spoofed X-Forwarded-For without a trusted proxy does not reset
// it (docs/security.md, "Accounts and sessions").
func TestLoginThrottlePerIP(t *testing.T) {
	eachLimiter(t, func(t *testing.T, withRedis bool) {
		e := apptest.Start(t, limitOptions(withRedis, nil))
		allowed, refusal, took := spend(t, 80, func(i int) *apptest.Response {
			r := loginAs(e, fmt.Sprintf("user%d-%s@example.com", i, randomHex(3)), randomIP())
			if r.Status == http.StatusUnauthorized {
				r.Status = http.StatusOK // a refused password is the expected answer here
			}
			return r
		})
		if allowed < 60 || allowed > 60+int(took/time.Second)+1 {
			t.Fatalf("%d attempts allowed from one IP in %s", allowed, took)
		}
		checkRefusal(t, refusal, "60")
		// The other unauthenticated endpoints of that IP are limited separately.
		if r := e.Do(http.MethodPost, "/api/v1/auth/register", map[string]string{}); r.Status != http.StatusUnprocessableEntity {
			t.Fatalf("register: %d %s", r.Status, r.Body)
		}
	})
}

// redisServer is a private redis-server on a spare loopback port.
type redisServer struct {
	port string
	cmd  *exec.Cmd
}

func startRedis(t *testing.T, port string) *redisServer {
	t.Helper()
	if port == "" {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		_, port, _ = net.SplitHostPort(ln.Addr().String())
		ln.Close()
	}
	cmd := exec.Command("redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &redisServer{port: port, cmd: cmd}
	t.Cleanup(s.kill)
	c := s.client(t)
	for i := 0; c.Ping(context.Background()).Err() != nil; i++ {
		if i == 100 {
			t.Fatalf("private redis on port %s did not start", port)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return s
}

func (s *redisServer) url() string { return "redis://127.0.0.1:" + s.port + "/0" }

func (s *redisServer) client(t *testing.T) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + s.port})
	t.Cleanup(func() { c.Close() })
	return c
}

// kill stops this test's redis-server by its PID, and only it.
func (s *redisServer) kill() {
	if s.cmd.ProcessState == nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
	}
}

// Redis killed mid-test: requests keep flowing under the local limiter (no
// 5xx), the failure is logged once and counted, and the shared limiter
// resumes when Redis is back on the same port (docs/security.md, "Reliability under failure").
func TestRateLimitRedisOutage(t *testing.T) {
	apptest.NeedTool(t, "redis-server", "apt-get install redis-server")
	rs := startRedis(t, "")
	ns := "outage-" + randomHex(4) + ":"
	e := apptest.Start(t, apptest.Options{Env: map[string]string{"PUGUH_REDIS_URL": rs.url(), "PUGUH_REDIS_NAMESPACE": ns}})
	u := e.NewUser()
	if err := e.App.Store().SetPlan(context.Background(), u.OrganizationID, storage.PlanPro, 0); err != nil {
		t.Fatal(err)
	}
	key := "rate:" + ns + "org:" + u.OrganizationID
	get := func() *apptest.Response {
		r := e.Do(http.MethodGet, "/api/v1/iam/users/me", nil, u.Bearer()...)
		if r.Status != http.StatusOK || r.Header.Get("X-RateLimit-Limit") != "300" {
			t.Fatalf("%d %v %s", r.Status, r.Header, r.Body)
		}
		return r
	}
	get()
	if n := rs.client(t).Exists(context.Background(), key).Val(); n != 1 {
		t.Fatal("the shared limiter did not write Redis")
	}

	rs.kill()
	for range 30 {
		get()
	}
	if n := strings.Count(e.Logs(), "redis unavailable, enforcing limits per replica"); n != 1 {
		t.Fatalf("%d outage warnings logged, want 1", n)
	}
	m := e.Admin("/metrics")
	if !strings.Contains(string(m.Body), "puguh_ratelimit_local_fallback 1") || strings.Contains(string(m.Body), "puguh_ratelimit_redis_failures_total 0") {
		t.Fatalf("metrics do not show the outage:\n%s", grepLines(string(m.Body), "puguh_ratelimit"))
	}

	back := startRedis(t, rs.port)
	for i := 0; back.client(t).Exists(context.Background(), key).Val() != 1; i++ {
		if i == 100 {
			t.Fatal("shared limiter did not resume within 10 s of Redis coming back")
		}
		get()
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(e.Logs(), "shared limits resumed") {
		t.Fatal("recovery not logged")
	}
}

func grepLines(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
