// Package puguhtest starts a real Puguh for the SDK's tests: the server built
// from this repository (go build ./cmd/puguh, once per test binary, or
// PUGUH_BIN), a fresh data directory, a free port on 127.0.0.1 and the admin
// listener off. It also runs the CLI against the same database, and has a few
// raw HTTP helpers for setting up users without going through the SDK.
package puguhtest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// RepoRoot is the Puguh repository this module lives in.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil {
			if line, _, _ := strings.Cut(string(b), "\n"); strings.TrimSpace(line) == "module github.com/arsaka/puguh" {
				return dir, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("puguhtest: not inside the Puguh repository")
		}
		dir = parent
	}
}

// Binary builds the server once per test binary (or returns PUGUH_BIN).
func Binary() (string, error) {
	buildOnce.Do(func() {
		if p := os.Getenv("PUGUH_BIN"); p != "" {
			binPath = p
			return
		}
		root, err := RepoRoot()
		if err != nil {
			buildErr = err
			return
		}
		dir, err := os.MkdirTemp("", "puguh-sdk-go-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "puguh")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/puguh")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "GOFLAGS=-buildvcs=false")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("puguhtest: go build ./cmd/puguh: %v\n%s", err, out)
		}
	})
	return binPath, buildErr
}

// RemoveBinary deletes a binary Binary built (call it at the end of TestMain).
func RemoveBinary() {
	if binPath != "" && os.Getenv("PUGUH_BIN") == "" {
		_ = os.RemoveAll(filepath.Dir(binPath))
	}
}

// FreePort is a port nobody listens on at the moment, on 127.0.0.1.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Server is a running Puguh.
type Server struct {
	BaseURL string // also the issuer
	Env     []string
	DataDir string

	bin    string
	cmd    *exec.Cmd
	log    *tailBuffer
	exited chan struct{}
}

