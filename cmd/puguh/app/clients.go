package app

import (
	"context"
	"time"

	"github.com/arsaka/puguh/provider/web"
	"github.com/arsaka/puguh/storage"
	"github.com/arsaka/puguh/storage/clientcache"
	"github.com/arsaka/puguh/storage/sqlstore"
)

// buildClients builds the cache of OAuth clients that the token, introspection
// and revocation endpoints authenticate against (docs/oauth.md, "Client
// cache"). With Redis, its follower runs from Start and applies the other
// replicas' changes within milliseconds; without, they apply within
// clientcache.DefaultTTL.
func (a *App) buildClients(now func() time.Time) *clientcache.Cache {
	c := clientcache.New(a.store, clientcache.Config{
		Now:       now,
		Logger:    a.log,
		Redis:     a.redis,
		Namespace: "puguh:",
	})
	if a.redis != nil {
		a.background = append(a.background, c.Run)
	}
	return c
}

// clientWriter is the SQL store for the code that manages clients (the REST
// API and the account pages): its application and service-account writes go
// through the client cache, which forgets what they change; everything else,
// reads included, goes straight to SQL. Those reads must stay uncached: a
// PATCH reads the row, changes it and writes all of it back, and a stale copy
// would undo another replica's change.
type clientWriter struct {
	*sqlstore.Store
	cache *clientcache.Cache
}

// clientWrites is the store the client-managing handlers are given.
func (a *App) clientWrites() clientWriter { return clientWriter{Store: a.store, cache: a.clients} }

func (w clientWriter) CreateApplication(ctx context.Context, app *storage.Application) error {
	return w.cache.CreateApplication(ctx, app)
}

func (w clientWriter) UpdateApplication(ctx context.Context, app *storage.Application) error {
	return w.cache.UpdateApplication(ctx, app)
}

func (w clientWriter) DeleteApplication(ctx context.Context, orgID, id string) error {
	return w.cache.DeleteApplication(ctx, orgID, id)
}

func (w clientWriter) CreateServiceAccount(ctx context.Context, sa *storage.ServiceAccount) error {
	return w.cache.CreateServiceAccount(ctx, sa)
}

func (w clientWriter) DeleteServiceAccount(ctx context.Context, orgID, id string, at time.Time) error {
	return w.cache.DeleteServiceAccount(ctx, orgID, id, at)
}

// accountClientWriter is clientWriter for the account pages, over whatever
// store they are given (the user cache's, for their user writes).
type accountClientWriter struct {
	web.AccountStore
	cache *clientcache.Cache
}

// withClientWrites routes the account pages' application writes through the
// client cache.
func (a *App) withClientWrites(s web.AccountStore) web.AccountStore {
	return accountClientWriter{AccountStore: s, cache: a.clients}
}

func (w accountClientWriter) CreateApplication(ctx context.Context, app *storage.Application) error {
	return w.cache.CreateApplication(ctx, app)
}

func (w accountClientWriter) UpdateApplication(ctx context.Context, app *storage.Application) error {
	return w.cache.UpdateApplication(ctx, app)
}

// ClientCache is the cache of OAuth clients, for tests.
func (a *App) ClientCache() *clientcache.Cache { return a.clients }
