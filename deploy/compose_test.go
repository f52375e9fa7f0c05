package deploy

import (
	"context"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
)

const (
	composePath    = "../docker-compose.yml"
	envExamplePath = "../.env.example"
	// A value of the shape `puguh secret generate` prints.
	testSecret = "v5Kq0m7mUo2m7b0r8Yc1kX4xgq2b3N9f7Tt1Jm0qLw2eH3sZp6Ra9Dd8Ff5Gg4Hh"
)

// loadCompose loads docker-compose.yml as `docker compose` does from the
// repository root, with the given .env contents (nil: no .env file) and
// nothing from this process's environment.
func loadCompose(t *testing.T, dotenv *string, env ...string) (*types.Project, error) {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	fns := []cli.ProjectOptionsFn{cli.WithWorkingDirectory(root), cli.WithName("puguh"), cli.WithEnv(env)}
	if dotenv != nil {
		// In place of the repository's own .env, which a developer may have.
		envFile := filepath.Join(t.TempDir(), ".env")
		if err := os.WriteFile(envFile, []byte(*dotenv), 0o600); err != nil {
			t.Fatal(err)
		}
		fns = append(fns, cli.WithEnvFiles(envFile))
	}
	fns = append(fns, cli.WithDotEnv)
	opts, err := cli.NewProjectOptions([]string{filepath.Join(root, "docker-compose.yml")}, fns...)
	if err != nil {
		t.Fatal(err)
	}
	return opts.LoadProject(context.Background())
}

// withSecret is .env.example as shipped plus the line `puguh secret generate
// --env-file .env` appends.
func withSecret(t *testing.T) *string {
	t.Helper()
	b, err := os.ReadFile(envExamplePath)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b) + "PUGUH_SECRET=" + testSecret + "\n"
	return &s
}

// Compose refuses to start without a saved secret: with no .env, with
// .env.example copied as it is (its PUGUH_SECRET is a comment), and with an
// empty value, it fails at interpolation and says how to make one.
func TestComposeRequiresSecret(t *testing.T) {
	example, err := os.ReadFile(envExamplePath)
	if err != nil {
		t.Fatal(err)
	}
	exampleStr := string(example)
	empty := exampleStr + "PUGUH_SECRET=\n"
	const want = "required variable PUGUH_SECRET is missing a value: must be set once in .env and kept: puguh secret generate --env-file .env (see docs/deploy.md)"
	for _, tc := range []struct {
		name   string
		dotenv *string
		env    []string
	}{
		{"no .env", nil, nil},
		{".env.example copied as it is", &exampleStr, nil},
		{"empty in .env", &empty, nil},
		{"empty in the environment", &exampleStr, []string{"PUGUH_SECRET="}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadCompose(t, tc.dotenv, tc.env...)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("load error = %v, want one containing %q", err, want)
			}
		})
	}
	if strings.Contains(exampleStr, "\nPUGUH_SECRET=") {
		t.Fatalf(".env.example sets PUGUH_SECRET; it must leave it to the operator")
	}
}

