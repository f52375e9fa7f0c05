package app

import (
	"github.com/gorilla/mux"

	"github.com/arsaka/puguh/provider/oauth"
)

// mountOAuth mounts the OAuth 2.0 / OpenID Connect endpoints.
func (a *App) mountOAuth(r *mux.Router) {
	(&oauth.Endpoints{P: a.provider}).Mount(r)
}
