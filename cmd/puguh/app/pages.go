package app

import (
	"time"

	"github.com/gorilla/mux"

	"github.com/arsaka/puguh/provider/rest"
	"github.com/arsaka/puguh/provider/web"
)

// mountPages mounts the server-rendered pages and the browser leg of OAuth
// (/oauth/authorize, /login, /consent, /logout, /oauth/logout, /static/),
// sign-up (/signup) and the account area (/account…).
func (a *App) mountPages(r *mux.Router) {
	identity := a.identity
	pages, err := web.New(web.Config{Issuer: a.cfg.Issuer, Secret: a.cfg.Secret, MaxBody: a.cfg.MaxBodyBytes}, a.users, identity, a.provider, a.keys.Verifier(), a.log)
	if err != nil {
		// The templates are embedded and the issuer is validated by config: a
		// failure here is a build defect that every test catches.
		panic(err)
	}
	a.pages = pages
	pages.Mount(r)
	// Sign-up and the account area (/signup, /account…) on the same helpers.
	account, err := web.NewAccount(pages, web.AccountDeps{
		Store: a.withClientWrites(a.users), Identity: identity, Hasher: a.hasher, Grants: a.accounts, Roles: a.members,
		APIKeys: &rest.APIKeyAPI{Store: a.store, Cache: a.apiKeyVerifier(), Auth: a.authn, MaxBody: a.cfg.MaxBodyBytes, Now: time.Now},
	})
	if err != nil {
		panic(err) // embedded templates: a build defect, as above
	}
	account.Mount(r)
}
