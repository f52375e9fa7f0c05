// Package apptest starts a real Puguh for end-to-end tests: the whole app on a
// loopback listener, on SQLite or (when PUGUH_TEST_DATABASE_URL is set)
// PostgreSQL, optionally with Redis, plus helpers that speak the REST API
// with plain net/http.
package apptest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/arsaka/puguh/cmd/puguh/app"
	"github.com/arsaka/puguh/cmd/puguh/config"
	"github.com/arsaka/puguh/provider/password"
	"github.com/arsaka/puguh/storage/sqlstore/sqltest"
)

// Secret is every test server's PUGUH_SECRET (unless Options.Env sets
// another): a command run against a server's database (puguh clients) needs
// it to open the signing keys, and tests that move a database between
// servers name it.
const Secret = "test-secret-0123456789-abcdefghijklmnop"

// EnvRedisURL names the Redis the Redis cases use.
const EnvRedisURL = "PUGUH_TEST_REDIS_URL"

// Env is a running Puguh.
type Env struct {
	T   testing.TB
	App *app.App
	URL string // http://127.0.0.1:PORT, also the issuer
	// AdminURL is the admin listener (http://127.0.0.1:PORT: /metrics,
	// /livez, /readyz); empty when the test set PUGUH_ADMIN_ADDR=off.
	AdminURL string
	// DatabaseURL is the database this instance uses; a second replica passes
	// it as Options.DatabaseURL.
	DatabaseURL string
	Client      *http.Client
	logs        *syncBuffer
	cfg         *config.Config
	aopts       app.Options
	stop        func() // stops the running app and waits for it
	shutdown    func() <-chan struct{}
}

// RedisNamespace is the prefix of the server's Redis keys and channels
// (PUGUH_REDIS_NAMESPACE), shared by the replicas on one database.
func (e *Env) RedisNamespace() string { return e.cfg.RedisNamespace }

// Logs returns everything the server has logged so far.
func (e *Env) Logs() string { return e.logs.String() }

// Options choose the backend and extra configuration.
type Options struct {
	Backend sqltest.Backend   // zero: SQLite
	Redis   bool              // use PUGUH_TEST_REDIS_URL (skips without it)
	Env     map[string]string // extra PUGUH_* variables
	// DatabaseURL reuses an existing database (a second replica); empty: a fresh one.
	DatabaseURL string
	// RealPasswordCost keeps argon2id at OWASP cost; by default tests use a cheap one.
	RealPasswordCost bool
	// Localhost makes the issuer (and URL) http://localhost:PORT instead of
	// http://127.0.0.1:PORT: WebAuthn needs a host name for its relying
	// party, so passkeys are on only then.
	Localhost bool
	// NoContract turns off the contract check. By default every /api/v1
	// response the Env's client receives is checked against the server's
	// OpenAPI document (GET /api/v1/openapi.json): an undocumented status, a
	// missing or mistyped header, or a body off its schema fails the test.
	NoContract bool
}

