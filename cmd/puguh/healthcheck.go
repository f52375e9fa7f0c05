package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/arsaka/puguh/cmd/puguh/config"
)

// healthcheckCommand is `puguh healthcheck`: the container health check of an
// image with no shell or curl. It asks the server on this host whether it is
// ready (GET /readyz on the admin listener, PUGUH_ADMIN_ADDR) and exits 0 on a
// 200, else 1 with one line saying why. It only speaks HTTP: no database, no
// secret, no other configuration.
var healthcheckCommand = &command{
	name:    "healthcheck",
	summary: "exit 0 if this host's server is ready (GET /readyz on PUGUH_ADMIN_ADDR), else 1",
	usage:   "[--timeout 2s] [--url URL]",
	about: `The container health check (the image has no shell or curl). It reads PUGUH_ADMIN_ADDR and nothing else:
no database, no secret. An admin listener on every interface (0.0.0.0, ::) is probed on loopback.`,
	setup: func(fs *flag.FlagSet) action {
		timeout := fs.Duration("timeout", 2*time.Second, "give up after this `DURATION`")
		target := fs.String("url", "", "probe this `URL` instead of /readyz on PUGUH_ADMIN_ADDR")
		return func(ctx context.Context, in *invocation, _ []string) error {
			if *timeout <= 0 {
				return usagef("--timeout must be positive")
			}
			if code := healthcheck(ctx, in.getenv, *target, *timeout, in.stdout, in.stderr); code != 0 {
				return exitCode(code)
			}
			return nil
		}
	},
}

func healthcheck(ctx context.Context, getenv func(string) string, target string, timeout time.Duration, stdout, stderr io.Writer) int {
	url := target
	if url == "" {
		var err error
		if url, err = readyzURL(getenv("PUGUH_ADMIN_ADDR")); err != nil {
			fmt.Fprintln(stderr, "puguh healthcheck:", err)
			return 1
		}
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		fmt.Fprintln(stderr, "puguh healthcheck:", err)
		return 2
	}
	client := &http.Client{
		// A redirect is not readiness: report it as it is.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "puguh healthcheck: %s: not ready: %v\n", url, err)
		return 1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	line := fmt.Sprintf("%s: %d %s", url, resp.StatusCode, strings.Join(strings.Fields(string(body)), " "))
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintln(stderr, "puguh healthcheck: not ready:", line)
		return 1
	}
	fmt.Fprintln(stdout, line)
	return 0
}

// readyzURL is the readiness URL of the admin listener at addr (the value of
// PUGUH_ADMIN_ADDR, read as the server reads it). A listener on every
// interface (0.0.0.0, ::, or no host) is probed on loopback.
func readyzURL(addr string) (string, error) {
	addr = strings.TrimSpace(addr)
	if addr == "" {
		addr = config.DefaultAdminAddr
	}
	if strings.EqualFold(addr, "off") {
		// The public health endpoint is no substitute: it also fails while
		// Redis is down, which readiness deliberately ignores.
		return "", fmt.Errorf("the admin listener is off (PUGUH_ADMIN_ADDR=off), and readiness is served only there; set PUGUH_ADMIN_ADDR (e.g. %s) or pass --url", config.DefaultAdminAddr)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("PUGUH_ADMIN_ADDR %q is not host:port or off", addr)
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/readyz", nil
}
