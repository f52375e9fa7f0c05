package app

import (
	"time"

	"github.com/arsaka/puguh/storage/usercache"
)

// buildUsers wraps the SQL store in the user cache (storage/usercache): users
// read by id come from memory, and every write to a user evicts it here at
// once and, through Redis, on the other replicas; without Redis they see the
// change within usercache.DefaultTTL. Its eviction follower runs from Start.
//
// Whatever reads or writes users gets a.users rather than a.store, so no
// write bypasses the eviction.
func (a *App) buildUsers(now func() time.Time) *usercache.Store {
	s := usercache.New(a.store, usercache.Config{
		Now:       now,
		Logger:    a.log,
		Redis:     a.redis, // nil: other replicas see a change within usercache.DefaultTTL
		Namespace: "puguh:",
	})
	if a.redis != nil {
		a.background = append(a.background, s.Run)
	}
	return s
}
