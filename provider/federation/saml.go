package federation

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"time"

	"github.com/crewjam/saml"
	"github.com/crewjam/saml/samlsp"

	"github.com/arsaka/puguh/provider/problem"
	"github.com/arsaka/puguh/storage"
)

// MaxMetadataXML bounds the identity provider metadata a SAML connection may
// hold (and Puguh reads from a metadata URL).
const MaxMetadataXML = 256 << 10

// spKeyLifetime is the validity of a connection's service-provider
// certificate. Identity providers use it as a container for the public key
// (SAML metadata interoperability profile); the key lives as long as the
// connection.
const spKeyLifetime = 20 * 365 * 24 * time.Hour

// SAMLMetadataPath is the path of a SAML connection's service-provider
// metadata on Puguh; its URL is also Puguh's entity ID for the connection.
func SAMLMetadataPath(id string) string { return "/federation/saml/" + id + "/metadata" }

// SAMLACSPath is the path of a SAML connection's assertion consumer service
// (HTTP-POST binding).
func SAMLACSPath(id string) string { return "/federation/saml/" + id + "/acs" }

// spKeyID binds a sealed service-provider key to its connection, apart from
// the connection's client secret (the same Sealer, another name).
func spKeyID(connectionID string) string { return connectionID + "/saml-sp-key" }

// applySAML validates the SAML fields: the identity provider's metadata,
// from a URL or as XML (exactly one), and none of the OpenID Connect ones.
func applySAML(v *problem.Validator, c *storage.FederationConnection, in Input, create bool) {
	notFor(v, storage.ProtocolSAML, map[string]bool{"issuer": in.Issuer != nil, "client_id": in.ClientID != nil,
		"client_secret": in.ClientSecret != nil, "scopes": in.Scopes != nil})
	switch {
	case in.MetadataURL != nil && in.MetadataXML != nil:
		v.Add("send metadata_url or metadata_xml, not both", "value_error", "metadata_xml")
		return
	case in.MetadataURL == nil && in.MetadataXML == nil:
		if create {
			v.Add("metadata_url or metadata_xml is required", "value_error.missing", "metadata_url")
		}
		return
	case in.MetadataURL != nil:
		u, ok := checkIssuer(*in.MetadataURL)
		if !ok {
			v.Add("must be an https URL without query or fragment (http only on localhost)", "value_error.url", "metadata_url")
			return
		}
		// The entity ID is read from the metadata at each sign-in.
		c.SAMLMetadataURL, c.SAMLMetadataXML, c.Issuer = u, "", ""
	default:
		entityID, msg := checkIdPMetadata([]byte(*in.MetadataXML))
		if msg != "" {
			v.Add(msg, "value_error.metadata", "metadata_xml")
			return
		}
		c.SAMLMetadataURL, c.SAMLMetadataXML, c.Issuer = "", *in.MetadataXML, entityID
	}
}

// ParseIdPMetadata reads identity provider metadata (an EntityDescriptor, or
// an EntitiesDescriptor holding one identity provider) and checks that Puguh
// can sign in through it: single sign-on with the HTTP-Redirect binding, and
// a signing certificate, since every assertion must be signed.
func ParseIdPMetadata(data []byte) (*saml.EntityDescriptor, error) {
	if len(data) > MaxMetadataXML {
		return nil, fmt.Errorf("ensure this value has at most %d bytes", MaxMetadataXML)
	}
	md, err := samlsp.ParseMetadata(data)
	if err != nil {
		return nil, fmt.Errorf("not valid SAML metadata: %w", err)
	}
	if md.EntityID == "" || len(md.IDPSSODescriptors) == 0 {
		return nil, fmt.Errorf("not identity provider metadata (no IDPSSODescriptor)")
	}
	redirect, signing := false, false
	for _, d := range md.IDPSSODescriptors {
		for _, sso := range d.SingleSignOnServices {
			redirect = redirect || (sso.Binding == saml.HTTPRedirectBinding && sso.Location != "")
		}
		for _, k := range d.KeyDescriptors {
			if (k.Use == "" || k.Use == "signing") && len(k.KeyInfo.X509Data.X509Certificates) > 0 {
				signing = true
			}
		}
	}
	if !redirect {
		return nil, fmt.Errorf("the identity provider offers no SingleSignOnService with the HTTP-Redirect binding")
	}
	if !signing {
		return nil, fmt.Errorf("the identity provider publishes no signing certificate")
	}
	return md, nil
}

