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
