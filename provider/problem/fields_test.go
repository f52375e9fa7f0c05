package problem

import "testing"

// Forms (sign-up, profile) reach Name without the JSON decoder's UTF-8
// check; invalid UTF-8 must be an Invalid problem, not bytes PostgreSQL
// refuses with a 500.
func TestName(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		ok       bool
	}{
		{"plain", "Jane Doe", true},
		{"accents", "Zoë Ångström", true},
		{"invalid utf-8", "Jane \xff Doe", false},
		{"control", "Jane\x07Doe", false},
		{"blank", "   ", false},
		{"too long", string(make([]byte, 201)), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var v Validator
			var out string
			in := tc.in
			v.Name(&in, 200, &out, "full_name")
			if (v.Err() == nil) != tc.ok {
				t.Fatalf("Name(%q): err %v", tc.in, v.Err())
			}
		})
	}
}

func TestNormalizeEmail(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"  Jane.Doe@Example.COM ", "jane.doe@example.com", true},
		{"jane@localhost", "", false},
		{"Jane <jane@example.com>", "", false},
		{"jane@exämple.com", "", false},
		{"jane@example..com", "", false},
		{"@example.com", "", false},
		{"jane@.example.com", "", false},
	} {
		got, ok := NormalizeEmail(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

func TestValidatorCollectsEveryIssue(t *testing.T) {
	var v Validator
	if v.Err() != nil {
		t.Fatal("an empty validator is an error")
	}
	var email, name string
	v.Email(nil, &email, "email")
	bad := "not an email"
	v.Email(&bad, &email, "email")
	v.Name(nil, 10, &name, "full_name")
	p := As(v.Err())
	if p == nil || p.Kind != Invalid || len(p.Issues) != 3 || p.Issues[0].Type != "value_error.missing" ||
		p.Issues[1].Type != "value_error.email" {
		t.Fatalf("issues %+v", p)
	}
}
