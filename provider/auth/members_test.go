package auth_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/arsaka/puguh/provider/auth"
	"github.com/arsaka/puguh/provider/httpapi"
)

type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *testClock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// TestMembershipCacheBound: a role change made on another replica (straight
// in the source) applies within MembershipTTL, 5 s, and not before; a change
// made here (Forget) applies at once; non-members are 403, unknown
// organizations 404.
func TestMembershipCacheBound(t *testing.T) {
	if auth.MembershipTTL != 5*time.Second {
		t.Fatalf("MembershipTTL = %v; docs/identity.md says 5 s", auth.MembershipTTL)
	}
	ctx := context.Background()
	src := &oneMembership{org: "org", user: "user", role: "admin"}
	clk := &testClock{now: time.Unix(1_800_000_000, 0)}
	c := auth.NewMembershipCache(src, clk.Now)
	role := func() string {
		t.Helper()
		r, err := c.Role(ctx, "org", "user")
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if got := role(); got != "admin" || src.reads != 1 {
		t.Fatalf("role %q after %d reads", got, src.reads)
	}
	src.role = "viewer" // demoted on another replica
	clk.Advance(auth.MembershipTTL)
	if got := role(); got != "admin" || src.reads != 1 {
		t.Fatalf("within the TTL: role %q after %d reads, want the cached admin", got, src.reads)
	}
	clk.Advance(time.Nanosecond)
	if got := role(); got != "viewer" || src.reads != 2 {
		t.Fatalf("after the TTL: role %q after %d reads, want viewer", got, src.reads)
	}
	src.role = "member"
	c.Forget("org", "user") // changed on this replica
	if got := role(); got != "member" {
		t.Fatalf("after Forget: role %q, want member", got)
	}

	for _, tc := range []struct {
		name, org, user string
		status          int
		detail          string
	}{
		{"not a member", "org", "stranger", http.StatusForbidden, "Not a member of this organization"},
		{"unknown organization", "nowhere", "user", http.StatusNotFound, "Organization not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Role(ctx, tc.org, tc.user)
			var he *httpapi.Error
			if !errors.As(err, &he) || he.Status != tc.status || he.Detail != tc.detail {
				t.Fatalf("got %v, want %d %q", err, tc.status, tc.detail)
			}
		})
	}
}
