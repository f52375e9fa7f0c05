package puguh

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/arsaka/puguh/sdk/go/internal/puguhtest"
)

// TestRoutesMatchOpenAPI: the route table holds every operation of
// provider/rest/openapi.yaml, at its path and method, and nothing else.
func TestRoutesMatchOpenAPI(t *testing.T) {
	root, err := puguhtest.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join(root, "provider", "rest", "openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	pathLine := regexp.MustCompile(`^  (/\S+):\s*$`)
	methodLine := regexp.MustCompile(`^    (get|post|patch|put|delete):\s*$`)
	opLine := regexp.MustCompile(`^\s+operationId:\s*(\w+)\s*$`)
	found := map[string]route{}
	var path, method string
	for _, line := range strings.Split(string(doc), "\n") {
		if m := pathLine.FindStringSubmatch(line); m != nil {
			path = m[1]
		} else if m := methodLine.FindStringSubmatch(line); m != nil {
			method = strings.ToUpper(m[1])
		} else if m := opLine.FindStringSubmatch(line); m != nil {
			found[m[1]] = route{method: method, path: path}
		}
	}
	for op, r := range found {
		mine, ok := routes[op]
		if !ok {
			t.Errorf("%s (%s %s) has no route: add it and a method (sdk/SURFACE.md, \"Adding an operation\")", op, r.method, r.path)
			continue
		}
		if mine.method != r.method || mine.path != r.path {
			t.Errorf("%s: the SDK has %s %s, the document %s %s", op, mine.method, mine.path, r.method, r.path)
		}
	}
	for op := range routes {
		if _, ok := found[op]; !ok {
			t.Errorf("%s is not in openapi.yaml", op)
		}
	}
}
