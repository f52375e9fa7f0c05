package revocation

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/arsaka/puguh/storage"
	"github.com/arsaka/puguh/storage/redisfollow"
)

// Store is the record of denials: the denylist table (storage/sqlstore).
type Store interface {
	// PutDenial denies key until the given time, or extends its entry to it,
	// inside the transaction ctx carries if there is one.
	PutDenial(ctx context.Context, key string, until time.Time) error
	// DenialsAfter returns the unexpired entries whose Seq is above after.
	DenialsAfter(ctx context.Context, after int64, now time.Time) ([]storage.Denial, error)
	// DeleteExpiredDenials deletes at most limit expired entries, returning how many.
	DeleteExpiredDenials(ctx context.Context, now time.Time, limit int) (int, error)
}

const (
	// PollInterval is how often every replica reads the denials written since
	// the last ones it saw: the bound within which a denial made on one
	// replica applies on the others when Redis is down, drops a message, or is
	// not configured.
	PollInterval = 5 * time.Second
	// readMargin: a denial's Seq is drawn when its row is inserted, but the
	// row is seen when its transaction commits, and on PostgreSQL a later Seq
	// can commit first. So a reader does not take the highest Seq it has seen
	// as read at once: it goes on reading from a Seq it saw at least
	// readMargin ago, and misses no denial whose transaction commits within
	// readMargin of its insert. The transactions a denial joins (fosite's
	// revocation of a family) commit right after it; the periodic full
	// reload (sweepInterval) catches anything slower.
	readMargin = time.Minute
	// writeTimeout bounds the database write of a denial. The write outlives
	// the request's context (a client that hangs up does not undo its
	// logout), not this.
	writeTimeout = 10 * time.Second
	// sweepInterval paces the deletion of expired rows and a full reload;
	// sweepBatch bounds each DELETE.
	sweepInterval = 10 * time.Minute
	sweepBatch    = 500
)

// Options configure a Denylist.
type Options struct {
	// Redis carries denials to the other replicas at once; nil: they learn
	// of them from the table within PollInterval.
	Redis *redis.Client
	// Namespace prefixes the Redis channel ("puguh:"), separating deployments
	// that share one Redis.
	Namespace string
	Log       *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Denylist is the denylist of a replica: an in-process map in front of the
// table, which is the record (see the package comment). Call Load before
// serving and Run to follow the other replicas.
type Denylist struct {
	store Store
	local *Memory
	redis *redis.Client
	topic string
	log   *slog.Logger
	now   func() time.Time
	poll  time.Duration
	batch int

	// reading serialises reads of the table (polls, full reloads) and
	// guards what they have seen.
	reading sync.Mutex
	// upTo: every entry with a Seq up to it has been read.
	upTo int64
	// marks are the highest Seq seen by recent reads, oldest first, each
	// waiting readMargin to become upTo.
	marks []mark
}

type mark struct {
	at  time.Time // when the read started
	seq int64     // the highest Seq seen by then
}

// NewDenylist returns an empty list backed by store.
func NewDenylist(store Store, opts Options) *Denylist {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Denylist{store: store, local: NewMemory(now), redis: opts.Redis, topic: opts.Namespace + "deny",
		log: log, now: now, poll: PollInterval, batch: sweepBatch}
}

// Deny records key in the database until the given time, then denies it on
// this replica and publishes it to the others. It returns once the record is
// written (or, inside a transaction ctx carries, written in it), and with an
// error if it could not be: then nothing is denied, so the request that asked
// for the revocation fails as a whole and its retry can do all of it again.
// Denying first and recording second would leave the token refused here, and
// a retried logout or RFC 7009 request would find it already refused and
// answer as if done, with nothing recorded.
//
// A failed publication is only logged: the record is in the database, and
// the other replicas read it within PollInterval, or when they resubscribe.
func (d *Denylist) Deny(ctx context.Context, key string, until time.Time) error {
	if !until.After(d.now()) {
		return nil
	}
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
	defer cancel()
	if err := d.store.PutDenial(wctx, key, until); err != nil {
		return fmt.Errorf("revocation: record a denial: %w", err)
	}
	_ = d.local.Deny(ctx, key, until)
	if d.redis == nil {
		return nil
	}
	payload := strconv.FormatInt(until.UnixMilli(), 10) + " " + key
	if err := redisfollow.Announce(ctx, d.redis, d.topic, payload); err != nil {
		d.log.WarnContext(ctx, "revocation: could not publish a denial; the other replicas read it from the database",
			"error", err, "within", d.poll)
	}
	return nil
}

// Denied reads the in-process map only: no network on the request path.
func (d *Denylist) Denied(keys ...string) bool { return d.local.Denied(keys...) }

// Load reads every unexpired entry of the table into memory.
func (d *Denylist) Load(ctx context.Context) error { return d.read(ctx, true) }

// catchUp reads the entries written since those already read, and those that
// may have committed late (readMargin).
func (d *Denylist) catchUp(ctx context.Context) error { return d.read(ctx, false) }

func (d *Denylist) read(ctx context.Context, all bool) error {
	d.reading.Lock()
	defer d.reading.Unlock()
	after := d.upTo
	if all {
		after = 0
	}
	start := d.now()
	rows, err := d.store.DenialsAfter(ctx, after, start)
	if err != nil {
		return fmt.Errorf("revocation: read denials: %w", err)
	}
	high := d.upTo
	if n := len(d.marks); n > 0 {
		high = max(high, d.marks[n-1].seq)
	}
	for _, r := range rows {
		_ = d.local.Deny(ctx, r.Key, r.Until)
		high = max(high, r.Seq)
	}
	// This read saw every entry committed before it started above upTo, so
	// every entry up to a mark made readMargin before it has now been read.
	i := 0
	for ; i < len(d.marks) && !d.marks[i].at.After(start.Add(-readMargin)); i++ {
		d.upTo = max(d.upTo, d.marks[i].seq)
	}
	d.marks = append(d.marks[i:], mark{at: start, seq: high})
	return nil
}

// Sweep deletes every expired row, a batch per statement, and reports how
// many it deleted.
func (d *Denylist) Sweep(ctx context.Context) (int, error) {
	now := d.now()
	total := 0
	for {
		n, err := d.store.DeleteExpiredDenials(ctx, now, d.batch)
		total += n
		if err != nil {
			return total, fmt.Errorf("revocation: sweep: %w", err)
		}
		if n < d.batch {
			return total, nil
		}
	}
}

// Run follows the other replicas' denials until ctx ends: through Redis if
// configured, and by reading the table every PollInterval in any case. Every
// sweepInterval it deletes expired rows and reloads the whole table. Failures
// are logged and retried at the next tick: a missed read is caught by the
// next, and expired rows are harmless for a while.
func (d *Denylist) Run(ctx context.Context) {
	var following sync.WaitGroup
	if d.redis != nil {
		following.Add(1)
		go func() {
			defer following.Done()
			d.follow(ctx)
		}()
	}
	defer following.Wait()
	poll := time.NewTicker(d.poll)
	defer poll.Stop()
	sweep := time.NewTicker(sweepInterval)
	defer sweep.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-poll.C:
			if err := d.catchUp(ctx); err != nil && ctx.Err() == nil {
				d.log.WarnContext(ctx, "revocation: reading new denials failed", "error", err)
			}
		case <-sweep.C:
			n, err := d.Sweep(ctx)
			if err != nil && ctx.Err() == nil {
				d.log.WarnContext(ctx, "revocation: sweeping expired denials failed", "error", err, "deleted", n)
			} else if n > 0 {
				d.log.DebugContext(ctx, "revocation: swept expired denials", "deleted", n)
			}
			if err := d.Load(ctx); err != nil && ctx.Err() == nil {
				d.log.WarnContext(ctx, "revocation: reloading denials failed", "error", err)
			}
		}
	}
}

