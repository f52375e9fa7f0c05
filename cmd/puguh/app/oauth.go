package app

import (
	"github.com/gorilla/mux"

	"github.com/arsaka/puguh/provider/oauth"
	"github.com/arsaka/puguh/provider/rest"
	"github.com/arsaka/puguh/storage/sqlstore"
)

// mountOAuth mounts the OAuth 2.0 / OpenID Connect endpoints that are not
// pages (token, revocation, introspection, userinfo, discovery) and the
// application-scoped grants API. /oauth/authorize and /oauth/logout are
// browser-facing and mounted with the pages (app/pages.go).
func (a *App) mountOAuth(r *mux.Router) {
	(&oauth.Endpoints{P: a.provider, Users: a.users, MaxBody: a.cfg.MaxBodyBytes}).Mount(r)
	(&rest.GrantsAPI{Store: a.store, Tokens: a.provider, Auth: a.authn}).Mount(r)
}

// OAuthProvider is the composed OAuth 2.0 provider, for tests.
func (a *App) OAuthProvider() *oauth.Provider { return a.provider }

// SQLStore is the SQL store, for tests that register applications directly.
func (a *App) SQLStore() *sqlstore.Store { return a.store }
