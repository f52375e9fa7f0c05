package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/arsaka/puguh/storage"
)

var _ storage.FederationStore = (*Store)(nil)

const connectionColumns = `id, organization_id, name, protocol, issuer, client_id, client_secret_sealed, scopes,
	email_claim, name_claim, groups_claim, role_mapping, default_role, created_at, updated_at,
	saml_metadata_url, saml_metadata_xml, saml_sp_key_sealed, saml_sp_certificate`

// connectionRow is a connection as its table holds it: scopes as a JSON list.
type connectionRow struct {
	storage.FederationConnection
	Scopes string `db:"scopes"`
}

// CreateConnection stores c and its domains in one transaction.
func (s *Store) CreateConnection(ctx context.Context, c *storage.FederationConnection) error {
	stamp(time.Now(), &c.CreatedAt, &c.UpdatedAt)
	scopes, err := encodeList(c.Scopes)
	if err != nil {
		return fmt.Errorf("create connection: %w", err)
	}
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO federation_connections (`+connectionColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			c.ID, c.OrganizationID, c.Name, c.Protocol, c.Issuer, c.ClientID, nonNil(c.ClientSecretSealed), scopes,
			c.EmailClaim, c.NameClaim, c.GroupsClaim, c.RoleMapping, c.DefaultRole, utc(c.CreatedAt), utc(c.UpdatedAt),
			c.SAMLMetadataURL, c.SAMLMetadataXML, c.SAMLSPKeySealed, c.SAMLSPCertificate); err != nil {
			return mapError(err)
		}
		return s.insertDomains(ctx, tx, c)
	})
	if err != nil {
		return fmt.Errorf("create connection: %w", err)
	}
	return nil
}

func (s *Store) insertDomains(ctx context.Context, tx *sqlx.Tx, c *storage.FederationConnection) error {
	for _, d := range c.Domains {
		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO federation_domains (domain, connection_id) VALUES (?, ?)`), d, c.ID); err != nil {
			return mapError(err)
		}
	}
	return nil
}

