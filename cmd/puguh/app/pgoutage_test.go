package app_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/arsaka/puguh/cmd/puguh/app/apptest"
	"github.com/arsaka/puguh/storage"
	"github.com/arsaka/puguh/storage/sqlstore/sqltest"
)

// pgCluster is a private PostgreSQL cluster on a loopback port that the test
// may kill and restart without disturbing the shared test server.
type pgCluster struct {
	bin   string // directory of initdb, pg_ctl, postgres
	dir   string // owned by the postgres user; holds data/, the socket and the log
	port  int
	sudo  bool // run the binaries as the postgres OS user (we are root)
	owner *user.User
}

// newPGCluster initialises and starts a cluster, or skips the test with a
// message saying what is missing. It is stopped when the test ends.
func newPGCluster(t *testing.T) *pgCluster {
	t.Helper()
	if os.Getenv(sqltest.EnvDatabaseURL) == "" {
		t.Skipf("PostgreSQL outage test skipped: set %s to run the PostgreSQL cases", sqltest.EnvDatabaseURL)
	}
	initdbs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(initdbs) == 0 {
		if os.Getenv(apptest.EnvRequireTools) != "" {
			t.Fatalf("no /usr/lib/postgresql/*/bin/initdb and %s is set: apt-get install postgresql", apptest.EnvRequireTools)
		}
		t.Skip("PostgreSQL outage test skipped: no /usr/lib/postgresql/*/bin/initdb to create a private cluster with (apt-get install postgresql)")
	}
	sort.Strings(initdbs)
	c := &pgCluster{bin: filepath.Dir(initdbs[len(initdbs)-1])}

	dir, err := os.MkdirTemp("", "puguh-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	c.dir = dir
	if os.Geteuid() == 0 {
		// initdb and postgres refuse to run as root.
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Skipf("PostgreSQL outage test skipped: running as root and there is no postgres user: %v", err)
		}
		if _, err := exec.LookPath("runuser"); err != nil {
			t.Skip("PostgreSQL outage test skipped: running as root and runuser is missing")
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		c.sudo, c.owner = true, u
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c.port = ln.Addr().(*net.TCPAddr).Port
	ln.Close()

	c.run(t, "initdb", "-D", c.data(), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")
	c.start(t)
	t.Cleanup(func() {
		// Immediate stop; if that fails, kill whatever is left.
		if err := c.command("pg_ctl", "-D", c.data(), "-m", "immediate", "-w", "-t", "10", "stop").Run(); err != nil {
			c.killAll()
		}
	})
	return c
}

func (c *pgCluster) data() string { return filepath.Join(c.dir, "data") }

func (c *pgCluster) url() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable&connect_timeout=2", c.port)
}

func (c *pgCluster) command(name string, args ...string) *exec.Cmd {
	prog := filepath.Join(c.bin, name)
	if c.sudo {
		return exec.Command("runuser", append([]string{"-u", "postgres", "--", prog}, args...)...)
	}
	return exec.Command(prog, args...)
}

func (c *pgCluster) run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := c.command(name, args...).CombinedOutput(); err != nil {
		log, _ := os.ReadFile(filepath.Join(c.dir, "log"))
		t.Fatalf("%s %s: %v\n%s\nserver log:\n%s", name, strings.Join(args, " "), err, out, log)
	}
}

// start starts the cluster on its port (the same one every time) and waits
// until it accepts connections.
func (c *pgCluster) start(t *testing.T) {
	t.Helper()
	opts := fmt.Sprintf("-p %d -c listen_addresses=127.0.0.1 -c unix_socket_directories=%s -c fsync=off -c max_connections=50", c.port, c.dir)
	// fsync=off loses nothing here: every outage in this test kills processes,
	// not the machine, so what was written to the kernel survives.
	c.run(t, "pg_ctl", "-D", c.data(), "-l", filepath.Join(c.dir, "log"), "-o", opts, "-w", "-t", "20", "start")
}

// postmasterPID reads the first line of postmaster.pid.
func (c *pgCluster) postmasterPID(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(c.data(), "postmaster.pid"))
	if err != nil {
		t.Fatalf("read postmaster.pid: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	if err != nil {
		t.Fatalf("postmaster.pid: %v", err)
	}
	return pid
}

// killNine is `kill -9` of the database server: the postmaster and every
// backend it forked die at once, mid-transaction.
func (c *pgCluster) killNine(t *testing.T) {
	t.Helper()
	pm := c.postmasterPID(t)
	pids := append([]int{pm}, childrenOf(pm)...)
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, pid := range pids {
		for alive(pid) {
			if time.Now().After(deadline) {
				t.Fatalf("process %d survived SIGKILL", pid)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	// The dead postmaster may linger as a zombie until init reaps it, and
	// postgres takes a lock file naming a PID that still exists as held.
	// Every process is dead, so the locks are stale: remove them as an operator would.
	sock := filepath.Join(c.dir, fmt.Sprintf(".s.PGSQL.%d", c.port))
	for _, stale := range []string{filepath.Join(c.data(), "postmaster.pid"), sock + ".lock", sock} {
		if err := os.Remove(stale); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
}

// killAll is the cleanup of last resort.
func (c *pgCluster) killAll() {
	b, err := os.ReadFile(filepath.Join(c.data(), "postmaster.pid"))
	if err != nil {
		return
	}
	pm, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	if err != nil || pm <= 1 {
		return
	}
	for _, pid := range append([]int{pm}, childrenOf(pm)...) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// childrenOf lists the processes whose parent is pid.
func childrenOf(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid …; comm may contain spaces, so cut after ')'.
		s := string(b)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(fields) > 1 && fields[1] == strconv.Itoa(pid) {
			out = append(out, p)
		}
	}
	return out
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	return len(fields) > 0 && fields[0] != "Z" && fields[0] != "X"
}

// registrations runs registration writes from a few goroutines until stopped,
// recording what the store acknowledged and every error it returned.
type registrations struct {
	mu         sync.Mutex
	acked      []string
	unexpected []error // errors that are not storage.ErrUnavailable
	outageErrs int

	stop chan struct{}
	wg   sync.WaitGroup
}

func (r *registrations) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.acked)
}

// waitAcked waits until n more writes than before have been acknowledged.
func (r *registrations) waitAcked(t *testing.T, before, n int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for r.count() < before+n {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d more writes acknowledged within %s", r.count()-before, n, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestPostgresOutage(t *testing.T) {
	start := time.Now()
	pg := newPGCluster(t)
	srv := startApp(t, map[string]string{"PUGUH_DATABASE_URL": pg.url(), "PUGUH_SECRET": testSecret})
	store := srv.app.Store()
	health := srv.base + "/api/v1/health"
	assertReply(t, get(t, health), http.StatusOK, healthOK)
	ready := srv.admin + "/readyz"
	assertReply(t, get(t, ready), http.StatusOK, readyOK)

	const writers, maxPerWriter = 4, 20000
	regs := &registrations{stop: make(chan struct{})}
	for w := 0; w < writers; w++ {
		regs.wg.Add(1)
		go func() {
			defer regs.wg.Done()
			for i := 0; i < maxPerWriter; i++ {
				select {
				case <-regs.stop:
					return
				default:
				}
				id := fmt.Sprintf("w%d-%06d", w, i) // a new id per attempt: nothing is retried
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				err := store.Register(ctx,
					&storage.User{ID: id, Email: id + "@example.com", FullName: "Outage", PasswordHash: "$argon2id$x"},
					&storage.Organization{ID: "org-" + id, Name: "Personal", Plan: "free", Personal: true})
				cancel()
				regs.mu.Lock()
				switch {
				case err == nil:
					regs.acked = append(regs.acked, id)
				case errors.Is(err, storage.ErrUnavailable):
					regs.outageErrs++
				default:
					regs.unexpected = append(regs.unexpected, err)
				}
				regs.mu.Unlock()
				if err != nil {
					time.Sleep(20 * time.Millisecond) // do not spin against a dead server
				}
			}
		}()
	}
	stopWriters := func() {
		select {
		case <-regs.stop:
		default:
			close(regs.stop)
		}
		regs.wg.Wait()
	}
	t.Cleanup(stopWriters)

	scenarios := []struct {
		name    string
		outage  func(t *testing.T)
		restart func(t *testing.T)
	}{
		{name: "kill -9", outage: pg.killNine, restart: pg.start},
		{
			// pg_ctl restart -m fast, split in two so the outage can be observed.
			name:    "fast restart",
			outage:  func(t *testing.T) { pg.run(t, "pg_ctl", "-D", pg.data(), "-m", "fast", "-w", "-t", "20", "stop") },
			restart: pg.start,
		},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			regs.waitAcked(t, regs.count(), 50, 10*time.Second)
			sc.outage(t)

			// During the outage: 503 with Retry-After, and ErrUnavailable from the store.
			got := waitFor(t, health, http.StatusServiceUnavailable, 10*time.Second)
			assertReply(t, got, http.StatusServiceUnavailable, healthDBDown)
			if ra := got.header.Get("Retry-After"); ra != "5" {
				t.Errorf("Retry-After = %q, want 5", ra)
			}
			// The admin listener takes the replica out of rotation, but keeps it alive.
			assertReply(t, waitFor(t, ready, http.StatusServiceUnavailable, 10*time.Second), http.StatusServiceUnavailable, readyDBDown)
			assertReply(t, get(t, srv.admin+"/livez"), http.StatusOK, `{"status":"ok"}`)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if _, err := store.UserByID(ctx, "w0-000000"); !errors.Is(err, storage.ErrUnavailable) {
				t.Errorf("UserByID during the outage: %v, want storage.ErrUnavailable", err)
			}
			if err := store.Register(ctx, &storage.User{ID: "during-" + sc.name, Email: "during@example.com", FullName: "x", PasswordHash: "x"},
				&storage.Organization{ID: "org-during-" + sc.name, Name: "x", Plan: "free", Personal: true}); !errors.Is(err, storage.ErrUnavailable) {
				t.Errorf("Register during the outage: %v, want storage.ErrUnavailable", err)
			}
			if err := store.Ping(ctx); !errors.Is(err, storage.ErrUnavailable) {
				t.Errorf("Ping during the outage: %v, want storage.ErrUnavailable", err)
			}

			// Back on the same port: Puguh reconnects without a restart.
			sc.restart(t)
			restarted := time.Now()
			assertReply(t, waitFor(t, health, http.StatusOK, 15*time.Second), http.StatusOK, healthOK)
			assertReply(t, waitFor(t, ready, http.StatusOK, 15*time.Second), http.StatusOK, readyOK)
			regs.waitAcked(t, regs.count(), 50, 15*time.Second)
			t.Logf("healthy and writing again %s after the restart", time.Since(restarted).Round(time.Millisecond))
		})
	}
	stopWriters()

	regs.mu.Lock()
	defer regs.mu.Unlock()
	t.Logf("%d writes acknowledged, %d refused with ErrUnavailable during the outages, %d other errors",
		len(regs.acked), regs.outageErrs, len(regs.unexpected))
	for i, err := range regs.unexpected {
		if i == 5 {
			t.Errorf("… and %d more", len(regs.unexpected)-5)
			break
		}
		t.Errorf("write failed with an error that is not storage.ErrUnavailable: %v", err)
	}
	if regs.outageErrs == 0 {
		t.Error("no write saw the outage: the test did not test anything")
	}

	// Every acknowledged registration is there, whole, exactly once.
	ctx := context.Background()
	var ids []string
	if err := store.DB().SelectContext(ctx, &ids, "SELECT id FROM users"); err != nil {
		t.Fatal(err)
	}
	present := make(map[string]int, len(ids))
	for _, id := range ids {
		present[id]++
	}
	missing := 0
	for _, id := range regs.acked {
		if present[id] != 1 {
			missing++
			if missing <= 5 {
				t.Errorf("acknowledged user %s present %d times", id, present[id])
			}
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d acknowledged writes missing or duplicated", missing, len(regs.acked))
	}
	var torn int
	if err := store.DB().GetContext(ctx, &torn, `SELECT COUNT(*) FROM users u
		WHERE (SELECT COUNT(*) FROM memberships m WHERE m.user_id = u.id) <> 1
		   OR NOT EXISTS (SELECT 1 FROM organizations o WHERE o.id = 'org-' || u.id)`); err != nil {
		t.Fatal(err)
	}
	if torn != 0 {
		t.Errorf("%d registrations are torn (user without exactly one membership and its organization)", torn)
	}
	if d := time.Since(start); d > 45*time.Second {
		t.Errorf("the outage test took %s; keep it near 30 s", d)
	}
}
