package ratelimit

import (
	"context"
	"sync"
	"time"
)

// Memory is GCRA in process, with the same arithmetic as redis_rate's Lua
// script so that the headers mean the same with and without Redis. It is the
// limiter of a single replica, and every replica's fallback while Redis is down.
type Memory struct {
	now func() time.Time

	mu    sync.Mutex
	tats  map[string]int64 // key → theoretical arrival time, unix nanoseconds
	calls int
}

// sweepEvery bounds the map: every so many decisions, keys whose budget is
// whole again are dropped (they hold no information), so a flood of client
// IPs costs memory only while it lasts.
const sweepEvery = 4096

// NewMemory returns an empty in-process store; now is its clock (nil: time.Now).
func NewMemory(now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	return &Memory{now: now, tats: make(map[string]int64)}
}

// Allow takes one event from key's budget if it has one.
func (m *Memory) Allow(_ context.Context, key string, l Limit) (Result, error) {
	now := m.now().UnixNano()
	interval := int64(l.interval())
	burstOffset := interval * int64(l.Burst)

	m.mu.Lock()
	defer m.mu.Unlock()
	if m.calls++; m.calls%sweepEvery == 0 {
		for k, tat := range m.tats {
			if tat <= now {
				delete(m.tats, k)
			}
		}
	}
	tat := max(m.tats[key], now)
	newTAT := tat + interval
	diff := now - (newTAT - burstOffset)
	if diff < 0 {
		return Result{Limit: l, RetryAfter: time.Duration(-diff), ResetAfter: time.Duration(tat - now)}, nil
	}
	m.tats[key] = newTAT
	return Result{Limit: l, Allowed: true, Remaining: int(diff / interval), ResetAfter: time.Duration(newTAT - now)}, nil
}

// Refund gives one event back to key's budget: its theoretical arrival time
// moves back one interval, and a budget that is whole again is forgotten.
func (m *Memory) Refund(_ context.Context, key string, l Limit) error {
	now := m.now().UnixNano()
	m.mu.Lock()
	defer m.mu.Unlock()
	tat, ok := m.tats[key]
	if !ok {
		return nil
	}
	if tat -= int64(l.interval()); tat <= now {
		delete(m.tats, key)
	} else {
		m.tats[key] = tat
	}
	return nil
}
