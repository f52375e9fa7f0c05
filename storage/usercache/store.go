package usercache

import (
	"context"

	"github.com/arsaka/puguh/storage"
	"github.com/arsaka/puguh/storage/sqlstore"
)

// Store is the SQL store with users by id served from a Cache. Every method
// of *sqlstore.Store is available; those that write a users row are
// overridden here to evict the user after the write (TestEveryUserWriteEvicts
// fails if sqlstore gains one that is not). Hand it, and not the SQL store,
// to every component that reads or writes users.
type Store struct {
	*sqlstore.Store
	cache *Cache
}

// New decorates base with a cache built from cfg.
func New(base *sqlstore.Store, cfg Config) *Store {
	return &Store{Store: base, cache: NewCache(cfg)}
}

// Cache is the store's cache, for its background loop (Run) and tests.
func (s *Store) Cache() *Cache { return s.cache }

// Run follows the other replicas' evictions until ctx ends (see Cache.Run).
func (s *Store) Run(ctx context.Context) { s.cache.Run(ctx) }

// UserByID answers from the cache, reading the database on a miss.
// ErrNotFound is not cached.
func (s *Store) UserByID(ctx context.Context, id string) (*storage.User, error) {
	return s.cache.Get(ctx, id, s.Store.UserByID)
}

// UpdateUserProfile writes the full name, then evicts the user everywhere.
func (s *Store) UpdateUserProfile(ctx context.Context, id, fullName string) error {
	err := s.Store.UpdateUserProfile(ctx, id, fullName)
	s.cache.Invalidate(ctx, id)
	return err
}

// UpdateUserPassword writes the password hash, then evicts the user everywhere.
func (s *Store) UpdateUserPassword(ctx context.Context, id, passwordHash string) error {
	err := s.Store.UpdateUserPassword(ctx, id, passwordHash)
	s.cache.Invalidate(ctx, id)
	return err
}

// SetUserDisabled writes the flag, then evicts the user everywhere.
func (s *Store) SetUserDisabled(ctx context.Context, id string, disabled bool) error {
	err := s.Store.SetUserDisabled(ctx, id, disabled)
	s.cache.Invalidate(ctx, id)
	return err
}

var _ storage.UserStore = (*Store)(nil)
