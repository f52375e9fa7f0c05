package app

import (
	"context"
	"time"

	"github.com/gorilla/mux"

	"github.com/arsaka/puguh/provider/auth"
)

// buildAPIKeys builds the API-key authenticator (nil: API keys not wired yet).
func (a *App) buildAPIKeys(ctx context.Context, now func() time.Time) (auth.APIKeys, error) {
	return nil, nil
}

// mountAPIKeys mounts API keys, service accounts and applications.
func (a *App) mountAPIKeys(r *mux.Router) {}
