package app

import "github.com/gorilla/mux"

// mountPages mounts the server-rendered pages.
func (a *App) mountPages(r *mux.Router) {}