// The facts of the documented deployment, `docker compose up --scale
// puguh=3`, as compose reads the file.
func TestComposeScaleOut(t *testing.T) {
	p, err := loadCompose(t, withSecret(t), "PUGUH_PORT=18080")
	if err != nil {
		t.Fatal(err)
	}
	if got := slices.Sorted(func(yield func(string) bool) {
		for name := range p.Services {
			if !yield(name) {
				return
			}
		}
	}); !slices.Equal(got, []string{"lb", "postgres", "puguh", "redis"}) {
		t.Fatalf("services %v", got)
	}
	// What `up --scale puguh=3` does to the model before creating containers.
	p, err = p.WithServicesTransform(func(name string, s types.ServiceConfig) (types.ServiceConfig, error) {
		if name == "puguh" {
			s.SetScale(3)
		}
		return s, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	puguh, lb, pg, redis := p.Services["puguh"], p.Services["lb"], p.Services["postgres"], p.Services["redis"]
	env := func(s types.ServiceConfig, name string) string {
		t.Helper()
		v := s.Environment[name]
		if v == nil {
			t.Fatalf("service %s: no %s", s.Name, name)
		}
		return *v
	}

	t.Run("replicas scale", func(t *testing.T) {
		if puguh.ContainerName != "" {
			t.Errorf("container_name %q: compose cannot scale a service with a fixed name", puguh.ContainerName)
		}
		if len(puguh.Ports) != 0 {
			t.Errorf("puguh publishes %v: a fixed host port fails the second replica", puguh.Ports)
		}
		if puguh.GetScale() != 3 {
			t.Errorf("scale %d", puguh.GetScale())
		}
		if puguh.Build == nil || puguh.Build.Context != p.WorkingDir || puguh.Build.Dockerfile != "Dockerfile" {
			t.Errorf("build %+v, want the repository's Dockerfile", puguh.Build)
		}
		for _, s := range []types.ServiceConfig{pg, redis} {
			if len(s.Ports) != 0 {
				t.Errorf("%s publishes %v: only the balancer is reachable from the host", s.Name, s.Ports)
			}
		}
	})

	t.Run("balancer", func(t *testing.T) {
		// The official HAProxy image on a maintained branch, pinned to it.
		if lb.Image != "haproxy:3.2" {
			t.Errorf("lb image %q", lb.Image)
		}
		if len(lb.Ports) != 1 || lb.Ports[0].Target != 8080 || lb.Ports[0].Published != "18080" {
			t.Errorf("lb ports %+v, want ${PUGUH_PORT}:8080", lb.Ports)
		}
		cfgPath, _ := filepath.Abs(haproxyPath)
		if len(lb.Volumes) != 1 || lb.Volumes[0].Source != cfgPath || lb.Volumes[0].Target != "/usr/local/etc/haproxy/haproxy.cfg" || !lb.Volumes[0].ReadOnly {
			t.Errorf("lb volumes %+v, want %s mounted read-only where the image reads it", lb.Volumes, cfgPath)
		}
		cfg := readHAProxyConfig(t, haproxyPath)
		if bind := cfg.directive(t, "frontend public", "bind"); len(bind) != 1 || bind[0] != ":8080" {
			t.Errorf("frontend binds %v, want :8080 (the published target)", bind)
		}
		// Docker's DNS, which answers a service name with every replica.
		if ns := cfg.directive(t, "resolvers docker", "nameserver"); len(ns) != 2 || ns[1] != "127.0.0.11:53" {
			t.Errorf("nameserver %v", ns)
		}
		tpl := cfg.directive(t, "backend puguh", "server-template")
		_, public, _ := net.SplitHostPort(env(puguh, "PUGUH_ADDR"))
		if len(tpl) != 3 || tpl[2] != "puguh:"+public {
			t.Errorf("server-template %v, want the service puguh on PUGUH_ADDR's port %s", tpl, public)
		}
		def := cfg.directive(t, "backend puguh", "default-server")
		_, admin, _ := net.SplitHostPort(env(puguh, "PUGUH_ADMIN_ADDR"))
		if !slices.Contains(def, "check") || option(t, def, "port") != admin || option(t, def, "resolvers") != "docker" {
			t.Errorf("default-server %v, want checks on PUGUH_ADMIN_ADDR's port %s, resolved by docker", def, admin)
		}
		if send := cfg.directive(t, "backend puguh", "http-check send"); strings.Join(send, " ") != "meth GET uri /readyz" {
			t.Errorf("http-check send %v", send)
		}
		if exp := cfg.directive(t, "backend puguh", "http-check expect"); strings.Join(exp, " ") != "status 200" {
			t.Errorf("http-check expect %v", exp)
		}
		cfg.directive(t, "frontend public", "option forwardfor")
	})

	t.Run("trusted proxy is the balancer", func(t *testing.T) {
		netName := "puguh"
		network, ok := p.Networks[netName]
		if !ok || len(network.Ipam.Config) != 1 {
			t.Fatalf("network %s: %+v", netName, network)
		}
		subnet := netip.MustParsePrefix(network.Ipam.Config[0].Subnet)
		lbNet := lb.Networks[netName]
		if lbNet == nil {
			t.Fatalf("lb is not on %s", netName)
		}
		lbAddr := netip.MustParseAddr(lbNet.Ipv4Address)
		if !subnet.Contains(lbAddr) {
			t.Errorf("lb address %s outside %s", lbAddr, subnet)
		}
		// Replicas started before the balancer (it depends on them) must not
		// be given its address: dynamic ones come from ip_range only.
		dynamic := netip.MustParsePrefix(network.Ipam.Config[0].IPRange)
		if dynamic.Contains(lbAddr) || !subnet.Contains(dynamic.Addr()) || dynamic.Bits() < subnet.Bits() {
			t.Errorf("ip_range %s must lie in %s and leave out the balancer's %s", dynamic, subnet, lbAddr)
		}
		trusted := env(puguh, "PUGUH_TRUSTED_PROXIES")
		if trusted != lbAddr.String() {
			t.Errorf("PUGUH_TRUSTED_PROXIES %q, want the balancer's address %s and nothing else", trusted, lbAddr)
		}
		if _, ok := puguh.Networks[netName]; !ok || len(puguh.Networks) != 1 {
			t.Errorf("puguh networks %v, want %s only", puguh.Networks, netName)
		}
	})

	t.Run("secret, database and redis", func(t *testing.T) {
		if got := env(puguh, "PUGUH_SECRET"); got != testSecret {
			t.Errorf("PUGUH_SECRET %q, want the one in .env", got)
		}
		db, err := url.Parse(env(puguh, "PUGUH_DATABASE_URL"))
		if err != nil {
			t.Fatal(err)
		}
		pass, _ := db.User.Password()
		if db.Scheme != "postgres" || db.Hostname() != "postgres" || db.User.Username() != env(pg, "POSTGRES_USER") ||
			pass != env(pg, "POSTGRES_PASSWORD") || pass != "puguh" || db.Path != "/"+env(pg, "POSTGRES_DB") {
			t.Errorf("PUGUH_DATABASE_URL %s does not match the postgres service", db.Redacted())
		}
		if r, err := url.Parse(env(puguh, "PUGUH_REDIS_URL")); err != nil || r.Scheme != "redis" || r.Hostname() != "redis" {
			t.Errorf("PUGUH_REDIS_URL %q", env(puguh, "PUGUH_REDIS_URL"))
		}
		for _, dep := range []string{"postgres", "redis"} {
			if d, ok := puguh.DependsOn[dep]; !ok || d.Condition != types.ServiceConditionHealthy {
				t.Errorf("puguh depends_on %s: %+v, want service_healthy", dep, d)
			}
			if p.Services[dep].HealthCheck == nil || len(p.Services[dep].HealthCheck.Test) == 0 {
				t.Errorf("%s has no health check", dep)
			}
		}
	})

	t.Run("health check and shutdown", func(t *testing.T) {
		hc := puguh.HealthCheck
		if hc == nil || !slices.Equal(hc.Test, []string{"CMD", "/usr/local/bin/puguh", "healthcheck"}) {
			t.Fatalf("healthcheck %+v, want the binary's own healthcheck (no shell in the image)", hc)
		}
		if hc.Timeout == nil || hc.Interval == nil || time.Duration(*hc.Timeout) >= time.Duration(*hc.Interval) {
			t.Errorf("healthcheck timeout %v interval %v", hc.Timeout, hc.Interval)
		}
		// puguh healthcheck probes PUGUH_ADMIN_ADDR inside the container; on
		// every interface it is reachable there and from the balancer.
		if got := env(puguh, "PUGUH_ADMIN_ADDR"); got != "0.0.0.0:9090" {
			t.Errorf("PUGUH_ADMIN_ADDR %q", got)
		}
		if !slices.Equal([]string(puguh.Expose), []string{"8080", "9090"}) {
			t.Errorf("expose %v", puguh.Expose)
		}
		// The replica's own shutdown timeout (30s by default) must fit in
		// compose's grace period, or in-flight requests are killed.
		if puguh.StopGracePeriod == nil || time.Duration(*puguh.StopGracePeriod) <= 30*time.Second {
			t.Errorf("stop_grace_period %v, want more than PUGUH_SHUTDOWN_TIMEOUT's 30s", puguh.StopGracePeriod)
		}
		if _, set := puguh.Environment["PUGUH_SHUTDOWN_TIMEOUT"]; set {
			t.Errorf("PUGUH_SHUTDOWN_TIMEOUT is set: check it against stop_grace_period")
		}
	})
}
