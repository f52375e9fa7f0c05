package web

import (
	"compress/gzip"
	"io"
	"os"
	"strings"
	"testing"
)

func TestAcceptsGzip(t *testing.T) {
	cases := []struct {
		header string
		want   bool
	}{
		{"", false},
		{"gzip", true},
		{"gzip, deflate, br, zstd", true},
		{"br;q=1.0, GZIP;q=0.5", true},
		{"x-gzip", true},
		{"identity", false},
		{"deflate, br", false},
		{"gzip;q=0", false},
		{"gzip; q=0.000", false},
		{"*", true},
		{"*;q=0", false},
		{"gzip;q=0, *", false}, // gzip named and refused: * does not bring it back
		{"gzip;q=bogus", false},
	}
	for _, c := range cases {
		if got := acceptsGzip(c.header); got != c.want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", c.header, got, c.want)
		}
	}
}

// The vendored files load, the gzipped ones are whole gzip streams of what
// their names say, and README.md names the release VERSION holds (update.sh
// writes both).
func TestAPIDocsAssets(t *testing.T) {
	assets, version, err := loadAPIDocs()
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"swagger-ui-bundle.js": "SwaggerUIBundle", "swagger-ui.css": ".swagger-ui"} {
		a := assets[name]
		if a == nil || !a.gzipped {
			t.Fatalf("%s: not loaded gzipped", name)
		}
		zr, err := gzip.NewReader(strings.NewReader(string(a.body)))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		body, err := io.ReadAll(zr)
		if err != nil || !strings.Contains(string(body), want) {
			t.Fatalf("%s: %d bytes, %v; want a file mentioning %s", name, len(body), err, want)
		}
	}
	if !strings.Contains(string(assets["LICENSE"].body), "Apache License") {
		t.Error("LICENSE is not the Apache License")
	}
	readme, err := os.ReadFile("../../templates/apidocs/README.md")
	if err != nil {
		t.Fatal(err)
	}
	if version == "" || !strings.Contains(string(readme), "| version | `"+version+"`") {
		t.Errorf("VERSION %q is not the version README.md names", version)
	}
}
