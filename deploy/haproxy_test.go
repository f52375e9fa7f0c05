package deploy

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// replicaHosts stand in for the containers of `--scale puguh=3`: one
// loopback address each, all on the same ports, as containers are.
var replicaHosts = []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"}

// The shipped haproxy.cfg in front of three real Puguh replicas (PostgreSQL
// and Redis shared, as in docker-compose.yml), with only what differs
// outside Docker replaced: the DNS server (a test one that answers "puguh"
// with the replicas' addresses, as Docker's does), and the ports.
func TestHAProxyInFrontOfReplicas(t *testing.T) {
	dbURL, redisURL := testPostgresURL(t), testRedisURL(t)
	haproxy, err := exec.LookPath("haproxy")
	if err != nil {
		t.Skip("haproxy is not installed (apt-get install haproxy; .ci/run does)")
	}
	public := freePort(t, replicaHosts...)
	admin := freePort(t, replicaHosts...)
	lbPort := freePort(t, "127.0.0.1")
	dns := startDNS(t, "puguh.", replicaHosts)

	src, err := os.ReadFile(haproxyPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg := string(src)
	for _, r := range []struct{ old, new string }{
		{"nameserver dns 127.0.0.11:53", "nameserver dns " + dns},
		{"bind :8080", "bind 127.0.0.1:" + lbPort},
		{"server-template puguh 1-10 puguh:8080", "server-template puguh 1-10 puguh:" + public},
		{"check port 9090", "check port " + admin},
	} {
		if n := strings.Count(cfg, r.old); n != 1 {
			t.Fatalf("haproxy.cfg has %q %d times, want once: update this test with the file", r.old, n)
		}
		cfg = strings.Replace(cfg, r.old, r.new, 1)
	}
	cfgPath := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(haproxy, "-c", "-f", cfgPath).CombinedOutput(); err != nil {
		t.Fatalf("haproxy -c: %v\n%s", err, out)
	}

	base := map[string]string{
		"PUGUH_DATABASE_URL":         dbURL,
		"PUGUH_REDIS_URL":            redisURL,
		"PUGUH_SECRET":               testSecret,
		"PUGUH_RATE_LIMIT_NAMESPACE": fmt.Sprintf("deploylb%d:", time.Now().UnixNano()),
		// HAProxy connects to 127.0.0.x from 127.0.0.1: the balancer.
		"PUGUH_TRUSTED_PROXIES": "127.0.0.1",
	}
	replicaEnv := func(host, adminPort string) map[string]string {
		env := map[string]string{"PUGUH_ADDR": host + ":" + public, "PUGUH_ADMIN_ADDR": host + ":" + adminPort}
		for k, v := range base {
			env[k] = v
		}
		return env
	}
	// One at a time: the first migrates the schema and makes the keys.
	replicas := make([]*puguhServer, len(replicaHosts))
	for i, h := range replicaHosts {
		replicas[i] = startPuguh(t, fmt.Sprintf("replica %d", i+1), replicaEnv(h, admin))
	}
	lb := start(t, "haproxy", haproxy, nil, "-db", "-f", cfgPath)
	lbURL := "http://127.0.0.1:" + lbPort
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", "127.0.0.1:"+lbPort)
		if err == nil {
			c.Close()
			break
		}
		if i == 300 || lb.exited() {
			t.Fatalf("haproxy does not listen on %s:\n%s", lbPort, tail(lb.out.String(), 40))
		}
		time.Sleep(100 * time.Millisecond)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	health := func(t *testing.T) {
		t.Helper()
		if lb.exited() {
			t.Fatalf("haproxy exited:\n%s", tail(lb.out.String(), 40))
		}
		if code, body := get(t, client, lbURL+"/api/v1/health"); code != http.StatusOK || body != `{"status":"ok","database":"ok","redis":"ok"}` {
			t.Fatalf("through the balancer: %d %s", code, body)
		}
	}
	// served is how many health requests each replica has answered.
	served := func(t *testing.T, s *puguhServer) int {
		t.Helper()
		return healthRequests(t, client, s.admin)
	}
	waitServing := func(t *testing.T, s *puguhServer) {
		t.Helper()
		for range 300 {
			if served(t, s) > 0 {
				return
			}
			health(t)
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("%s got no request through the balancer", s.name)
	}

	t.Run("round robin over the ready replicas", func(t *testing.T) {
		for _, s := range replicas {
			waitServing(t, s)
		}
		before := make([]int, len(replicas))
		for i, s := range replicas {
			before[i] = served(t, s)
		}
		for range 30 {
			health(t)
		}
		for i, s := range replicas {
			if got := served(t, s) - before[i]; got != 10 {
				t.Errorf("%s answered %d of 30 requests, want 10", s.name, got)
			}
		}
	})

	t.Run("client address from X-Forwarded-For", func(t *testing.T) {
		// Sign-up allows 60 requests a minute per client address, counted
		// in Redis across the replicas. One client spends its budget; a
		// second client behind the same balancer still has its own, which
		// it would not if the replicas saw only the balancer's address.
		alice, bob := clientFrom(t, "127.0.0.5"), clientFrom(t, "127.0.0.6")
		register := func(c *http.Client, forwardedFor string) (int, string) {
			t.Helper()
			req, _ := http.NewRequest(http.MethodPost, lbURL+"/api/v1/auth/register", strings.NewReader(`{}`))
			req.Header.Set("Content-Type", "application/json")
			if forwardedFor != "" {
				req.Header.Set("X-Forwarded-For", forwardedFor)
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode, resp.Header.Get("Retry-After")
		}
		refusedAfter := 0
		for i := 1; i <= 200 && refusedAfter == 0; i++ {
			if code, _ := register(alice, ""); code == http.StatusTooManyRequests {
				refusedAfter = i
			} else if code != http.StatusUnprocessableEntity {
				t.Fatalf("request %d: %d, want 422 (empty body) until the limit", i, code)
			}
		}
		if refusedAfter != 61 {
			t.Fatalf("first 429 at request %d, want 61 (60 a minute, shared by the replicas)", refusedAfter)
		}
		if code, retry := register(alice, "198.51.100.7"); code != http.StatusTooManyRequests || retry == "" {
			t.Errorf("with a forged X-Forwarded-For: %d (Retry-After %q), want 429: the client's own header is not believed", code, retry)
		}
		if code, _ := register(bob, ""); code != http.StatusUnprocessableEntity {
			t.Errorf("another client: %d, want 422: it has a budget of its own", code)
		}
	})

	third := replicas[2]
	t.Run("a replica stopping costs clients nothing", func(t *testing.T) {
		third.stop(t)
		before := served(t, replicas[0]) + served(t, replicas[1])
		for range 30 {
			health(t) // fails the test on anything but 200
		}
		if got := served(t, replicas[0]) + served(t, replicas[1]) - before; got != 30 {
			t.Errorf("the remaining replicas answered %d of 30, want 30", got)
		}
	})

	t.Run("traffic waits for readiness", func(t *testing.T) {
		// The third replica serves again on the public port, but its
		// readiness (the port HAProxy checks) is a stand-in answering 503
		// as a replica that cannot reach its database does. Its own admin
		// listener moves aside so the test can still count its requests.
		ready := &atomic.Bool{}
		checks := &atomic.Int64{}
		stub := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			checks.Add(1)
			if r.URL.Path == "/readyz" && ready.Load() {
				w.Write([]byte(`{"status":"ok","database":"ok"}`))
				return
			}
			w.Header().Set("Retry-After", "5")
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`{"status":"unavailable","database":"unavailable"}`))
		})}
		ln, err := net.Listen("tcp", replicaHosts[2]+":"+admin)
		if err != nil {
			t.Fatal(err)
		}
		go stub.Serve(ln)
		t.Cleanup(func() { stub.Close() })
		restarted := startPuguh(t, "replica 3 again", replicaEnv(replicaHosts[2], freePort(t, replicaHosts[2])))

		// HAProxy brings a server up after 2 passing checks in a row; let it
		// see three failing ones while the replica itself is up.
		waitChecks(t, checks, checks.Load()+3)
		for range 30 {
			health(t)
		}
		if got := served(t, restarted); got != 0 {
			t.Fatalf("the unready replica answered %d requests, want 0", got)
		}

		ready.Store(true)
		waitChecks(t, checks, checks.Load()+2)
		waitServing(t, restarted)
	})
}

// healthRequests reads from a replica's /metrics how many GET
// /api/v1/health requests it has answered.
func healthRequests(t *testing.T, client *http.Client, admin string) int {
	t.Helper()
	resp, err := client.Get("http://" + admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	tp := expfmt.NewTextParser(model.LegacyValidation)
	families, err := tp.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	n := 0.0
	for _, m := range families["puguh_http_requests_total"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "route" && l.GetValue() == "/api/v1/health" {
				n += m.GetCounter().GetValue()
			}
		}
	}
	return int(n)
}

// waitChecks waits (bounded) until the readiness stub has answered n checks.
func waitChecks(t *testing.T, checks *atomic.Int64, n int64) {
	t.Helper()
	for range 300 {
		if checks.Load() >= n {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("HAProxy made %d health checks, want %d", checks.Load(), n)
}

// clientFrom is an HTTP client whose connections come from the loopback
// address addr: a client with an address of its own.
func clientFrom(t *testing.T, addr string) *http.Client {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(addr)}, Timeout: 5 * time.Second}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, a string) (net.Conn, error) { return d.DialContext(ctx, network, a) },
	}}
}
