package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/arsaka/puguh/provider/authz"
	"github.com/arsaka/puguh/provider/federation"
	"github.com/arsaka/puguh/storage"
)

// The operator's side of /api/v1/organizations/{id}/connections
// (docs/federation.md): the same rules, acting as an owner of the organization.

var connectCommand = &command{
	name:    "connect",
	summary: "connect an organization's own OpenID Connect or SAML 2.0 identity provider for its email domains",
	usage:   "ORG_ID --name NAME (--issuer URL --client-id ID --client-secret-file FILE | --saml-metadata-url URL | --saml-metadata-file FILE) --domains DOMAIN[,DOMAIN…] [--scopes S,S] [--default-role ROLE] [--map GROUP=ROLE,…] [--email-claim C] [--name-claim C] [--groups-claim C]",
	about: `The operator's side of POST /api/v1/organizations/{id}/connections, with an owner's rights. The client
secret is read from a file (or - for standard input), never from the command line, and stored encrypted with
PUGUH_SECRET. The output names the redirect URI to register at the identity provider (docs/federation.md).
A SAML 2.0 connection takes the identity provider's metadata from a URL (--saml-metadata-url) or a file
(--saml-metadata-file, - for standard input) instead of an issuer and client; the claim flags then name
attributes, and the output names Puguh's service-provider metadata URL and assertion consumer service.`,
	args: []string{"ORG_ID"},
	setup: func(fs *flag.FlagSet) action {
		name := fs.String("name", "", "the connection's `NAME`")
		issuer := fs.String("issuer", "", "the provider's issuer `URL` (https; http only on localhost)")
		clientID := fs.String("client-id", "", "Puguh's client `ID` at the provider")
		secretFile := fs.String("client-secret-file", "", "a `FILE` holding the client secret (- reads standard input)")
		domains := fs.String("domains", "", "the email `DOMAINS` that sign in there, comma-separated")
		scopes := fs.String("scopes", "", "`SCOPES` to ask for, comma-separated (default openid,email,profile)")
		defaultRole := fs.String("default-role", "", "the `ROLE` of people no mapped group names (default member)")
		mapping := fs.String("map", "", "`GROUP=ROLE` pairs, comma-separated")
		groupsClaim := fs.String("groups-claim", "", "the ID-token `CLAIM` (SAML: attribute) holding groups (default groups)")
		emailClaim := fs.String("email-claim", "", "the ID-token `CLAIM` (SAML: attribute) holding the email (default email)")
		nameClaim := fs.String("name-claim", "", "the ID-token `CLAIM` (SAML: attribute) holding the name (default name)")
		metadataURL := fs.String("saml-metadata-url", "", "SAML: the identity provider's metadata `URL`")
		metadataFile := fs.String("saml-metadata-file", "", "SAML: a `FILE` holding the identity provider's metadata (- reads standard input)")
		return func(ctx context.Context, in *invocation, args []string) error {
			input := federation.Input{Name: name, Domains: ref(splitList(*domains))}
			switch {
			case *metadataURL != "" && *metadataFile != "":
				return fmt.Errorf("--saml-metadata-url and --saml-metadata-file: give one")
			case *metadataURL != "":
				input.Protocol, input.MetadataURL = ref(storage.ProtocolSAML), metadataURL
			case *metadataFile != "":
				xml, err := readInput(in, *metadataFile, federation.MaxMetadataXML+1, "the SAML metadata")
				if err != nil {
					return err
				}
				input.Protocol, input.MetadataXML = ref(storage.ProtocolSAML), &xml
			default:
				secret, err := readSecret(in, *secretFile)
				if err != nil {
					return err
				}
				input.Issuer, input.ClientID, input.ClientSecret = issuer, clientID, &secret
			}
			if *emailClaim != "" {
				input.EmailClaim = emailClaim
			}
			if *nameClaim != "" {
				input.NameClaim = nameClaim
			}
			if *scopes != "" {
				input.Scopes = ref(splitList(*scopes))
			}
			if *defaultRole != "" {
				input.DefaultRole = defaultRole
			}
			if *groupsClaim != "" {
				input.GroupsClaim = groupsClaim
			}
			if *mapping != "" {
				m := map[string]string{}
				for _, pair := range splitList(*mapping) {
					g, r, ok := strings.Cut(pair, "=")
					if !ok {
						return fmt.Errorf("--map: %q is not GROUP=ROLE", pair)
					}
					m[g] = r
				}
				input.RoleMapping = &m
			}
			orgID := strings.ToLower(args[0])
			return withFederation(ctx, in, orgID, func(svc *federation.Service) error {
				c, err := svc.Create(ctx, operatorIn(orgID), orgID, input)
				if err != nil {
					return err
				}
				cfg, _, _ := in.config()
				base := strings.TrimSuffix(cfg.Issuer, "/")
				if c.Protocol == storage.ProtocolSAML {
					fmt.Fprintf(in.stdout, "connection %s: SAML for %s\ngive the identity provider Puguh's metadata: %s%s\n(entity ID the same URL, assertion consumer service %s%s)\n",
						c.ID, strings.Join(c.Domains, ", "), base, federation.SAMLMetadataPath(c.ID), base, federation.SAMLACSPath(c.ID))
					return nil
				}
				fmt.Fprintf(in.stdout, "connection %s: %s for %s\nregister this redirect URI at the provider: %s%s\n",
					c.ID, c.Issuer, strings.Join(c.Domains, ", "), base, federation.CallbackPath(c.ID))
				return nil
			})
		}
	},
}

