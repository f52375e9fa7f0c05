package deploy

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// puguhBin is the server built from the repository by TestMain, once for all
// tests: ../cmd/puguh as the Dockerfile builds it, without the OpenSSL tag.
var puguhBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "puguh-deploy-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	puguhBin = filepath.Join(dir, "puguh")
	// From the repository root: this directory is a module of its own.
	build := exec.Command("go", "build", "-o", puguhBin, "./cmd/puguh")
	build.Dir = ".."
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build ../cmd/puguh:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// syncBuffer collects a process's output while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// process is a program the test started; it is killed when the test ends.
type process struct {
	name string
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
}

// start runs bin with args and exactly env (plus PATH and HOME).
func start(t *testing.T, name, bin string, env []string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, env...)
	p := &process{name: name, cmd: cmd, out: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		if !p.exited() {
			cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", name, tail(p.out.String(), 40))
		}
	})
	return p
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM and waits (bounded) for the process to exit.
func (p *process) stop(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(40 * time.Second):
		t.Fatalf("%s did not exit after SIGTERM", p.name)
	}
}

// puguhServer is one Puguh process.
type puguhServer struct {
	*process
	addr, admin string // host:port of PUGUH_ADDR and PUGUH_ADMIN_ADDR
}

// startPuguh runs the built server with a fresh data directory and env
// (PUGUH_* settings; PUGUH_ADDR and PUGUH_ADMIN_ADDR are required), and
// waits until its /readyz answers 200.
func startPuguh(t *testing.T, name string, env map[string]string) *puguhServer {
	t.Helper()
	vars := []string{"PUGUH_DATA_DIR=" + t.TempDir(), "PUGUH_LOG_FORMAT=json"}
	for k, v := range env {
		vars = append(vars, k+"="+v)
	}
	s := &puguhServer{process: start(t, name, puguhBin, vars, "serve"), addr: env["PUGUH_ADDR"], admin: env["PUGUH_ADMIN_ADDR"]}
	if s.admin != "off" {
		s.waitReady(t)
	}
	return s
}

// waitReady polls /readyz on the admin listener until it answers 200.
func (s *puguhServer) waitReady(t *testing.T) {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	for range 600 {
		if s.exited() {
			t.Fatalf("%s exited before it was ready:\n%s", s.name, tail(s.out.String(), 40))
		}
		resp, err := client.Get("http://" + s.admin + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s not ready after 60s", s.name)
}

// freePort returns a TCP port that nothing listens on right now at any of
// hosts.
func freePort(t *testing.T, hosts ...string) string {
	t.Helper()
	for range 50 {
		ln, err := net.Listen("tcp", hosts[0]+":0")
		if err != nil {
			t.Fatal(err)
		}
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		free := true
		for _, h := range hosts[1:] {
			other, err := net.Listen("tcp", net.JoinHostPort(h, port))
			if err != nil {
				free = false
				break
			}
			other.Close()
		}
		ln.Close()
		if free {
			return port
		}
	}
	t.Fatalf("no port free on all of %v", hosts)
	return ""
}

// testRedisURL is PUGUH_TEST_REDIS_URL; the test skips without it.
func testRedisURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("PUGUH_TEST_REDIS_URL")
	if u == "" {
		t.Skip("set PUGUH_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/15) to run this test against a real Redis")
	}
	return u
}

// testPostgresURL creates a schema of its own in PUGUH_TEST_DATABASE_URL's
// database, dropped when the test ends, and returns a URL that selects it.
// The test skips without the variable.
func testPostgresURL(t *testing.T) string {
	t.Helper()
	base := os.Getenv("PUGUH_TEST_DATABASE_URL")
	if base == "" {
		t.Skip("set PUGUH_TEST_DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/puguh_test?sslmode=disable) to run this test against a real PostgreSQL")
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect to PUGUH_TEST_DATABASE_URL: %v", err)
	}
	schema := fmt.Sprintf("deploy_%d", time.Now().UnixNano())
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
		conn.Close(ctx)
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// get sends GET url and returns the status and body.
func get(t *testing.T, client *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode, string(b)
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
