package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// envChild selects what a re-executed test binary does instead of running
// the tests: "serve" runs the real main (signals included), "sqlite-writer"
// writes rows for the kill -9 test.
const envChild = "PUGUH_TEST_CHILD"

func TestMain(m *testing.M) {
	switch os.Getenv(envChild) {
	case "":
		os.Exit(m.Run())
	case "serve":
		main() // the binary's own entry point: os.Args, signal handling, os.Exit
	case "sqlite-writer":
		os.Exit(sqliteWriter(os.Getenv("PUGUH_TEST_SQLITE_PATH"), os.Stdout, os.Stderr))
	default:
		os.Stderr.WriteString("unknown " + envChild + "\n")
		os.Exit(3)
	}
}

const healthOK = `{"status":"ok","database":"ok","redis":"disabled"}`

// syncBuffer collects a child's stderr while the test reads it.
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

// child is a re-executed test binary.
type child struct {
	cmd     *exec.Cmd
	stderr  *syncBuffer
	started time.Time
	done    chan struct{} // closed when the process has exited
	waitErr error         // valid after done
}

// startChild runs this test binary in the given mode with a clean PUGUH_*
// environment plus env, and kills it when the test ends if it is still running.
func startChild(t *testing.T, mode string, args []string, stdout io.Writer, env ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PUGUH_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, envChild+"="+mode)
	if !slices.ContainsFunc(env, func(kv string) bool { return strings.HasPrefix(kv, "PUGUH_ADMIN_ADDR=") }) {
		// Not the default port: tests (and other programs) run side by side.
		cmd.Env = append(cmd.Env, "PUGUH_ADMIN_ADDR="+freeAddr(t))
	}
	cmd.Env = append(cmd.Env, env...)
	c := &child{cmd: cmd, stderr: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stderr = c.stderr
	cmd.Stdout = stdout
	c.started = time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start child: %v", err)
	}
	go func() {
		c.waitErr = cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() {
		select {
		case <-c.done:
		default:
			_ = cmd.Process.Kill()
			<-c.done
		}
		if t.Failed() {
			t.Logf("child stderr:\n%s", c.stderr)
		}
	})
	return c
}

func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// waitExit waits for the child to exit and returns its exit code.
func (c *child) waitExit(t *testing.T, within time.Duration) int {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(within):
		t.Fatalf("child did not exit within %s", within)
	}
	var exitErr *exec.ExitError
	if errors.As(c.waitErr, &exitErr) {
		return exitErr.ExitCode()
	}
	if c.waitErr != nil {
		t.Fatalf("wait: %v", c.waitErr)
	}
	return 0
}

// freeAddr returns a loopback address nothing listens on right now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// waitHealthy polls the child's health endpoint until it answers 200 and
// returns the time of that first 200 and its body.
func waitHealthy(t *testing.T, c *child, addr string, within time.Duration) (time.Time, string) {
	t.Helper()
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if c.exited() {
			t.Fatalf("child exited before it was healthy: %v", c.waitErr)
		}
		resp, err := client.Get("http://" + addr + "/api/v1/health")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Now(), string(body)
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("child not healthy within %s", within)
	return time.Time{}, ""
}

