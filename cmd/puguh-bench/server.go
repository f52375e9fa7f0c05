package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// server is the Puguh under test: a child process, or an external target.
type server struct {
	base      string
	admin     string // the admin listener's base URL (/metrics); empty if unknown
	dbKind    string
	cmd       *exec.Cmd
	dir       string
	coldStart time.Duration
	idleRSS   float64
}

func startServer(ctx context.Context, o options) (*server, error) {
	if o.target != "" {
		return &server{base: strings.TrimRight(o.target, "/"), admin: strings.TrimRight(o.targetAdmin, "/"), dbKind: "external"}, nil
	}
	if o.bin == "" {
		return nil, errors.New("give -bin (a built puguh) or -target")
	}
	dir, err := os.MkdirTemp("", "puguh-bench-")
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	adminPort, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	adminAddr := "127.0.0.1:" + strconv.Itoa(adminPort)
	s := &server{base: "http://" + addr, admin: "http://" + adminAddr, dir: dir, dbKind: "sqlite"}
	env := append(os.Environ(),
		"PUGUH_ADDR="+addr,
		"PUGUH_ADMIN_ADDR="+adminAddr,
		"PUGUH_ISSUER="+s.base,
		"PUGUH_DATA_DIR="+filepath.Join(dir, "data"),
		"PUGUH_LOG_LEVEL=warn",
		"PUGUH_SECRET=bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz",
		"PUGUH_TRUSTED_PROXIES=127.0.0.1/32",
		// One client_credentials client drives the token scenario, and the
		// harness measures the endpoint, not its per-client budget.
		"PUGUH_RATE_LIMIT_TOKEN_PER_CLIENT=1000000",
		"PUGUH_PLATFORM_OPERATORS="+operatorEmail,
	)
	for _, kv := range strings.Split(o.serverEnv, ",") {
		if kv = strings.TrimSpace(kv); kv != "" {
			if !strings.Contains(kv, "=") {
				return nil, fmt.Errorf("-server-env: %q is not KEY=VALUE", kv)
			}
			env = append(env, kv)
		}
	}
	if o.databaseURL != "" {
		env = append(env, "PUGUH_DATABASE_URL="+o.databaseURL)
		s.dbKind = "postgres"
	}
	if o.redisURL != "" {
		env = append(env, "PUGUH_REDIS_URL="+o.redisURL)
	}
	// First start creates the database and keys; the measured cold start is
	// the second one, on an existing database, as the budget defines it.
	for i := 0; i < 2; i++ {
		if s.cmd != nil {
			s.stop()
		}
		s.cmd = exec.CommandContext(ctx, o.bin, "serve")
		s.cmd.Env = env
		s.cmd.Stderr = os.Stderr
		start := time.Now()
		if err := s.cmd.Start(); err != nil {
			return nil, err
		}
		if err := waitHealthy(ctx, s.base, 30*time.Second); err != nil {
			s.stop()
			return nil, err
		}
		s.coldStart = time.Since(start)
	}
	time.Sleep(2 * time.Second) // let start-up garbage be collected before reading idle RSS
	s.idleRSS = s.rssMB("VmRSS")
	return s, nil
}

func (s *server) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
	s.cmd = nil
	if s.dir != "" {
		_ = os.RemoveAll(s.dir)
	}
}

// resetPeakRSS clears the kernel's high-water mark (proc(5), clear_refs 5), so
// peakRSSMB reports the peak of one scenario.
func (s *server) resetPeakRSS() {
	if s.cmd != nil {
		_ = os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", s.cmd.Process.Pid), []byte("5"), 0)
	}
}

func (s *server) peakRSSMB() float64 { return s.rssMB("VmHWM") }

// cpu is the server's user and system CPU time so far (proc(5): fields 14
// and 15 of /proc/PID/stat, in clock ticks of 1/100 s on Linux).
func (s *server) cpu() time.Duration {
	if s.cmd == nil {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	return statCPU(string(b))
}

// statCPU reads utime and stime from a /proc/PID/stat line.
func statCPU(stat string) time.Duration {
	// The command name (field 2) may hold spaces and parentheses: count the
	// fields after its last ')'.
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(stat[i+1:])
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

func (s *server) rssMB(field string) float64 {
	if s.cmd == nil {
		return 0
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return kb / 1024
		}
	}
	return 0
}

func waitHealthy(ctx context.Context, base string, within time.Duration) error {
	deadline := time.Now().Add(within)
	c := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		resp, err := c.Get(base + "/api/v1/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return fmt.Errorf("server at %s not healthy within %s", base, within)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// loadAvg is the machine's one-minute load average, or 0 where /proc/loadavg
// does not exist.
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	var l float64
	if _, err := fmt.Sscanf(string(b), "%f", &l); err != nil {
		return 0
	}
	return l
}
