package revocation

import (
	"context"
	"testing"
	"time"
)

func TestMemory(t *testing.T) {
	now := time.Unix(1000, 0)
	m := NewMemory(func() time.Time { return now })
	ctx := context.Background()
	if m.Denied("jti:a") {
		t.Fatal("empty list denies")
	}
	if err := m.Deny(ctx, "jti:a", now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := m.Deny(ctx, "jti:a", now.Add(time.Second)); err != nil { // an earlier expiry never shortens an entry
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		keys []string
		want bool
	}{
		{"denied", []string{"jti:a"}, true},
		{"other", []string{"jti:b"}, false},
		{"any of", []string{"jti:b", "jti:a"}, true},
	} {
		if got := m.Denied(tc.keys...); got != tc.want {
			t.Errorf("%s: got %v", tc.name, got)
		}
	}
	now = now.Add(30 * time.Second) // past the second Deny's expiry, not the first's
	if !m.Denied("jti:a") {
		t.Fatal("a second, earlier expiry shortened the entry")
	}
	now = now.Add(2 * time.Minute)
	if m.Denied("jti:a") {
		t.Fatal("expired entry still denies")
	}
	if err := m.Deny(ctx, "jti:c", now.Add(time.Minute)); err != nil { // triggers collection
		t.Fatal(err)
	}
	if m.Len() != 1 {
		t.Fatalf("expired entries not collected: %d", m.Len())
	}
}