func TestColdStartWithoutConfiguration(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data") // does not exist yet
	addr := freeAddr(t)
	c := startChild(t, "serve", nil, nil, "PUGUH_DATA_DIR="+dataDir, "PUGUH_ADDR="+addr)
	healthyAt, body := waitHealthy(t, c, addr, 30*time.Second)
	t.Logf("cold start: process start to first health 200 took %s (test binary%s)",
		healthyAt.Sub(c.started).Round(time.Millisecond), raceNote)
	if body != healthOK {
		t.Fatalf("health body = %s, want %s", body, healthOK)
	}

	fi, err := os.Stat(filepath.Join(dataDir, "secret"))
	if err != nil {
		t.Fatalf("no secret file: %v", err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Fatalf("secret file mode = %o, want 600", mode)
	}
	if fi.Size() < 33 { // at least 32 characters and a newline
		t.Fatalf("secret file holds %d bytes", fi.Size())
	}
	if _, err := os.Stat(filepath.Join(dataDir, "puguh.db")); err != nil {
		t.Fatalf("no SQLite database in the data directory: %v", err)
	}
	if !strings.Contains(c.stderr.String(), "generated a master secret") {
		t.Fatalf("no warning about the generated secret in the log:\n%s", c.stderr)
	}

	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := c.waitExit(t, 15*time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0", code)
	}

	// A second start keeps the secret instead of generating another one.
	secret, _ := os.ReadFile(filepath.Join(dataDir, "secret"))
	c2 := startChild(t, "serve", nil, nil, "PUGUH_DATA_DIR="+dataDir, "PUGUH_ADDR="+addr)
	waitHealthy(t, c2, addr, 30*time.Second)
	if again, _ := os.ReadFile(filepath.Join(dataDir, "secret")); !bytes.Equal(secret, again) {
		t.Fatal("the secret changed on restart")
	}
	if strings.Contains(c2.stderr.String(), "generated a master secret") {
		t.Fatal("second start generated a new secret")
	}
	_ = c2.cmd.Process.Signal(syscall.SIGTERM)
	if code := c2.waitExit(t, 15*time.Second); code != 0 {
		t.Fatalf("exit code %d, want 0", code)
	}
}

// TestGracefulShutdown is docs/security.md, "Reliability under failure": on SIGTERM new connections are
// refused at once, a request already in flight still gets its full answer,
// and the process exits 0 within the shutdown timeout.
func TestGracefulShutdown(t *testing.T) {
	addr := freeAddr(t)
	const shutdownTimeout = 10 * time.Second
	adminAddr := freeAddr(t)
	c := startChild(t, "serve", []string{"serve"}, nil,
		"PUGUH_DATA_DIR="+t.TempDir(), "PUGUH_ADDR="+addr, "PUGUH_ADMIN_ADDR="+adminAddr, "PUGUH_SHUTDOWN_TIMEOUT=10s")
	waitHealthy(t, c, addr, 30*time.Second)

	// A request in flight: headers sent but not their final CRLF, so the server
	// is still reading it when the signal arrives. http.Server.Shutdown alone
	// would drop it once its headers complete; App.Serve drains it first.
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(conn, "GET /api/v1/health HTTP/1.1\r\nHost: "+addr+"\r\nUser-Agent: in-flight\r\n"); err != nil {
		t.Fatal(err)
	}
	// The kernel completes the handshake before Go's accept loop takes the
	// connection; a SIGTERM in between closes the listener with the connection
	// still in the backlog (reset by the kernel: it never reached the server).
	// Give the accept loop time to take it, so the request is really in flight.
	time.Sleep(300 * time.Millisecond)

	signalled := time.Now()
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}

	// New connections are refused shortly after.
	refused := false
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); {
		nc, err := net.DialTimeout("tcp", addr, 500*time.Millisecond)
		var netErr net.Error
		if errors.As(err, &netErr) && netErr.Timeout() {
			// A handshake caught while the listening socket was being torn
			// down on a loaded machine: it proves nothing either way; ask again.
			continue
		}
		if err != nil {
			// Refused, or reset when the kernel had queued the connection just
			// as the listener closed: either way it is not served.
			if !errors.Is(err, syscall.ECONNREFUSED) && !errors.Is(err, syscall.ECONNRESET) {
				t.Fatalf("dial after SIGTERM: %v, want connection refused", err)
			}
			refused = true
			break
		}
		nc.Close()
		time.Sleep(10 * time.Millisecond)
	}
	if !refused {
		t.Fatal("new connections still accepted 3 s after SIGTERM")
	}
	t.Logf("listener closed %s after SIGTERM", time.Since(signalled).Round(time.Millisecond))

	// The process waits for the request in flight.
	if c.exited() {
		t.Fatalf("child exited with a request in flight: %v", c.waitErr)
	}
	// Meanwhile the admin listener still answers: not ready, still alive.
	if got := adminGet(t, adminAddr, "/readyz"); got.status != http.StatusServiceUnavailable || got.body != `{"status":"shutting_down"}` {
		t.Fatalf("/readyz while draining: %d %s, want 503 {\"status\":\"shutting_down\"}", got.status, got.body)
	}
	if got := adminGet(t, adminAddr, "/livez"); got.status != http.StatusOK {
		t.Fatalf("/livez while draining: %d %s", got.status, got.body)
	}

	// Finish the request: it gets a complete answer.
	if _, err := io.WriteString(conn, "\r\n"); err != nil {
		t.Fatalf("complete the request: %v", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("in-flight request got no response: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("in-flight response truncated: %v", err)
	}
	if resp.StatusCode != http.StatusOK || string(body) != healthOK {
		t.Fatalf("in-flight request got %d %s, want 200 %s", resp.StatusCode, body, healthOK)
	}
	if !resp.Close {
		t.Error("response during shutdown does not close the connection")
	}

	if code := c.waitExit(t, shutdownTimeout+5*time.Second); code != 0 {
		t.Fatalf("exit code %d, want 0", code)
	}
	t.Logf("exited %s after SIGTERM", time.Since(signalled).Round(time.Millisecond))
	logs := c.stderr.String()
	for _, want := range []string{`"msg":"shutting down"`, `"msg":"puguh stopped"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %s:\n%s", want, logs)
		}
	}
}

func TestSIGINTStopsToo(t *testing.T) {
	addr := freeAddr(t)
	c := startChild(t, "serve", nil, nil, "PUGUH_DATA_DIR="+t.TempDir(), "PUGUH_ADDR="+addr)
	waitHealthy(t, c, addr, 30*time.Second)
	if err := c.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code := c.waitExit(t, 15*time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGINT, want 0", code)
	}
}

func TestServeFailsWhenAddressTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var stderr bytes.Buffer
	env := map[string]string{"PUGUH_DATA_DIR": t.TempDir(), "PUGUH_ADDR": ln.Addr().String()}
	code := run(context.Background(), []string{"serve"}, func(k string) string { return env[k] }, strings.NewReader(""), io.Discard, &stderr)
	if code != 1 {
		t.Fatalf("exit code %d, want 1", code)
	}
	if !regexp.MustCompile(`(?m)^puguh: listen on PUGUH_ADDR 127\.0\.0\.1:\d+: .*address already in use$`).MatchString(stderr.String()) {
		t.Fatalf("stderr does not name PUGUH_ADDR:\n%s", stderr.String())
	}
}
