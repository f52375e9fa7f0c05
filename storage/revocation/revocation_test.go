package revocation

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
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

func redisClient(t *testing.T) *redis.Client {
	t.Helper()
	u := os.Getenv("PUGUH_TEST_REDIS_URL")
	if u == "" {
		t.Skip("Redis case skipped: set PUGUH_TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/15) to run it")
	}
	opts, err := redis.ParseURL(u)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opts)
	t.Cleanup(func() { c.Close() })
	return c
}

func namespace(t *testing.T) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "test:" + hex.EncodeToString(b[:]) + ":"
}

// A revocation on one replica reaches another through pub/sub, and a replica
// that starts later loads it from Redis.
func TestRedisAcrossReplicas(t *testing.T) {
	client := redisClient(t)
	ns := namespace(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	a := NewRedis(client, ns, log, nil)
	b := NewRedis(client, ns, log, nil)
	go b.Run(ctx)
	waitFor(t, func() bool { return client.PubSubNumSub(ctx, ns+"deny").Val()[ns+"deny"] > 0 })

	if err := a.Deny(ctx, "sid:fam1", time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if !a.Denied("sid:fam1") {
		t.Fatal("the revoking replica must deny at once")
	}
	waitFor(t, func() bool { return b.Denied("sid:fam1") })

	late := NewRedis(client, ns, log, nil)
	if err := late.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if !late.Denied("sid:fam1") {
		t.Fatal("a replica started later must load existing revocations")
	}
	if ttl := client.PTTL(ctx, ns+"deny:sid:fam1").Val(); ttl <= 0 || ttl > time.Minute {
		t.Fatalf("redis entry must expire with the token: ttl %v", ttl)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Run must return when its context ends, or App.Close would wait forever.
func TestRedisRunStopsWithContext(t *testing.T) {
	client := redisClient(t)
	r := NewRedis(client, namespace(t), slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	waitFor(t, func() bool { return client.PubSubNumSub(context.Background(), r.topic).Val()[r.topic] > 0 })
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return within 5s of cancel")
	}
}

// A revocation is written to Redis even when the request's context is
// already cancelled (the client hung up): it has happened.
func TestRedisDenyOutlivesCancelledContext(t *testing.T) {
	client := redisClient(t)
	ns := namespace(t)
	r := NewRedis(client, ns, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := r.Deny(ctx, "jti:gone", time.Now().Add(time.Minute)); err != nil {
		t.Fatalf("deny with a cancelled context: %v", err)
	}
	if n := client.Exists(context.Background(), ns+"deny:jti:gone").Val(); n != 1 {
		t.Fatal("the denial was not written to Redis")
	}
}