// Start starts a Puguh with the extra environment variables env
// ("PUGUH_PLATFORM_OPERATORS=…") and waits (at most 30 s) for its health check.
func Start(env ...string) (*Server, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	dataDir, err := os.MkdirTemp("", "puguh-sdk-go-")
	if err != nil {
		return nil, err
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	s := &Server{BaseURL: base, DataDir: dataDir, bin: bin, log: &tailBuffer{}, exited: make(chan struct{})}
	s.Env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + dataDir,
		"PUGUH_ADDR=" + fmt.Sprintf("127.0.0.1:%d", port),
		"PUGUH_ISSUER=" + base,
		"PUGUH_DATA_DIR=" + dataDir,
		"PUGUH_ADMIN_ADDR=off",
		"PUGUH_LOG_LEVEL=warn",
		"PUGUH_SHUTDOWN_TIMEOUT=2s",
	}, env...)
	s.cmd = exec.Command(bin, "serve")
	s.cmd.Env = s.Env
	s.cmd.Stdout = io.Discard
	s.cmd.Stderr = s.log
	if err := s.cmd.Start(); err != nil {
		os.RemoveAll(dataDir)
		return nil, err
	}
	go func() {
		_ = s.cmd.Wait()
		close(s.exited)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-s.exited:
			s.Stop()
			return nil, fmt.Errorf("puguhtest: puguh exited during start:\n%s", s.log.String())
		default:
		}
		res, err := http.Get(base + "/api/v1/health")
		if err == nil {
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, fmt.Errorf("puguhtest: puguh did not answer /api/v1/health within 30 s:\n%s", s.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// StartT starts a Puguh for one test and stops it when the test ends.
func StartT(t testing.TB, env ...string) *Server {
	t.Helper()
	s, err := Start(env...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// Stop stops the server (SIGTERM, then SIGKILL after 5 s) and removes its data.
func (s *Server) Stop() {
	if s.cmd.Process != nil {
		select {
		case <-s.exited:
		default:
			_ = s.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-s.exited:
			case <-time.After(5 * time.Second):
				_ = s.cmd.Process.Kill()
				<-s.exited
			}
		}
	}
	_ = os.RemoveAll(s.DataDir)
}

// Log is the tail of the server's log.
func (s *Server) Log() string { return s.log.String() }

// CLI runs `puguh args…` against the server's database and returns its output.
func (s *Server) CLI(t testing.TB, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.bin, args...)
	cmd.Env = s.Env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("puguh %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// tailBuffer keeps the last 8 KiB written to it.
type tailBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > 8<<10 {
		t.b = t.b[len(t.b)-8<<10:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

var counter atomic.Int64

// UniqueEmail is an email address no other call in this process returns.
func UniqueEmail(prefix string) string {
	return fmt.Sprintf("%s-%d-%d-%d@example.com", prefix, os.Getpid(), counter.Add(1), time.Now().UnixNano()%1e9)
}

// Answer is a raw HTTP answer.
type Answer struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v.
func (a *Answer) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(a.Body, v); err != nil {
		t.Fatalf("answer %d %s: %v", a.Status, a.Body, err)
	}
}

// Do sends one request with plain net/http.
func Do(t testing.TB, method, url string, body any, header map[string]string) *Answer {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &Answer{Status: res.StatusCode, Header: res.Header, Body: b}
}

// User is a registered, signed-in user.
type User struct {
	Email, Password, FullName string
	UserID, OrganizationID    string
	AccessToken, RefreshToken string
}

// NewUser registers a user (with a personal organization) and signs them in.
func (s *Server) NewUser(t testing.TB, prefix string) *User {
	t.Helper()
	u := &User{Email: UniqueEmail(prefix), Password: "pw-" + prefix + "-long enough", FullName: "Test " + prefix}
	a := Do(t, "POST", s.BaseURL+"/api/v1/auth/register", map[string]string{"email": u.Email, "password": u.Password, "full_name": u.FullName}, nil)
	if a.Status != http.StatusCreated {
		t.Fatalf("register: %d %s", a.Status, a.Body)
	}
	var reg struct {
		UserID         string `json:"user_id"`
		OrganizationID string `json:"organization_id"`
	}
	a.JSON(t, &reg)
	u.UserID, u.OrganizationID = reg.UserID, reg.OrganizationID
	u.AccessToken, u.RefreshToken = s.Login(t, u.Email, u.Password)
	return u
}

// Login signs in with plain net/http and returns the pair.
func (s *Server) Login(t testing.TB, email, password string) (access, refresh string) {
	t.Helper()
	a := Do(t, "POST", s.BaseURL+"/api/v1/auth/login", map[string]string{"email": email, "password": password}, nil)
	if a.Status != http.StatusOK {
		t.Fatalf("login: %d %s", a.Status, a.Body)
	}
	var p struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	a.JSON(t, &p)
	return p.AccessToken, p.RefreshToken
}

// Refresh renews a pair with plain net/http (sign-ins are throttled per
// account, so tests get many tokens from one refresh chain).
func (s *Server) Refresh(t testing.TB, refreshToken string) (access, refresh string) {
	t.Helper()
	a := Do(t, "POST", s.BaseURL+"/api/v1/auth/refresh", map[string]string{"refresh_token": refreshToken}, nil)
	if a.Status != http.StatusOK {
		t.Fatalf("refresh: %d %s", a.Status, a.Body)
	}
	var p struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	a.JSON(t, &p)
	return p.AccessToken, p.RefreshToken
}

// Logout ends a REST session with plain net/http: the way tests make a token
// fail as an expired one does, without waiting an hour.
func (s *Server) Logout(t testing.TB, accessToken string) {
	t.Helper()
	a := Do(t, "POST", s.BaseURL+"/api/v1/auth/logout", nil, map[string]string{"Authorization": "Bearer " + accessToken})
	if a.Status != http.StatusNoContent {
		t.Fatalf("logout: %d %s", a.Status, a.Body)
	}
}

// JWT is a token's header and payload, decoded without verification.
type JWT struct {
	Header  map[string]any
	Payload map[string]any
}

// DecodeJWT decodes a JWT without verifying it (tests only).
func DecodeJWT(t testing.TB, token string) JWT {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", token)
	}
	var j JWT
	for i, dst := range []*map[string]any{&j.Header, &j.Payload} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, dst); err != nil {
			t.Fatal(err)
		}
	}
	return j
}

// KeyID is a JWT's kid.
func KeyID(t testing.TB, token string) string {
	t.Helper()
	kid, _ := DecodeJWT(t, token).Header["kid"].(string)
	return kid
}

// PublishedKeyIDs are the kids the server's JWKS holds now.
func (s *Server) PublishedKeyIDs(t testing.TB) []string {
	t.Helper()
	a := Do(t, "GET", s.BaseURL+"/.well-known/jwks.json", nil, nil)
	var doc struct {
		Keys []struct {
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	a.JSON(t, &doc)
	var out []string
	for _, k := range doc.Keys {
		out = append(out, k.Kid)
	}
	return out
}

// WaitUnpublished waits (at most 15 s) until the served JWKS no longer holds
// kid: after `puguh keys rotate --force` the server reloads its keys within
// its refresh interval (5 s).
func (s *Server) WaitUnpublished(t testing.TB, kid string) {
	t.Helper()
	for i := 0; i < 150; i++ {
		found := false
		for _, k := range s.PublishedKeyIDs(t) {
			found = found || k == kid
		}
		if !found {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("key %s still published after 15 s", kid)
}

// lines is used by tests that read CLI output.
func Lines(s string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}
