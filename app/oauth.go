package app

import "github.com/gorilla/mux"

// mountOAuth mounts the OAuth 2.0 / OpenID Connect endpoints.
func (a *App) mountOAuth(r *mux.Router) {}
