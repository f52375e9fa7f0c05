package deploy

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

// haproxyPath is the balancer's configuration that docker-compose.yml mounts.
const haproxyPath = "haproxy/haproxy.cfg"

// haproxyConfig is haproxy.cfg read the way HAProxy reads it: sections
// ("backend puguh") holding their directives, one line of fields each.
type haproxyConfig map[string][][]string

func readHAProxyConfig(t *testing.T, path string) haproxyConfig {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg := haproxyConfig{}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		switch fields[0] {
		case "global", "defaults", "frontend", "backend", "listen", "resolvers":
			section = strings.Join(fields, " ")
			if _, dup := cfg[section]; dup {
				t.Fatalf("%s: section %q twice", path, section)
			}
			cfg[section] = nil
			continue
		}
		if section == "" {
			t.Fatalf("%s: %q outside any section", path, line)
		}
		cfg[section] = append(cfg[section], fields)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// directive returns the fields after the keyword of the one directive in
// section that starts with keyword (several words allowed: "http-check send"),
// failing the test if there is none or more than one.
func (c haproxyConfig) directive(t *testing.T, section, keyword string) []string {
	t.Helper()
	kw := strings.Fields(keyword)
	var found [][]string
	for _, d := range c[section] {
		if len(d) >= len(kw) && strings.Join(d[:len(kw)], " ") == keyword {
			found = append(found, d[len(kw):])
		}
	}
	if len(found) != 1 {
		t.Fatalf("haproxy.cfg: section %q has %d %q directives, want 1", section, len(found), keyword)
	}
	return found[0]
}

// option returns the value following name in fields ("port" in "check port 9090").
func option(t *testing.T, fields []string, name string) string {
	t.Helper()
	for i, f := range fields {
		if f == name && i+1 < len(fields) {
			return fields[i+1]
		}
	}
	t.Fatalf("haproxy.cfg: no %q in %q", name, strings.Join(fields, " "))
	return ""
}
