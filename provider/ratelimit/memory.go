package ratelimit

import (
	"context"
	"hash/maphash"
	"sync"
	"time"
)

// Memory is GCRA in process, with the same arithmetic as redis_rate's Lua
// script so that the headers mean the same with and without Redis. It is the
// limiter of a single replica, and every replica's fallback while Redis is down.
type Memory struct {
	now    func() time.Time
	seed   maphash.Seed
	shards [memoryShards]memoryShard
}

// memoryShards splits the keys so that a sweep (and every decision) locks
// only the keys of one shard: with one map, a sweep under a flood of client
// addresses walked every key while every request waited, a tail of its own.
const memoryShards = 32

type memoryShard struct {
	mu    sync.Mutex
	tats  map[string]int64 // key → theoretical arrival time, unix nanoseconds
	calls int
}

// sweepEvery bounds each shard's map: every so many decisions in a shard, its
// keys whose budget is whole again are dropped (they hold no information), so
// a flood of client IPs costs memory only while it lasts.
const sweepEvery = 4096 / memoryShards

// NewMemory returns an empty in-process store; now is its clock (nil: time.Now).
func NewMemory(now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	m := &Memory{now: now, seed: maphash.MakeSeed()}
	for i := range m.shards {
		m.shards[i].tats = make(map[string]int64)
	}
	return m
}

func (m *Memory) shard(key string) *memoryShard {
	return &m.shards[maphash.String(m.seed, key)%memoryShards]
}

// Allow takes one event from key's budget if it has one.
func (m *Memory) Allow(_ context.Context, key string, l Limit) (Result, error) {
	now := m.now().UnixNano()
	interval := int64(l.interval())
	burstOffset := interval * int64(l.Burst)

	sh := m.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.calls++; sh.calls%sweepEvery == 0 {
		for k, tat := range sh.tats {
			if tat <= now {
				delete(sh.tats, k)
			}
		}
	}
	tat := max(sh.tats[key], now)
	newTAT := tat + interval
	diff := now - (newTAT - burstOffset)
	if diff < 0 {
		return Result{Limit: l, RetryAfter: time.Duration(-diff), ResetAfter: time.Duration(tat - now)}, nil
	}
	sh.tats[key] = newTAT
	return Result{Limit: l, Allowed: true, Remaining: int(diff / interval), ResetAfter: time.Duration(newTAT - now)}, nil
}

// Refund gives one event back to key's budget: its theoretical arrival time
// moves back one interval, and a budget that is whole again is forgotten.
func (m *Memory) Refund(_ context.Context, key string, l Limit) error {
	now := m.now().UnixNano()
	sh := m.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	tat, ok := sh.tats[key]
	if !ok {
		return nil
	}
	if tat -= int64(l.interval()); tat <= now {
		delete(sh.tats, key)
	} else {
		sh.tats[key] = tat
	}
	return nil
}
