package rest

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/arsaka/puguh/provider/auth"
	"github.com/arsaka/puguh/provider/authz"
	"github.com/arsaka/puguh/provider/federation"
	"github.com/arsaka/puguh/provider/httpapi"
	"github.com/arsaka/puguh/storage"
)

// Connections is what the federation API calls (federation.Service).
type Connections interface {
	List(ctx context.Context, p *authz.Principal, orgID string) ([]federation.Connection, error)
	Get(ctx context.Context, p *authz.Principal, orgID, id string) (*federation.Connection, error)
	Create(ctx context.Context, p *authz.Principal, orgID string, in federation.Input) (*federation.Connection, error)
	Update(ctx context.Context, p *authz.Principal, orgID, id string, in federation.Input) (*federation.Connection, error)
	Delete(ctx context.Context, p *authz.Principal, orgID, id string) error
}

// FederationAPI serves /api/v1/organizations/{id}/connections: the
// organization's own identity providers (docs/federation.md). Owners and
// admins only; the client secret is write-only.
type FederationAPI struct {
	Connections Connections
	Auth        *auth.Authenticator
	Issuer      string // PUGUH_ISSUER, for each connection's redirect_uri
	MaxBody     int64
}

// Mount registers the routes.
func (a *FederationAPI) Mount(r *mux.Router) {
	h := func(f httpapi.HandlerFunc) http.Handler { return a.Auth.Required(f) }
	r.Handle("/api/v1/organizations/{id}/connections", h(a.list)).Methods(http.MethodGet)
	r.Handle("/api/v1/organizations/{id}/connections", h(a.create)).Methods(http.MethodPost)
	r.Handle("/api/v1/organizations/{id}/connections/{connection_id}", h(a.get)).Methods(http.MethodGet)
	r.Handle("/api/v1/organizations/{id}/connections/{connection_id}", h(a.update)).Methods(http.MethodPatch)
	r.Handle("/api/v1/organizations/{id}/connections/{connection_id}", h(a.delete)).Methods(http.MethodDelete)
}

type connectionJSON struct {
	ID             string            `json:"id"`
	OrganizationID string            `json:"organization_id"`
	Name           string            `json:"name"`
	Protocol       string            `json:"protocol"`
	Issuer         string            `json:"issuer"`
	ClientID       string            `json:"client_id"`
	Scopes         []string          `json:"scopes"`
	EmailClaim     string            `json:"email_claim"`
	NameClaim      string            `json:"name_claim"`
	GroupsClaim    string            `json:"groups_claim"`
	RoleMapping    map[string]string `json:"role_mapping"`
	DefaultRole    string            `json:"default_role"`
	Domains        []string          `json:"domains"`
	RedirectURI    string            `json:"redirect_uri"`
	MetadataURL    string            `json:"metadata_url,omitempty"`
	MetadataXML    string            `json:"metadata_xml,omitempty"`
	SPMetadataURL  string            `json:"sp_metadata_url,omitempty"`
	CreatedAt      time.Time         `json:"created_at"`
	UpdatedAt      time.Time         `json:"updated_at"`
}

func (a *FederationAPI) connectionJSON(c *federation.Connection) connectionJSON {
	base := strings.TrimSuffix(a.Issuer, "/")
	out := connectionJSON{
		ID: c.ID, OrganizationID: c.OrganizationID, Name: c.Name, Protocol: c.Protocol, Issuer: c.Issuer,
		ClientID: c.ClientID, Scopes: c.Scopes, EmailClaim: c.EmailClaim, NameClaim: c.NameClaim,
		GroupsClaim: c.GroupsClaim, RoleMapping: c.Mapping, DefaultRole: c.DefaultRole, Domains: c.Domains,
		RedirectURI: base + federation.ReturnPath(&c.FederationConnection),
		MetadataURL: c.SAMLMetadataURL, MetadataXML: c.SAMLMetadataXML,
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
	}
	if c.Protocol == storage.ProtocolSAML {
		out.SPMetadataURL = base + federation.SAMLMetadataPath(c.ID)
	}
	return out
}

func (a *FederationAPI) list(w http.ResponseWriter, r *http.Request) error {
	orgID, err := pathID(r, "id")
	if err != nil {
		return err
	}
	conns, err := a.Connections.List(r.Context(), principal(r), orgID)
	if err != nil {
		return err
	}
	items := make([]connectionJSON, 0, len(conns))
	for i := range conns {
		items = append(items, a.connectionJSON(&conns[i]))
	}
	httpapi.WriteJSON(w, http.StatusOK, listResponse[connectionJSON]{Items: items})
	return nil
}

func (a *FederationAPI) ids(r *http.Request) (orgID, id string, err error) {
	if orgID, err = pathID(r, "id"); err != nil {
		return "", "", err
	}
	if id, err = pathID(r, "connection_id"); err != nil {
		return "", "", err
	}
	return orgID, id, nil
}

func (a *FederationAPI) get(w http.ResponseWriter, r *http.Request) error {
	orgID, id, err := a.ids(r)
	if err != nil {
		return err
	}
	c, err := a.Connections.Get(r.Context(), principal(r), orgID, id)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, a.connectionJSON(c))
	return nil
}

func (a *FederationAPI) create(w http.ResponseWriter, r *http.Request) error {
	orgID, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in federation.Input
	if err := httpapi.DecodeJSON(w, r, a.MaxBody, &in); err != nil {
		return err
	}
	c, err := a.Connections.Create(r.Context(), principal(r), orgID, in)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusCreated, a.connectionJSON(c))
	return nil
}

func (a *FederationAPI) update(w http.ResponseWriter, r *http.Request) error {
	orgID, id, err := a.ids(r)
	if err != nil {
		return err
	}
	var in federation.Input
	if err := httpapi.DecodeJSON(w, r, a.MaxBody, &in); err != nil {
		return err
	}
	c, err := a.Connections.Update(r.Context(), principal(r), orgID, id, in)
	if err != nil {
		return err
	}
	httpapi.WriteJSON(w, http.StatusOK, a.connectionJSON(c))
	return nil
}

func (a *FederationAPI) delete(w http.ResponseWriter, r *http.Request) error {
	orgID, id, err := a.ids(r)
	if err != nil {
		return err
	}
	if err := a.Connections.Delete(r.Context(), principal(r), orgID, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
