package httpapi

import (
	"context"
	"net/http/httptest"
	"testing"
)

func TestAbandoned(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		want bool
	}{
		{"client still there", context.Background(), false},
		{"client went away", cancelled, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/oauth/token", nil).WithContext(tc.ctx)
			if got := Abandoned(r); got != tc.want {
				t.Fatalf("Abandoned = %v, want %v", got, tc.want)
			}
		})
	}
}
