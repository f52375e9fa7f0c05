package authz

import "testing"

func TestRoleTable(t *testing.T) {
	for _, tc := range []struct {
		role string
		perm string
		want bool
	}{
		{Owner, MembersCreate, true},
		{Admin, MembersCreate, true},
		{Member, MembersCreate, false}, // the guide's 403 example
		{Member, APIKeysCreate, true},
		{Viewer, APIKeysCreate, false},
		{Viewer, UsersRead, true},
		{"nobody", OrganizationRead, false},
	} {
		if got := ForRole(tc.role).Has(tc.perm); got != tc.want {
			t.Errorf("%s has %s = %v, want %v", tc.role, tc.perm, got, tc.want)
		}
	}
	// Each role's permissions include all of the weaker role's.
	for i, r := range Roles()[:len(Roles())-1] {
		weaker := Roles()[i+1]
		if missing, ok := ForRole(r).Covers(PermissionsOf(weaker)); !ok {
			t.Errorf("%s lacks %s which %s has", r, missing, weaker)
		}
	}
}

func TestOutranks(t *testing.T) {
	for _, tc := range []struct {
		role, target string
		want         bool
	}{
		{Owner, Owner, true},
		{Admin, Owner, false},
		{Admin, Admin, true},
		{Admin, Viewer, true},
		{Member, Admin, false},
		{Viewer, "custom", false},
	} {
		if got := Outranks(tc.role, tc.target); got != tc.want {
			t.Errorf("Outranks(%s, %s) = %v, want %v", tc.role, tc.target, got, tc.want)
		}
	}
}

func TestWeaker(t *testing.T) {
	for _, tc := range []struct{ a, b, want string }{
		{Owner, Admin, Admin},
		{Member, Owner, Member},
		{Viewer, Viewer, Viewer},
		{"", Owner, ""},
		{Admin, "custom", ""},
	} {
		if got := Weaker(tc.a, tc.b); got != tc.want {
			t.Errorf("Weaker(%q, %q) = %q, want %q", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestImpliedRole(t *testing.T) {
	for _, tc := range []struct {
		name  string
		perms []string
		want  string
	}{
		{"an owner's permissions imply admin, never owner", PermissionsOf(Owner), Admin},
		{"a member's", PermissionsOf(Member), Member},
		{"a viewer's plus one", append(PermissionsOf(Viewer), APIKeysCreate), Viewer},
		{"one permission implies nothing", []string{ServiceAccountsCreate}, ""},
		{"none", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := NewSet(tc.perms...).ImpliedRole(); got != tc.want {
				t.Fatalf("ImpliedRole = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestMayGrant(t *testing.T) {
	for _, tc := range []struct {
		name   string
		rank   string
		held   []string
		target string
		want   bool
	}{
		{"owner makes owners", Owner, PermissionsOf(Owner), Owner, true},
		{"admin does not", Admin, PermissionsOf(Admin), Owner, false},
		{"admin makes admins", Admin, PermissionsOf(Admin), Admin, true},
		{"an admin rank narrowed to a member's permissions cannot make admins", Admin, PermissionsOf(Member), Admin, false},
		{"no rank grants nothing", "", PermissionsOf(Owner), Viewer, false},
		{"rank without the target's permissions", Member, []string{MembersCreate}, Viewer, false},
		{"unknown target", Owner, PermissionsOf(Owner), "custom", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := MayGrant(tc.rank, NewSet(tc.held...), tc.target); got != tc.want {
				t.Fatalf("MayGrant = %v, want %v", got, tc.want)
			}
		})
	}
}
