package main

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/arsaka/puguh/"

// belowHTTP are the packages that must not speak HTTP: the domain, keys and
// storage (docs/architecture.md, "Layers").
var belowHTTP = regexp.MustCompile(`^(keys|storage(/.*)?|provider/(problem|authz|password|ratelimit|identity|orgs|credentials|clients|federation))$`)

// httpImports are what "speaking HTTP" means for a package's own imports.
var httpImports = []string{"net/http", "github.com/gorilla/mux", module + "provider/httpapi"}

// TestArchitectureMatchesImports holds docs/architecture.md to the code: its
// package map lists every package of the module's server code with exactly
// the module packages it imports, and no package below the HTTP layer
// imports HTTP code.
func TestArchitectureMatchesImports(t *testing.T) {
	root := filepath.Join("..", "..")
	actual, external, err := moduleImports(root)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join(root, "docs", "architecture.md"))
	if err != nil {
		t.Fatal(err)
	}
	documented, err := packageMap(string(doc))
	if err != nil {
		t.Fatal(err)
	}
	for pkg, imports := range actual {
		want, ok := documented[pkg]
		switch {
		case !ok:
			t.Errorf("docs/architecture.md has no row for %s (imports %v)", pkg, imports)
		case !slices.Equal(imports, want):
			t.Errorf("docs/architecture.md says %s imports %v; it imports %v", pkg, want, imports)
		}
	}
	for pkg := range documented {
		if _, ok := actual[pkg]; !ok {
			t.Errorf("docs/architecture.md lists %s, which is not a package of the module", pkg)
		}
	}
	for pkg, imports := range external {
		if !belowHTTP.MatchString(pkg) {
			continue
		}
		for _, imp := range imports {
			if slices.Contains(httpImports, imp) {
				t.Errorf("%s is below the HTTP layer but imports %s", pkg, imp)
			}
		}
	}
}

// moduleImports parses the non-test Go files of every package under root
// (other modules, such as sdk/ and deploy/, excluded) and returns, by package
// path relative to the module, the sorted module packages it imports, and
// every import it has.
func moduleImports(root string) (internal, all map[string][]string, err error) {
	internal, all = map[string][]string{}, map[string][]string{}
	fset := token.NewFileSet()
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			if path != root {
				if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil {
					return filepath.SkipDir // another module
				}
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, filepath.Dir(path))
		if err != nil {
			return err
		}
		pkg := filepath.ToSlash(rel)
		if _, ok := internal[pkg]; !ok {
			internal[pkg] = []string{}
		}
		for _, spec := range f.Imports {
			imp, err := strconv.Unquote(spec.Path.Value)
			if err != nil {
				return err
			}
			if !slices.Contains(all[pkg], imp) {
				all[pkg] = append(all[pkg], imp)
			}
			if rest, ok := strings.CutPrefix(imp, module); ok && !slices.Contains(internal[pkg], rest) {
				internal[pkg] = append(internal[pkg], rest)
			}
		}
		return nil
	})
	for _, imports := range internal {
		slices.Sort(imports)
	}
	return internal, all, err
}

// packageMap reads the table between the package-map markers: the first
// column names the package, the last its imports, each in backquotes.
func packageMap(doc string) (map[string][]string, error) {
	start := strings.Index(doc, "<!-- package map")
	end := strings.Index(doc, "<!-- end package map -->")
	if start < 0 || end < start {
		return nil, os.ErrNotExist
	}
	quoted := regexp.MustCompile("`([^`]+)`")
	out := map[string][]string{}
	for _, line := range strings.Split(doc[start:end], "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 4 || !strings.Contains(cells[1], "`") {
			continue
		}
		pkg := quoted.FindStringSubmatch(cells[1])[1]
		imports := []string{}
		for _, m := range quoted.FindAllStringSubmatch(cells[len(cells)-2], -1) {
			imports = append(imports, m[1])
		}
		slices.Sort(imports)
		out[pkg] = imports
	}
	return out, nil
}
