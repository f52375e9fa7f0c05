package app

import (
	"context"
	"net"
	"net/http"
	"sync"
	"time"
)

// connTracker follows the server's connections through http.Server.ConnState
// so that shutdown can wait for requests that have started to arrive.
// http.Server.Shutdown alone drops a request whose headers finish arriving
// after it was called (conn.serve returns once the server is shutting down),
// which would cut off a client that was mid-request at SIGTERM (docs/security.md,
// "Reliability under failure").
type connTracker struct {
	mu   sync.Mutex
	busy map[net.Conn]connInfo
}

type connInfo struct {
	state http.ConnState
	since time.Time
}

// newConnWait is how long a connection that has sent nothing yet may delay
// shutdown; net/http's Shutdown uses the same 5 seconds.
const newConnWait = 5 * time.Second

func (c *connTracker) track(nc net.Conn, st http.ConnState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.busy == nil {
		c.busy = map[net.Conn]connInfo{}
	}
	switch st {
	case http.StateNew, http.StateActive:
		c.busy[nc] = connInfo{state: st, since: time.Now()}
	default:
		delete(c.busy, nc)
	}
}

func (c *connTracker) quiet() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ci := range c.busy {
		if ci.state == http.StateActive || time.Since(ci.since) < newConnWait {
			return false
		}
	}
	return true
}

// drain waits, polling, until no connection is mid-request or ctx ends.
func (c *connTracker) drain(ctx context.Context) {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !c.quiet() {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