// follow applies the denials other replicas publish, and reloads the table on
// every (re)subscription: messages published while this replica was not
// subscribed are lost, and denials recorded while Redis was down were never
// published.
func (d *Denylist) follow(ctx context.Context) {
	redisfollow.Follow(ctx, d.redis, d.topic,
		func(ctx context.Context) {
			if err := d.Load(ctx); err != nil && ctx.Err() == nil {
				d.log.WarnContext(ctx, "revocation: reloading denials on subscribing failed; reading them within the poll interval", "error", err)
			}
		},
		func(payload string) {
			ms, key, ok := strings.Cut(payload, " ")
			n, err := strconv.ParseInt(ms, 10, 64)
			if ok && err == nil && key != "" {
				_ = d.local.Deny(ctx, key, time.UnixMilli(n))
			}
		})
}

// ImportFromRedis moves the denials an older Puguh kept only in Redis (keys
// "<namespace>deny:<key>" holding the expiry in unix milliseconds) into the
// table, then deletes those keys, so an upgrade forgets no revocation. It is
// idempotent and cheap when there is nothing to move; with several replicas
// starting at once each may import the same keys, which PutDenial absorbs.
func (d *Denylist) ImportFromRedis(ctx context.Context, namespace string) (int, error) {
	if d.redis == nil {
		return 0, nil
	}
	prefix := namespace + "deny:"
	moved := 0
	iter := d.redis.Scan(ctx, 0, prefix+"*", 500).Iterator()
	for iter.Next(ctx) {
		k := iter.Val()
		v, err := d.redis.Get(ctx, k).Result()
		if err == redis.Nil {
			continue
		}
		if err != nil {
			return moved, fmt.Errorf("revocation: import %s: %w", k, err)
		}
		ms, err := strconv.ParseInt(v, 10, 64)
		if err == nil {
			until := time.UnixMilli(ms)
			if until.After(d.now()) {
				if err := d.store.PutDenial(ctx, strings.TrimPrefix(k, prefix), until); err != nil {
					return moved, fmt.Errorf("revocation: import %s: %w", k, err)
				}
				moved++
			}
		}
		if err := d.redis.Del(ctx, k).Err(); err != nil {
			return moved, fmt.Errorf("revocation: import %s: %w", k, err)
		}
	}
	if err := iter.Err(); err != nil {
		return moved, fmt.Errorf("revocation: import: %w", err)
	}
	return moved, nil
}