// UpdateConnection rewrites c and replaces its domains in one transaction.
func (s *Store) UpdateConnection(ctx context.Context, c *storage.FederationConnection) error {
	stamp(time.Now(), &c.UpdatedAt)
	scopes, err := encodeList(c.Scopes)
	if err != nil {
		return fmt.Errorf("update connection: %w", err)
	}
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		res, err := tx.ExecContext(ctx, s.rebind(`UPDATE federation_connections SET name = ?, issuer = ?, client_id = ?,
			client_secret_sealed = ?, scopes = ?, email_claim = ?, name_claim = ?, groups_claim = ?, role_mapping = ?,
			default_role = ?, updated_at = ?, saml_metadata_url = ?, saml_metadata_xml = ?, saml_sp_key_sealed = ?,
			saml_sp_certificate = ? WHERE organization_id = ? AND id = ?`),
			c.Name, c.Issuer, c.ClientID, nonNil(c.ClientSecretSealed), scopes, c.EmailClaim, c.NameClaim, c.GroupsClaim,
			c.RoleMapping, c.DefaultRole, utc(c.UpdatedAt), c.SAMLMetadataURL, c.SAMLMetadataXML, c.SAMLSPKeySealed,
			c.SAMLSPCertificate, c.OrganizationID, c.ID)
		if err != nil {
			return mapError(err)
		}
		if err := oneRow(res); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM federation_domains WHERE connection_id = ?`), c.ID); err != nil {
			return mapError(err)
		}
		return s.insertDomains(ctx, tx, c)
	})
	if err != nil {
		return fmt.Errorf("update connection: %w", err)
	}
	return nil
}

// ConnectionByID finds a connection whatever its organization.
func (s *Store) ConnectionByID(ctx context.Context, id string) (*storage.FederationConnection, error) {
	return s.connection(ctx, `SELECT `+connectionColumns+` FROM federation_connections WHERE id = ?`, id)
}

// ConnectionByDomain finds the connection of a (lower-case) domain.
func (s *Store) ConnectionByDomain(ctx context.Context, domain string) (*storage.FederationConnection, error) {
	return s.connection(ctx, `SELECT `+connectionColumns+` FROM federation_connections
		WHERE id = (SELECT connection_id FROM federation_domains WHERE domain = ?)`, domain)
}

func (s *Store) connection(ctx context.Context, query string, arg string) (*storage.FederationConnection, error) {
	var row connectionRow
	if err := s.db.GetContext(ctx, &row, s.rebind(query), arg); err != nil {
		return nil, fmt.Errorf("connection: %w", mapError(err))
	}
	c, err := s.decodeConnection(ctx, &row)
	if err != nil {
		return nil, fmt.Errorf("connection: %w", err)
	}
	return c, nil
}

func (s *Store) decodeConnection(ctx context.Context, row *connectionRow) (*storage.FederationConnection, error) {
	c := row.FederationConnection
	var err error
	if c.Scopes, err = decodeList(row.Scopes); err != nil {
		return nil, err
	}
	c.Domains = []string{}
	if err := s.db.SelectContext(ctx, &c.Domains, s.rebind(`SELECT domain FROM federation_domains
		WHERE connection_id = ? ORDER BY domain`), c.ID); err != nil {
		return nil, mapError(err)
	}
	return &c, nil
}

// ListConnections lists the organization's connections, oldest first.
func (s *Store) ListConnections(ctx context.Context, orgID string) ([]storage.FederationConnection, error) {
	var rows []connectionRow
	if err := s.db.SelectContext(ctx, &rows, s.rebind(`SELECT `+connectionColumns+` FROM federation_connections
		WHERE organization_id = ? ORDER BY created_at, id`), orgID); err != nil {
		return nil, fmt.Errorf("list connections: %w", mapError(err))
	}
	out := make([]storage.FederationConnection, 0, len(rows))
	for i := range rows {
		c, err := s.decodeConnection(ctx, &rows[i])
		if err != nil {
			return nil, fmt.Errorf("list connections: %w", err)
		}
		out = append(out, *c)
	}
	return out, nil
}

// DeleteConnection deletes a connection with its domains and links.
func (s *Store) DeleteConnection(ctx context.Context, orgID, id string) error {
	res, err := s.db.ExecContext(ctx, s.rebind(`DELETE FROM federation_connections WHERE organization_id = ? AND id = ?`), orgID, id)
	if err != nil {
		return fmt.Errorf("delete connection: %w", mapError(err))
	}
	if err := oneRow(res); err != nil {
		return fmt.Errorf("delete connection: %w", err)
	}
	return nil
}

// FederatedIdentity finds the link of an upstream subject.
func (s *Store) FederatedIdentity(ctx context.Context, connectionID, subject string) (*storage.FederatedIdentity, error) {
	var fi storage.FederatedIdentity
	if err := s.db.GetContext(ctx, &fi, s.rebind(`SELECT connection_id, subject, user_id, created_at
		FROM federation_identities WHERE connection_id = ? AND subject = ?`), connectionID, subject); err != nil {
		return nil, fmt.Errorf("federated identity: %w", mapError(err))
	}
	return &fi, nil
}

// LinkIdentity stores a link.
func (s *Store) LinkIdentity(ctx context.Context, fi *storage.FederatedIdentity) error {
	stamp(time.Now(), &fi.CreatedAt)
	if _, err := s.db.ExecContext(ctx, s.rebind(`INSERT INTO federation_identities (connection_id, subject, user_id, created_at)
		VALUES (?, ?, ?, ?)`), fi.ConnectionID, fi.Subject, fi.UserID, utc(fi.CreatedAt)); err != nil {
		return fmt.Errorf("link identity: %w", mapError(err))
	}
	return nil
}

// CreateFederatedSession marks a session as begun upstream.
func (s *Store) CreateFederatedSession(ctx context.Context, fs *storage.FederatedSession) error {
	if _, err := s.db.ExecContext(ctx, s.rebind(`INSERT INTO federation_sessions (session_id, connection_id, idp, end_session_url)
		VALUES (?, ?, ?, ?)`), fs.SessionID, fs.ConnectionID, storableText(fs.IDP), storableText(fs.EndSessionURL)); err != nil {
		return fmt.Errorf("create federated session: %w", mapError(err))
	}
	return nil
}

// FederatedSession returns the mark of a session, or ErrNotFound.
func (s *Store) FederatedSession(ctx context.Context, sessionID string) (*storage.FederatedSession, error) {
	var fs storage.FederatedSession
	if err := s.db.GetContext(ctx, &fs, s.rebind(`SELECT session_id, connection_id, idp, end_session_url
		FROM federation_sessions WHERE session_id = ?`), sessionID); err != nil {
		return nil, fmt.Errorf("federated session: %w", mapError(err))
	}
	return &fs, nil
}

// ConsumeSAMLAssertion records an accepted assertion; ErrConflict if the
// connection accepted it before (its primary key).
func (s *Store) ConsumeSAMLAssertion(ctx context.Context, connectionID, assertionID string, expiresAt, now time.Time) error {
	if _, err := s.db.ExecContext(ctx, s.rebind(`DELETE FROM federation_saml_assertions WHERE expires_at < ?`), utc(now)); err != nil {
		return fmt.Errorf("consume saml assertion: purge: %w", mapError(err))
	}
	if _, err := s.db.ExecContext(ctx, s.rebind(`INSERT INTO federation_saml_assertions (connection_id, assertion_id, expires_at)
		VALUES (?, ?, ?)`), connectionID, assertionID, utc(expiresAt)); err != nil {
		return fmt.Errorf("consume saml assertion: %w", mapError(err))
	}
	return nil
}

// nonNil stores an absent secret as an empty one (the column is NOT NULL):
// a SAML connection has no client secret.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}
