package ratelimit

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/arsaka/puguh/provider/problem"
	"github.com/arsaka/puguh/storage"
)

// clock is a fake clock that tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Unix(1_700_000_000, 250_000_000)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestMemoryGCRA(t *testing.T) {
	c := newClock()
	m := NewMemory(c.Now)
	ctx := context.Background()
	l := PerMinute(60)
	for i := range 60 {
		res, _ := m.Allow(ctx, "k", l)
		if !res.Allowed || res.Remaining != 59-i || res.ResetAfter != time.Duration(i+1)*time.Second {
			t.Fatalf("request %d: %+v", i+1, res)
		}
	}
	res, _ := m.Allow(ctx, "k", l)
	if res.Allowed || res.Remaining != 0 || res.RetryAfter != time.Second || res.ResetAfter != time.Minute {
		t.Fatalf("61st request: %+v", res)
	}
	if other, _ := m.Allow(ctx, "other", l); !other.Allowed {
		t.Fatal("keys must not share a budget")
	}
	c.Advance(time.Second)
	if res, _ := m.Allow(ctx, "k", l); !res.Allowed || res.Remaining != 0 {
		t.Fatalf("one interval later one request passes: %+v", res)
	}
	c.Advance(time.Minute)
	if res, _ := m.Allow(ctx, "k", l); !res.Allowed || res.Remaining != 59 {
		t.Fatalf("a minute later the budget is whole: %+v", res)
	}
}

// The sweep drops keys whose budget is whole, and only those, shard by shard.
func TestMemorySweep(t *testing.T) {
	c := newClock()
	m := NewMemory(c.Now)
	ctx := context.Background()
	_, _ = m.Allow(ctx, "busy", PerMinute(1))
	for i := range 4096 {
		_, _ = m.Allow(ctx, strconv.Itoa(i), PerMinute(1000))
	}
	c.Advance(time.Second)
	// Enough decisions on long-lived keys for every shard to sweep at least once.
	for i := range 8 * 4096 {
		_, _ = m.Allow(ctx, "x"+strconv.Itoa(i%1024), PerMinute(1_000_000))
	}
	n, busy := 0, false
	for i := range m.shards {
		n += len(m.shards[i].tats)
		_, ok := m.shards[i].tats["busy"]
		busy = busy || ok
	}
	if n != 1+1024 || !busy {
		t.Fatalf("%d keys kept (busy kept: %v), want 1025: busy and the x keys", n, busy)
	}
}

type fakeOrgs struct {
	mu    sync.Mutex
	orgs  map[string]storage.Organization
	reads int
	err   error
}

func (f *fakeOrgs) OrganizationByID(_ context.Context, id string) (*storage.Organization, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	if f.err != nil {
		return nil, f.err
	}
	o, ok := f.orgs[id]
	if !ok {
		return nil, storage.ErrNotFound
	}
	return &o, nil
}

func (f *fakeOrgs) set(id, plan string, limit int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.orgs[id] = storage.Organization{ID: id, Plan: plan, RateLimit: limit}
}

func TestPlanLimits(t *testing.T) {
	for _, tc := range []struct {
		plan  string
		limit int
		want  int
	}{
		{storage.PlanFree, 0, 60},
		{storage.PlanPro, 0, 300},
		{storage.PlanBusiness, 0, 1000},
		{storage.PlanEnterprise, 25000, 25000},
		{storage.PlanEnterprise, 0, 60}, // a bad row must not lift the limit
		{"platinum", 0, 60},
	} {
		t.Run(tc.plan+strconv.Itoa(tc.limit), func(t *testing.T) {
			if got := PlanLimit(&storage.Organization{Plan: tc.plan, RateLimit: tc.limit}); got != tc.want {
				t.Fatalf("got %d, want %d", got, tc.want)
			}
		})
	}
}

func TestValidPlan(t *testing.T) {
	for _, tc := range []struct {
		name  string
		plan  string
		limit int
		ok    bool
	}{
		{"free", "free", 0, true},
		{"business", "business", 0, true},
		{"enterprise", "enterprise", 5000, true},
		{"enterprise without limit", "enterprise", 0, false},
		{"enterprise negative", "enterprise", -1, false},
		{"pro with limit", "pro", 100, false},
		{"unknown", "gold", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := ValidPlan(tc.plan, tc.limit); (err == nil) != tc.ok {
				t.Fatalf("ValidPlan(%q, %d) = %v", tc.plan, tc.limit, err)
			}
		})
	}
}

