package app

import (
	"context"
	"time"

	"github.com/gorilla/mux"

	"github.com/arsaka/puguh/provider/auth"
	"github.com/arsaka/puguh/provider/authz"
	"github.com/arsaka/puguh/provider/credentials"
	"github.com/arsaka/puguh/provider/health"
	"github.com/arsaka/puguh/provider/rest"
)

// buildAPIKeys builds the API-key verifier. Its background loop (batched
// last-use writes, evictions from other replicas through Redis) runs from
// Start, and Close waits for its final flush before closing the database.
func (a *App) buildAPIKeys(_ context.Context, now func() time.Time) (auth.APIKeys, error) {
	v := credentials.NewVerifier(a.users, a.members, credentials.Config{
		Now:       now,
		Logger:    a.log,
		Redis:     a.redis, // nil: other replicas drop revoked keys within credentials.DefaultTTL
		Namespace: "puguh:",
	})
	a.background = append(a.background, v.Run)
	return v, nil
}

// apiKeyVerifier is the verifier buildAPIKeys made, as the authenticator holds it.
func (a *App) apiKeyVerifier() *credentials.Verifier {
	v, _ := a.authn.APIKeys().(*credentials.Verifier)
	return v
}

// mountAPIKeys mounts API keys, service accounts and applications.
func (a *App) mountAPIKeys(r *mux.Router) {
	v := a.apiKeyVerifier()
	// A service account deleted here or on another replica must also stop its
	// Bearer tokens, which the authenticator resolves through its own cache.
	v.OnServiceAccountDeleted(a.authn.ForgetServiceAccount)
	body := a.cfg.MaxBodyBytes
	(&rest.APIKeyAPI{Store: a.store, Cache: v, Auth: a.authn, MaxBody: body, Now: time.Now}).Mount(r)
	(&rest.ServiceAccountAPI{Store: a.clientWrites(), Keys: a.store, Cache: v, Auth: a.authn, MaxBody: body, Now: time.Now}).Mount(r)
	(&rest.ApplicationAPI{Store: a.clientWrites(), Tokens: a.provider, Auth: a.authn, MaxBody: body, Now: time.Now,
		Operators: a.cfg.PlatformOperators, Users: a.users}).Mount(r)
}

// healthPrincipal is what GET /api/v1/health echoes of the caller.
func healthPrincipal(ctx context.Context) *health.Principal {
	p := authz.FromContext(ctx)
	if p == nil {
		return nil
	}
	return &health.Principal{Type: p.Type, ID: p.ID, OrganizationID: p.OrganizationID}
}