// Start starts Puguh and stops it when the test ends.
func Start(t testing.TB, opts Options) *Env {
	t.Helper()
	if opts.Backend.URL == nil {
		opts.Backend = sqltest.Backends()[0]
	}
	dbURL := opts.DatabaseURL
	if dbURL == "" {
		dbURL = opts.Backend.URL(t)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	if opts.Localhost {
		base = "http://localhost:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	}
	vars := map[string]string{
		"PUGUH_ADDR":         ln.Addr().String(),
		"PUGUH_ISSUER":       base,
		"PUGUH_DATA_DIR":     t.TempDir(),
		"PUGUH_DATABASE_URL": dbURL,
		"PUGUH_SECRET":       Secret,
		"PUGUH_LOG_LEVEL":    "debug",
		// Every server its own admin port; Start binds it before the app starts.
		"PUGUH_ADMIN_ADDR": "127.0.0.1:0",
		// Each deployment (the servers on one database) its own Redis key
		// space: replicas of one test share rate limits, cache invalidations
		// and revocations, and per-IP budgets of parallel tests (all from
		// 127.0.0.1) never add up.
		"PUGUH_REDIS_NAMESPACE": namespaceOf(dbURL),
	}
	if opts.Redis {
		u := os.Getenv(EnvRedisURL)
		if u == "" {
			ln.Close()
			t.Skipf("Redis case skipped: set %s (e.g. redis://127.0.0.1:6379/15) to run it", EnvRedisURL)
		}
		vars["PUGUH_REDIS_URL"] = u
	}
	for k, v := range opts.Env {
		vars[k] = v
	}
	cfg, err := config.Load(func(k string) string { return vars[k] })
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	var admin net.Listener
	if cfg.AdminAddr != "" {
		if admin, err = net.Listen("tcp", cfg.AdminAddr); err != nil {
			ln.Close()
			t.Fatal(err)
		}
		cfg.AdminAddr = admin.Addr().String() // Restart binds the same port again
	}
	logs := &syncBuffer{}
	aopts := app.Options{}
	if !opts.RealPasswordCost {
		aopts.PasswordParams = &password.Params{MemoryKiB: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}
	}
	e := &Env{T: t, URL: base, DatabaseURL: dbURL, Client: &http.Client{Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		logs: logs, cfg: cfg, aopts: aopts}
	if admin != nil {
		e.AdminURL = "http://" + admin.Addr().String()
	}
	e.serve(ln, admin)
	t.Cleanup(func() {
		e.stop()
		if t.Failed() {
			t.Logf("server logs:\n%s", tail(logs.String(), 8000))
		}
	})
	if !opts.NoContract {
		e.checkContract()
	}
	return e
}

// Restart stops the app, as a process exit would, and starts a new one with
// the same configuration, database and address (so the same issuer): only
// what the database and Redis hold survives.
func (e *Env) Restart() {
	e.T.Helper()
	e.stop()
	e.stop = func() {}
	ln, err := net.Listen("tcp", e.cfg.Addr)
	if err != nil {
		e.T.Fatalf("restart: listen again on %s: %v", e.cfg.Addr, err)
	}
	var admin net.Listener
	if e.cfg.AdminAddr != "" {
		if admin, err = net.Listen("tcp", e.cfg.AdminAddr); err != nil {
			ln.Close()
			e.T.Fatalf("restart: listen again on %s: %v", e.cfg.AdminAddr, err)
		}
	}
	e.serve(ln, admin)
}

// Shutdown begins a graceful shutdown, as SIGTERM would, without waiting for
// it: the returned channel is closed once the server has stopped. The test's
// cleanup waits for it too.
func (e *Env) Shutdown() <-chan struct{} { return e.shutdown() }

// serve starts an app on ln (and admin, when not nil) and sets e.App and e.stop.
func (e *Env) serve(ln, admin net.Listener) {
	e.T.Helper()
	log := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.NewWithOptions(ctx, e.cfg, log, e.aopts)
	if err != nil {
		cancel()
		ln.Close()
		if admin != nil {
			admin.Close()
		}
		e.T.Fatalf("start puguh: %v", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := a.Serve(ctx, ln, admin); err != nil {
			log.Error("serve", "error", err)
		}
	}()
	e.App = a
	e.shutdown = func() <-chan struct{} {
		cancel()
		return done
	}
	e.stop = func() {
		cancel()
		<-done
		a.Close()
	}
}

// ForEachBackend runs fn against Puguh on SQLite and on PostgreSQL.
func ForEachBackend(t *testing.T, fn func(t *testing.T, e *Env)) {
	for _, b := range sqltest.Backends() {
		t.Run(b.Name, func(t *testing.T) { fn(t, Start(t, Options{Backend: b})) })
	}
}

// Deployment is one way Puguh runs: SQLite alone, or PostgreSQL with Redis.
type Deployment struct {
	Name    string
	Options Options
}

// Deployments lists the two deployments Puguh supports. The second needs
// PUGUH_TEST_DATABASE_URL and PUGUH_TEST_REDIS_URL (see Configured).
func Deployments() []Deployment {
	return []Deployment{
		{Name: "sqlite", Options: Options{Backend: sqltest.Backend{Name: "sqlite", URL: sqltest.SQLiteURL}}},
		{Name: "postgres+redis", Options: Options{Backend: sqltest.Backend{Name: "postgres", URL: sqltest.PostgresURL}, Redis: true}},
	}
}

// Configured reports whether this machine can run d, and if not, why.
// Start skips the test instead; fuzz targets, which cannot skip one
// deployment alone, ask first.
func (d Deployment) Configured() (bool, string) {
	if d.Options.Backend.Name == "postgres" && os.Getenv(sqltest.EnvDatabaseURL) == "" {
		return false, "set " + sqltest.EnvDatabaseURL + " to run it"
	}
	if d.Options.Redis && os.Getenv(EnvRedisURL) == "" {
		return false, "set " + EnvRedisURL + " to run it"
	}
	return true, ""
}

// ForEachDeployment runs fn against Puguh on SQLite alone and on PostgreSQL
// with Redis.
func ForEachDeployment(t *testing.T, fn func(t *testing.T, e *Env)) {
	for _, d := range Deployments() {
		t.Run(d.Name, func(t *testing.T) { fn(t, Start(t, d.Options)) })
	}
}

// Response is a finished HTTP exchange.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v, failing the test if it is not JSON.
func (r *Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("response is not JSON (%v): %s", err, r.Body)
	}
}

// Do sends a request. body may be nil, a string (sent as is) or a value
// (sent as JSON). headers are name, value pairs; Content-Type defaults to
// application/json when there is a body.
func (e *Env) Do(method, path string, body any, headers ...string) *Response {
	e.T.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		buf, err := json.Marshal(b)
		if err != nil {
			e.T.Fatal(err)
		}
		rd = bytes.NewReader(buf)
	}
	req, err := http.NewRequest(method, e.URL+path, rd)
	if err != nil {
		e.T.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := e.Client.Do(req)
	if err != nil {
		e.T.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.T.Fatal(err)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// Admin sends GET path to the admin listener (/metrics, /livez, /readyz).
func (e *Env) Admin(path string) *Response {
	e.T.Helper()
	if e.AdminURL == "" {
		e.T.Fatal("the admin listener is off (PUGUH_ADMIN_ADDR=off)")
	}
	resp, err := e.Client.Get(e.AdminURL + path)
	if err != nil {
		e.T.Fatalf("GET admin %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.T.Fatal(err)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// User is a registered, logged-in user.
type User struct {
	ID             string
	Email          string
	Password       string
	OrganizationID string
	AccessToken    string
	RefreshToken   string
}

// Bearer is the Authorization header pair for Do.
func (u *User) Bearer() []string { return []string{"Authorization", "Bearer " + u.AccessToken} }

// NewUser registers a user with a random email and logs it in.
func (e *Env) NewUser() *User {
	e.T.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	return e.RegisterAndLogin("user-"+hex.EncodeToString(b[:])+"@example.com", "correct horse battery", "Test User")
}

// RegisterAndLogin registers a user and logs it in, failing the test on any error.
func (e *Env) RegisterAndLogin(email, pw, name string) *User {
	e.T.Helper()
	r := e.Do(http.MethodPost, "/api/v1/auth/register", map[string]string{"email": email, "password": pw, "full_name": name})
	if r.Status != http.StatusCreated {
		e.T.Fatalf("register %s: %d %s", email, r.Status, r.Body)
	}
	var reg struct {
		UserID         string `json:"user_id"`
		OrganizationID string `json:"organization_id"`
	}
	r.JSON(e.T, &reg)
	u := &User{ID: reg.UserID, Email: email, Password: pw, OrganizationID: reg.OrganizationID}
	e.Login(u)
	return u
}

// Login logs u in again, replacing its tokens.
func (e *Env) Login(u *User) {
	e.T.Helper()
	r := e.Do(http.MethodPost, "/api/v1/auth/login", map[string]string{"email": u.Email, "password": u.Password})
	if r.Status != http.StatusOK {
		e.T.Fatalf("login %s: %d %s", u.Email, r.Status, r.Body)
	}
	var tok struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	r.JSON(e.T, &tok)
	u.AccessToken, u.RefreshToken = tok.AccessToken, tok.RefreshToken
}

func randomID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// namespaceOf is the Redis namespace of the deployment on database url.
func namespaceOf(url string) string {
	sum := sha256.Sum256([]byte(url))
	return "test:" + hex.EncodeToString(sum[:8]) + ":"
}
