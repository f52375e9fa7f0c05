// Package redisfollow follows a Redis pub/sub channel for as long as a
// context lives: it survives disconnects, tells the caller when it has
// (re)subscribed (messages published meanwhile are lost, so the caller
// resynchronises), and returns promptly when the context ends.
package redisfollow

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"
)

// Follow subscribes to channel and calls onSubscribe after every
// (re)subscription and onMessage for every message, until ctx ends.
func Follow(ctx context.Context, client *redis.Client, channel string, onSubscribe func(ctx context.Context), onMessage func(payload string)) {
	sub := client.Subscribe(ctx, channel)
	defer sub.Close()
	// go-redis's Receive blocks on the socket and ignores ctx; closing the
	// subscription is what wakes it at shutdown.
	stop := context.AfterFunc(ctx, func() { _ = sub.Close() })
	defer stop()
	for {
		msg, err := sub.Receive(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			// go-redis reconnects on the next Receive; pause so that a dead
			// Redis does not turn this into a busy loop.
			select {
			case <-ctx.Done():
				return
			case <-time.After(time.Second):
			}
			continue
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				onSubscribe(ctx)
			}
		case *redis.Message:
			onMessage(m.Payload)
		}
	}
}

// AnnounceTimeout bounds how long Announce waits on Redis. A write that
// changed something must not hang on a dead Redis; the followers' caches
// expire the stale entry within their TTL anyway.
const AnnounceTimeout = time.Second

// Announce publishes payload on channel for the followers, within
// AnnounceTimeout and even when ctx (a request's) is already cancelled: the
// change it announces has happened.
func Announce(ctx context.Context, client *redis.Client, channel, payload string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), AnnounceTimeout)
	defer cancel()
	return client.Publish(ctx, channel, payload).Err()
}