// Each plan's figure, the free plan's for a deleted organization, and the
// database's failure passed on (the organization cache lives in
// storage/cached).
func TestPlansPerMinute(t *testing.T) {
	orgs := &fakeOrgs{orgs: map[string]storage.Organization{}}
	orgs.set("o", storage.PlanPro, 0)
	orgs.set("big", storage.PlanEnterprise, 5000)
	p := NewPlans(orgs)
	ctx := context.Background()
	for _, tc := range []struct {
		org  string
		want int
	}{{"o", 300}, {"big", 5000}, {"gone", 60}} {
		if n, err := p.PerMinute(ctx, tc.org); n != tc.want || err != nil {
			t.Fatalf("%s: %d, %v; want %d", tc.org, n, err, tc.want)
		}
	}
	orgs.err = storage.ErrUnavailable
	if _, err := p.PerMinute(ctx, "o"); !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("the database failing: %v, want ErrUnavailable", err)
	}
}

// The account budget stops a guesser after 10 attempts, and lets the owner in
// again a minute after guessing stops: no lockout outlives the attack.
func TestAccountsBoundedLockout(t *testing.T) {
	c := newClock()
	a := NewAccounts(NewMemory(c.Now), AccountLimit)
	ctx := context.Background()
	for i := range 10 {
		if err := a.Attempt(ctx, "victim@example.com"); err != nil {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
	}
	err := a.Attempt(ctx, "victim@example.com")
	if p := problem.As(err); p == nil || p.Kind != problem.Throttled || p.RetryAfter != 60 {
		t.Fatalf("11th attempt: %v", err)
	}
	if err := a.Attempt(ctx, "other@example.com"); err != nil {
		t.Fatalf("another account is not affected: %v", err)
	}
	// A sustained attack keeps taking the one attempt a minute; each refusal
	// never pushes the wait beyond one interval.
	for range 5 {
		c.Advance(30 * time.Second)
		err := a.Attempt(ctx, "victim@example.com")
		if p := problem.As(err); p == nil || p.RetryAfter != 30 {
			t.Fatalf("refusal mid-interval: %v", err)
		}
		c.Advance(30 * time.Second)
		if err := a.Attempt(ctx, "victim@example.com"); err != nil {
			t.Fatalf("one attempt per interval passes: %v", err)
		}
	}
	c.Advance(time.Minute)
	if err := a.Attempt(ctx, "victim@example.com"); err != nil {
		t.Fatalf("a minute after the attack the owner is let in: %v", err)
	}
}

// checkFailuresOnly drives the sign-in throttle of a fresh account as
// CheckPassword does: any number of correct passwords never spend the
// budget, and wrong ones stop at the 11th, interleaved with successes or not.
func checkFailuresOnly(t *testing.T, a *Accounts, email string) {
	t.Helper()
	ctx := WithClientIP(context.Background(), "203.0.113.7")
	succeed := func(i int) {
		t.Helper()
		if err := a.Attempt(ctx, email); err != nil {
			t.Fatalf("correct password %d: %v", i, err)
		}
		if err := a.Succeeded(ctx, email); err != nil {
			t.Fatalf("refund %d: %v", i, err)
		}
	}
	for i := range 30 {
		succeed(i + 1)
	}
	for i := range 9 {
		if err := a.Attempt(ctx, email); err != nil {
			t.Fatalf("wrong password %d: %v", i+1, err)
		}
	}
	for i := range 5 {
		succeed(31 + i)
	}
	if err := a.Attempt(ctx, email); err != nil {
		t.Fatalf("10th wrong password: %v", err)
	}
	err := a.Attempt(ctx, email)
	if p := problem.As(err); p == nil || p.Kind != problem.Throttled || p.RetryAfter != 60 {
		t.Fatalf("11th wrong password: %v, want 429 with Retry-After 60", err)
	}
}

// Correct passwords give their attempt back: the throttle counts failures.
func TestAccountsCountFailuresOnly(t *testing.T) {
	c := newClock()
	checkFailuresOnly(t, NewAccounts(NewMemory(c.Now), AccountLimit), "owner@example.com")
}

// A refund moves a budget back one event and never beyond its burst.
func TestMemoryRefund(t *testing.T) {
	c := newClock()
	m := NewMemory(c.Now)
	ctx := context.Background()
	l := PerMinute(60)
	if err := m.Refund(ctx, "k", l); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		_, _ = m.Allow(ctx, "k", l)
	}
	_ = m.Refund(ctx, "k", l)
	if res, _ := m.Allow(ctx, "k", l); res.Remaining != 57 {
		t.Fatalf("3 taken, 1 given back, 1 taken: remaining %d, want 57", res.Remaining)
	}
	for range 10 {
		_ = m.Refund(ctx, "k", l)
	}
	if _, ok := m.shard("k").tats["k"]; ok {
		t.Fatal("a whole budget is still held in memory")
	}
	for i := range 60 {
		if res, _ := m.Allow(ctx, "k", l); !res.Allowed {
			t.Fatalf("request %d after the refunds refused", i+1)
		}
	}
	if res, _ := m.Allow(ctx, "k", l); res.Allowed {
		t.Fatal("refunds lifted the budget beyond its burst")
	}
}
