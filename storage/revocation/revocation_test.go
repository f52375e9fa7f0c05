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
	_ = m.Deny(ctx, "jti:a", now.Add(time.Minute))
	_ = m.Deny(ctx, "jti:a", now.Add(time.Second)) // an earlier expiry never shortens an entry
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
	now = now.Add(2 * time.Minute)
	if m.Denied("jti:a") {
		t.Fatal("expired entry still denies")
	}
	_ = m.Deny(ctx, "jti:c", now.Add(time.Minute)) // triggers collection
	if m.Len() != 1 {
		t.Fatalf("expired entries not collected: %d", m.Len())
	}
}
