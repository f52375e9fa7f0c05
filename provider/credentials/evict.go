package credentials

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/arsaka/puguh/storage/redisfollow"
)

// Eviction messages on the Redis channel: "key <hex sha-256>" and
// "account <organization id> <service account id>".
const (
	msgKey     = "key"
	msgAccount = "account"
)

// Evict forgets the key with this hash here at once and tells the other
// replicas to do the same. Call it after the key was revoked in the database.
func (v *Verifier) Evict(ctx context.Context, hash []byte) {
	if len(hash) != sha256.Size {
		return
	}
	v.evictKey([sha256.Size]byte(hash))
	v.publish(ctx, msgKey+" "+hex.EncodeToString(hash))
}

// EvictServiceAccount forgets every cached key of the service account and
// the account itself (through OnServiceAccountDeleted), here and on the other
// replicas. Call it after the account was deleted in the database.
func (v *Verifier) EvictServiceAccount(ctx context.Context, orgID, id string) {
	v.evictAccount(orgID, id)
	v.publish(ctx, msgAccount+" "+orgID+" "+id)
}

func (v *Verifier) evictKey(h [sha256.Size]byte) {
	v.mu.Lock()
	delete(v.entries, h)
	v.gen++
	v.mu.Unlock()
}

func (v *Verifier) evictAccount(orgID, id string) {
	v.mu.Lock()
	for h, e := range v.entries {
		if sa := e.key.ServiceAccountID; sa != nil && *sa == id {
			delete(v.entries, h)
		}
	}
	v.gen++
	v.mu.Unlock()
	if v.accountDeleted != nil {
		v.accountDeleted(orgID, id)
	}
}

// evictAll empties the cache, after a gap in the Redis subscription during
// which messages may have been missed.
func (v *Verifier) evictAll() {
	v.mu.Lock()
	clear(v.entries)
	v.gen++
	v.mu.Unlock()
}

func (v *Verifier) publish(ctx context.Context, msg string) {
	if v.cfg.Redis == nil {
		return
	}
	if err := redisfollow.Announce(ctx, v.cfg.Redis, v.topic, msg); err != nil {
		v.log.Warn("apikeys: could not announce a revocation; other replicas apply it within the cache TTL",
			"error", err, "ttl", v.cfg.TTL)
	}
}

// follow applies other replicas' evictions until ctx ends. On every
// (re)subscription anything published while we were away is lost, so it
// drops the whole cache rather than trust it.
func (v *Verifier) follow(ctx context.Context) {
	redisfollow.Follow(ctx, v.cfg.Redis, v.topic, func(context.Context) { v.evictAll() }, v.apply)
}

// apply handles one eviction message from another replica (or this one:
// applying our own is harmless).
func (v *Verifier) apply(payload string) {
	fields := strings.Fields(payload)
	switch {
	case len(fields) == 2 && fields[0] == msgKey:
		b, err := hex.DecodeString(fields[1])
		if err == nil && len(b) == sha256.Size {
			v.evictKey([sha256.Size]byte(b))
		}
	case len(fields) == 3 && fields[0] == msgAccount:
		v.evictAccount(fields[1], fields[2])
	}
}