// checkIdPMetadata is ParseIdPMetadata for validation: the entity ID, or
// the words of the problem.
func checkIdPMetadata(data []byte) (entityID, msg string) {
	md, err := ParseIdPMetadata(data)
	if err != nil {
		return "", err.Error()
	}
	return md.EntityID, ""
}

// newSPKey gives a new SAML connection its service-provider key pair: RSA
// 2048 with a self-signed certificate, the private key sealed like a client
// secret.
func (s *Service) newSPKey(c *storage.FederationConnection) error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return fmt.Errorf("federation: sp key: %w", err)
	}
	now := s.now()
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: "Puguh SAML service provider " + c.ID},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(spKeyLifetime),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return fmt.Errorf("federation: sp certificate: %w", err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("federation: sp key: %w", err)
	}
	sealed, err := s.Secrets.Seal(spKeyID(c.ID), pkcs8)
	if err != nil {
		return fmt.Errorf("federation: seal sp key: %w", err)
	}
	c.SAMLSPKeySealed = sealed
	c.SAMLSPCertificate = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	return nil
}

// SPKeyPair is a SAML connection's service-provider key, opened, and its
// certificate.
type SPKeyPair struct {
	Key         *rsa.PrivateKey
	Certificate *x509.Certificate
}

// SPKey opens a SAML connection's service-provider key.
func (s *Service) SPKey(c *storage.FederationConnection) (*SPKeyPair, error) {
	block, _ := pem.Decode([]byte(c.SAMLSPCertificate))
	if block == nil {
		return nil, fmt.Errorf("federation: sp certificate of %s: no PEM", c.ID)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("federation: sp certificate of %s: %w", c.ID, err)
	}
	pkcs8, err := s.Secrets.Open(spKeyID(c.ID), c.SAMLSPKeySealed)
	if err != nil {
		return nil, fmt.Errorf("federation: open sp key of %s: %w", c.ID, err)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(pkcs8)
	if err != nil {
		return nil, fmt.Errorf("federation: sp key of %s: %w", c.ID, err)
	}
	key, ok := parsed.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("federation: sp key of %s is not RSA", c.ID)
	}
	return &SPKeyPair{Key: key, Certificate: cert}, nil
}

// FromAssertion reads an upstream identity out of a verified SAML
// assertion through the connection's mapping: the subject is the NameID (a
// transient one names nobody across sign-ins, so it counts as none); each
// claim name matches an attribute's Name or FriendlyName. The email is the
// email attribute, or else an emailAddress NameID. A SAML assertion has no
// email_verified: the address the organization's provider signed counts as
// confirmed (docs/federation.md, "SAML 2.0").
func FromAssertion(c *Connection, a *saml.Assertion) Upstream {
	up := Upstream{EmailVerified: true}
	if a.Subject != nil && a.Subject.NameID != nil && a.Subject.NameID.Format != string(saml.TransientNameIDFormat) {
		up.Subject = a.Subject.NameID.Value
	}
	values := func(name string) []string {
		var out []string
		for _, st := range a.AttributeStatements {
			for _, attr := range st.Attributes {
				if attr.Name == name || (attr.FriendlyName != "" && attr.FriendlyName == name) {
					for _, v := range attr.Values {
						out = append(out, v.Value)
					}
				}
			}
		}
		return out
	}
	first := func(name string) string {
		if v := values(name); len(v) > 0 {
			return v[0]
		}
		return ""
	}
	up.Email, up.Name, up.Groups = first(c.EmailClaim), first(c.NameClaim), values(c.GroupsClaim)
	if up.Email == "" && a.Subject != nil && a.Subject.NameID != nil && a.Subject.NameID.Format == string(saml.EmailAddressNameIDFormat) {
		up.Email = a.Subject.NameID.Value
	}
	return up
}
