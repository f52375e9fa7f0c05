package rest_test

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/arsaka/puguh/provider/authz"
)

// TestDocsRoleTable keeps docs/identity.md's roles → permissions table equal
// to authz's, which is what the handlers check.
func TestDocsRoleTable(t *testing.T) {
	doc, err := os.ReadFile("../../docs/identity.md")
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- roles table: generated from authz.PermissionsOf -->\n", "<!-- end roles table -->"
	_, rest, ok := strings.Cut(string(doc), begin)
	table, _, ok2 := strings.Cut(rest, end)
	if !ok || !ok2 {
		t.Fatal("docs/identity.md has no roles table markers")
	}
	if want := rolesTable(); table != want {
		t.Fatalf("docs/identity.md's roles table is stale; replace it with:\n%s", want)
	}
}

func rolesTable() string {
	roles := authz.Roles()
	var b strings.Builder
	b.WriteString("| permission | " + strings.Join(roles, " | ") + " |\n")
	b.WriteString("|---|" + strings.Repeat("---|", len(roles)) + "\n")
	for _, p := range authz.AllPermissions() {
		b.WriteString("| `" + p + "` |")
		for _, r := range roles {
			mark := " "
			if slices.Contains(authz.PermissionsOf(r), p) {
				mark = "✓"
			}
			b.WriteString(" " + mark + " |")
		}
		b.WriteString("\n")
	}
	return b.String()
}