var connectionsCommand = &command{
	name:    "connections",
	summary: "list an organization's identity-provider connections",
	usage:   "ORG_ID",
	about:   `One line per connection: id, protocol, issuer (SAML: entity ID or metadata URL), domains, default role. Client secrets and keys are never shown.`,
	args:    []string{"ORG_ID"},
	setup: func(fs *flag.FlagSet) action {
		return func(ctx context.Context, in *invocation, args []string) error {
			orgID := strings.ToLower(args[0])
			return withFederation(ctx, in, orgID, func(svc *federation.Service) error {
				list, err := svc.List(ctx, operatorIn(orgID), orgID)
				if err != nil {
					return err
				}
				for _, c := range list {
					upstream := c.Issuer
					if c.Protocol == storage.ProtocolSAML && c.SAMLMetadataURL != "" {
						upstream = c.SAMLMetadataURL
					}
					fmt.Fprintf(in.stdout, "%s\t%s\t%s\t%s\t%s\n", c.ID, c.Protocol, upstream, strings.Join(c.Domains, ","), c.DefaultRole)
				}
				return nil
			})
		}
	},
}

var disconnectCommand = &command{
	name:    "disconnect",
	summary: "delete an identity-provider connection; its domains sign in with passwords again",
	usage:   "ORG_ID CONNECTION_ID",
	about:   `The operator's side of DELETE /api/v1/organizations/{id}/connections/{connection_id}. Accounts stay.`,
	args:    []string{"ORG_ID", "CONNECTION_ID"},
	setup: func(fs *flag.FlagSet) action {
		return func(ctx context.Context, in *invocation, args []string) error {
			orgID := strings.ToLower(args[0])
			return withFederation(ctx, in, orgID, func(svc *federation.Service) error {
				if err := svc.Delete(ctx, operatorIn(orgID), orgID, strings.ToLower(args[1])); err != nil {
					return err
				}
				fmt.Fprintf(in.stdout, "connection %s deleted\n", strings.ToLower(args[1]))
				return nil
			})
		}
	},
}

// operatorIn is the operator acting as an owner of orgID.
func operatorIn(orgID string) *authz.Principal {
	return &authz.Principal{Type: authz.TypeUser, ID: "operator", OrganizationID: orgID, Role: authz.Owner, Permissions: authz.ForRole(authz.Owner)}
}

// withFederation opens the app and runs fn on its federation rules for an
// organization that exists.
func withFederation(ctx context.Context, in *invocation, orgID string, fn func(*federation.Service) error) error {
	cfg, log, err := in.config()
	if err != nil {
		return err
	}
	a, err := openApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	if _, err := a.Store().OrganizationByID(ctx, orgID); errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("no organization %s", orgID)
	} else if err != nil {
		return err
	}
	return fn(a.Federation())
}

func readSecret(in *invocation, file string) (string, error) {
	if file == "" {
		return "", fmt.Errorf("--client-secret-file is required")
	}
	return readInput(in, file, 4096, "the client secret")
}

// readInput reads at most limit bytes of file, or of standard input for -.
func readInput(in *invocation, file string, limit int64, what string) (string, error) {
	var b []byte
	var err error
	if file == "-" {
		b, err = io.ReadAll(io.LimitReader(in.stdin, limit))
	} else {
		var f *os.File
		if f, err = os.Open(file); err == nil {
			b, err = io.ReadAll(io.LimitReader(f, limit))
			f.Close()
		}
	}
	if err != nil {
		return "", fmt.Errorf("read %s: %w", what, err)
	}
	return strings.TrimSpace(string(b)), nil
}

func splitList(s string) []string {
	out := []string{}
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func ref[T any](v T) *T { return &v }
