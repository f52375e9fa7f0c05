package revocation

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/arsaka/puguh/storage/redisfollow"
)

// Redis is a denylist shared by every replica through Redis.
type Redis struct {
	client *redis.Client
	local  *Memory
	log    *slog.Logger
	prefix string // key prefix, e.g. "puguh:deny:"
	topic  string // pub/sub channel
}

// NewRedis returns a Redis-backed list. Call Run to follow other replicas.
// namespace separates deployments (and tests) sharing one Redis.
func NewRedis(client *redis.Client, namespace string, log *slog.Logger, now func() time.Time) *Redis {
	return &Redis{
		client: client,
		local:  NewMemory(now),
		log:    log,
		prefix: namespace + "deny:",
		topic:  namespace + "deny",
	}
}

// Deny records key locally at once (this replica denies it from now on), then
// in Redis with an expiry, and announces it to the other replicas. The Redis
// write outlives ctx (a request's, whose client may hang up) but not
// redisfollow.AnnounceTimeout: the revocation has happened, and a dead Redis
// must not hold the request.
func (r *Redis) Deny(ctx context.Context, key string, until time.Time) error {
	_ = r.local.Deny(ctx, key, until)
	ttl := time.Until(until)
	if ttl <= 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), redisfollow.AnnounceTimeout)
	defer cancel()
	pipe := r.client.TxPipeline()
	pipe.Set(ctx, r.prefix+key, until.UnixMilli(), ttl)
	pipe.Publish(ctx, r.topic, strconv.FormatInt(until.UnixMilli(), 10)+" "+key)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("revocation: deny in redis: %w", err)
	}
	return nil
}

// Denied reads the local mirror only: no network on the request path.
func (r *Redis) Denied(keys ...string) bool { return r.local.Denied(keys...) }

// Run follows other replicas' revocations until ctx ends. On every
// (re)subscription it reloads the whole list from Redis, so nothing published
// while this replica was disconnected is missed.
func (r *Redis) Run(ctx context.Context) {
	redisfollow.Follow(ctx, r.client, r.topic,
		func(ctx context.Context) {
			if err := r.Load(ctx); err != nil {
				r.log.Warn("revocation: reload from redis failed", "error", err)
			}
		},
		func(payload string) {
			ms, key, ok := strings.Cut(payload, " ")
			n, err := strconv.ParseInt(ms, 10, 64)
			if ok && err == nil {
				_ = r.local.Deny(ctx, key, time.UnixMilli(n))
			}
		})
}

// Load copies every entry in Redis into the local mirror.
func (r *Redis) Load(ctx context.Context) error {
	iter := r.client.Scan(ctx, 0, r.prefix+"*", 500).Iterator()
	for iter.Next(ctx) {
		k := iter.Val()
		v, err := r.client.Get(ctx, k).Result()
		if err == redis.Nil {
			continue
		}
		if err != nil {
			return fmt.Errorf("revocation: load %s: %w", k, err)
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			continue
		}
		_ = r.local.Deny(ctx, strings.TrimPrefix(k, r.prefix), time.UnixMilli(n))
	}
	if err := iter.Err(); err != nil {
		return fmt.Errorf("revocation: scan: %w", err)
	}
	return nil
}
