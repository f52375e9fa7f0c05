package storagetest

import (
	"context"
	"testing"
	"time"

	"github.com/arsaka/puguh/storage"
)

// FederationStores is what TestFederationStore needs: connections belong to
// organizations, links to users, marks to sessions.
type FederationStores interface {
	storage.UserStore
	storage.SessionStore
	storage.FederationStore
}

func newConnection(t *testing.T, orgID string, domains ...string) *storage.FederationConnection {
	return &storage.FederationConnection{
		ID: newID(t), OrganizationID: orgID, Name: "Corporate IdP", Protocol: storage.ProtocolOIDC,
		Issuer: "https://idp.example.com", ClientID: "puguh", ClientSecretSealed: []byte{1, 2, 3, 0, 255},
		Scopes: []string{"openid", "email"}, EmailClaim: "email", NameClaim: "name", GroupsClaim: "groups",
		RoleMapping: `{"admins":"admin"}`, DefaultRole: "member", Domains: domains,
		CreatedAt: baseTime(), UpdatedAt: baseTime(),
	}
}

func normConnection(c *storage.FederationConnection) {
	c.CreatedAt, c.UpdatedAt = micro(c.CreatedAt), micro(c.UpdatedAt)
}

// TestFederationStore checks connections, their domains, links and session marks.
func TestFederationStore(t *testing.T, newStore func(t *testing.T) FederationStores) {
	ctx := context.Background()
	s := newStore(t)
	user, org := registerUser(t, s)
	c := newConnection(t, org.ID, "a.example", "b.example")
	if err := s.CreateConnection(ctx, c); err != nil {
		t.Fatal(err)
	}
	got, err := s.ConnectionByID(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "connection by id", *got, *c, normConnection)
	got, err = s.ConnectionByDomain(ctx, "b.example")
	if err != nil || got.ID != c.ID {
		t.Fatalf("by domain: %v %v", got, err)
	}
	_, err = s.ConnectionByDomain(ctx, "c.example")
	wantErr(t, "unknown domain", err, storage.ErrNotFound)

	// A domain belongs to one connection; the failed create leaves nothing.
	other := newConnection(t, org.ID, "c.example", "a.example")
	wantErr(t, "taken domain", s.CreateConnection(ctx, other), storage.ErrConflict)
	_, err = s.ConnectionByDomain(ctx, "c.example")
	wantErr(t, "domain of the failed create", err, storage.ErrNotFound)
	_, err = s.ConnectionByID(ctx, other.ID)
	wantErr(t, "failed create", err, storage.ErrNotFound)

	c.Name, c.Domains, c.ClientSecretSealed = "Renamed", []string{"c.example"}, []byte{9}
	c.UpdatedAt = baseTime().Add(time.Hour)
	if err := s.UpdateConnection(ctx, c); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListConnections(ctx, org.ID)
	if err != nil || len(list) != 1 {
		t.Fatalf("list: %v %v", list, err)
	}
	wantEqual(t, "updated connection", list[0], *c, normConnection)
	_, err = s.ConnectionByDomain(ctx, "a.example")
	wantErr(t, "domain removed by update", err, storage.ErrNotFound)
	missing := newConnection(t, org.ID)
	wantErr(t, "update of none", s.UpdateConnection(ctx, missing), storage.ErrNotFound)

	fi := &storage.FederatedIdentity{ConnectionID: c.ID, Subject: "sub-1", UserID: user.ID, CreatedAt: baseTime()}
	if err := s.LinkIdentity(ctx, fi); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "second link", s.LinkIdentity(ctx, fi), storage.ErrConflict)
	gotFI, err := s.FederatedIdentity(ctx, c.ID, "sub-1")
	if err != nil || gotFI.UserID != user.ID {
		t.Fatalf("identity: %v %v", gotFI, err)
	}
	_, err = s.FederatedIdentity(ctx, c.ID, "sub-2")
	wantErr(t, "unknown subject", err, storage.ErrNotFound)

	sess := &storage.BrowserSession{ID: newID(t), UserID: user.ID, AuthTime: baseTime(), CreatedAt: baseTime(),
		ExpiresAt: baseTime().Add(time.Hour), LastSeenAt: baseTime()}
	if err := s.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	fs := &storage.FederatedSession{SessionID: sess.ID, ConnectionID: c.ID, IDP: c.Issuer, EndSessionURL: "https://idp.example.com/logout"}
	if err := s.CreateFederatedSession(ctx, fs); err != nil {
		t.Fatal(err)
	}
	gotFS, err := s.FederatedSession(ctx, sess.ID)
	if err != nil || *gotFS != *fs {
		t.Fatalf("federated session: %v %v", gotFS, err)
	}
	// Ending the session drops its mark.
	if _, err := s.DeleteSession(ctx, sess.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.FederatedSession(ctx, sess.ID)
	wantErr(t, "mark of an ended session", err, storage.ErrNotFound)

	testSAMLConnection(ctx, t, s, org.ID)

	wantErr(t, "delete in another organization", s.DeleteConnection(ctx, "other-org", c.ID), storage.ErrNotFound)
	if err := s.DeleteConnection(ctx, org.ID, c.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.FederatedIdentity(ctx, c.ID, "sub-1")
	wantErr(t, "link of a deleted connection", err, storage.ErrNotFound)
	_, err = s.ConnectionByDomain(ctx, "c.example")
	wantErr(t, "domain of a deleted connection", err, storage.ErrNotFound)
}

// testSAMLConnection: a SAML connection keeps its metadata and its sealed
// service-provider key, has no client secret, and accepts each assertion
// once until it expires.
func testSAMLConnection(ctx context.Context, t *testing.T, s FederationStores, orgID string) {
	t.Helper()
	c := newConnection(t, orgID, "saml.example")
	c.Protocol, c.ClientID, c.ClientSecretSealed, c.Scopes = storage.ProtocolSAML, "", []byte{}, []string{}
	c.SAMLMetadataURL, c.SAMLMetadataXML = "https://idp.example.com/metadata", "<EntityDescriptor/>"
	c.SAMLSPKeySealed, c.SAMLSPCertificate = []byte{7, 0, 7}, "-----BEGIN CERTIFICATE-----"
	if err := s.CreateConnection(ctx, c); err != nil {
		t.Fatal(err)
	}
	got, err := s.ConnectionByDomain(ctx, "saml.example")
	if err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "saml connection", *got, *c, func(c *storage.FederationConnection) {
		normConnection(c)
		if len(c.ClientSecretSealed) == 0 { // no client secret, stored as an empty one
			c.ClientSecretSealed = nil
		}
	})
	c.SAMLMetadataURL, c.SAMLMetadataXML = "", "<md:EntityDescriptor/>"
	if err := s.UpdateConnection(ctx, c); err != nil {
		t.Fatal(err)
	}
	if got, err = s.ConnectionByID(ctx, c.ID); err != nil || got.SAMLMetadataXML != c.SAMLMetadataXML || got.SAMLMetadataURL != "" {
		t.Fatalf("updated saml connection: %+v %v", got, err)
	}

	now := baseTime()
	if err := s.ConsumeSAMLAssertion(ctx, c.ID, "id-1", now.Add(time.Minute), now); err != nil {
		t.Fatal(err)
	}
	wantErr(t, "replayed assertion", s.ConsumeSAMLAssertion(ctx, c.ID, "id-1", now.Add(time.Minute), now), storage.ErrConflict)
	// Once expired, the record is purged (the assertion itself is refused by
	// its own NotOnOrAfter by then).
	if err := s.ConsumeSAMLAssertion(ctx, c.ID, "id-1", now.Add(3*time.Minute), now.Add(2*time.Minute)); err != nil {
		t.Fatalf("after expiry: %v", err)
	}
	if err := s.DeleteConnection(ctx, orgID, c.ID); err != nil {
		t.Fatal(err)
	}
}
