package rest

import (
	"testing"

	"github.com/arsaka/puguh/provider/httpapi"
)

// Forms (sign-up, profile) reach checkName without the JSON body's UTF-8
// check; invalid UTF-8 must be a 422, not bytes PostgreSQL refuses with a 500.
func TestCheckNameRejectsInvalidUTF8(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		ok       bool
	}{
		{"plain", "Jane Doe", true},
		{"accents", "Zoë Ångström", true},
		{"invalid utf-8", "Jane \xff Doe", false},
		{"control", "Jane\x07Doe", false},
		{"blank", "   ", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var v httpapi.Validator
			var out string
			in := tc.in
			checkName(&v, &in, 200, &out, "body", "full_name")
			if (v.Err() == nil) != tc.ok {
				t.Fatalf("checkName(%q): err %v", tc.in, v.Err())
			}
		})
	}
}
