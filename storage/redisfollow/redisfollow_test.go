package redisfollow

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
)

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

// A follower gets what is announced, even when the announcing request's
// context is already cancelled (the change has happened), and re-syncs on
// subscribe.
func TestFollowGetsAnnouncements(t *testing.T) {
	client := redisClient(t)
	channel := "puguh-test:" + uuid.NewString()
	ctx, stop := context.WithCancel(context.Background())
	subscribed := make(chan struct{}, 1)
	got := make(chan string, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		Follow(ctx, client, channel, func(context.Context) { subscribed <- struct{}{} }, func(p string) { got <- p })
	}()
	select {
	case <-subscribed:
	case <-time.After(5 * time.Second):
		t.Fatal("never subscribed")
	}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Announce(cancelled, client, channel, "user 42"); err != nil {
		t.Fatalf("Announce with a cancelled context: %v", err)
	}
	select {
	case p := <-got:
		if p != "user 42" {
			t.Fatalf("got %q", p)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the announcement never arrived")
	}
	stop()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Follow did not return when its context ended")
	}
}

// Announce gives up within AnnounceTimeout when Redis does not answer.
func TestAnnounceBoundedWhenRedisIsDown(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	defer client.Close()
	start := time.Now()
	if err := Announce(context.Background(), client, "nowhere", "x"); err == nil {
		t.Fatal("Announce to a dead Redis succeeded")
	}
	if took := time.Since(start); took > AnnounceTimeout+4*time.Second { // it must not hang
		t.Fatalf("Announce took %s", took)
	}
}
