package app

import (
	"time"

	"github.com/gorilla/mux"

	"github.com/arsaka/puguh/provider/rest"
	"github.com/arsaka/puguh/provider/web"
)

// mountPages mounts the server-rendered pages and the browser leg of OAuth
// (/oauth/authorize, /login, /consent, /logout, /oauth/logout, /static/).
func (a *App) mountPages(r *mux.Router) {
	identity := &rest.IdentityAPI{Store: a.store, Hasher: a.hasher, Tokens: a.provider, Auth: a.authn, MaxBody: a.cfg.MaxBodyBytes, Now: time.Now}
	pages, err := web.New(web.Config{Issuer: a.cfg.Issuer, Secret: a.cfg.Secret}, a.store, identity, a.provider, a.keys.Verifier(), a.log)
	if err != nil {
		// The templates are embedded and the issuer is validated by config: a
		// failure here is a build defect that every test catches.
		panic(err)
	}
	pages.Mount(r)
}
