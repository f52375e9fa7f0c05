package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/arsaka/puguh/provider/clients"
	"github.com/arsaka/puguh/provider/problem"
	"github.com/arsaka/puguh/storage"
	"github.com/arsaka/puguh/storage/cached"
)

// listFlag is a repeatable flag; each value may also hold several items
// separated by spaces or commas ("--scope 'openid profile'").
type listFlag struct {
	values []string
	set    bool
}

func (l *listFlag) String() string { return strings.Join(l.values, " ") }

func (l *listFlag) Set(v string) error {
	l.set = true
	l.values = append(l.values, strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == ',' })...)
	return nil
}

func (l *listFlag) ptr() *[]string {
	if !l.set {
		return nil
	}
	return &l.values
}

var clientsCommand = &command{
	name:    "clients",
	summary: "register and list OAuth applications",
	about: `To bootstrap an organization's first client without the REST API. Validation is the same as
POST /api/v1/applications (docs/api-keys.md).`,
	subs: []*command{
		{
			name:    "create",
			summary: "register an OAuth application; prints its client secret once",
			usage:   "--org ORG_ID --name NAME [--redirect-uri URI]... [--grant-type TYPE]... [--scope SCOPE]... [--public] [--auth-method METHOD] [--trusted]",
			about: `Repeatable flags also take several values separated by spaces or commas (--scope 'openid profile').
Unset lists take the REST API's defaults. A confidential client's secret is printed once and stored only
as a hash. --auth-method is the token_endpoint_auth_method the client declares: client_secret_basic (the
default), client_secret_post, or none (a public client, as --public). A confidential client may authenticate
with its secret either way whatever it declares (docs/api-keys.md).`,
			setup: func(fs *flag.FlagSet) action {
				org := fs.String("org", "", "the `ORG_ID` of the organization that owns the application (required)")
				name := fs.String("name", "", "the application's `NAME` (required)")
				var redirects, grants, scopes listFlag
				fs.Var(&redirects, "redirect-uri", "a redirect `URI` (repeatable): https, or http on loopback")
				fs.Var(&grants, "grant-type", "a grant `TYPE` (repeatable): authorization_code, refresh_token, client_credentials")
				fs.Var(&scopes, "scope", "a `SCOPE` the application may request (repeatable)")
				public := fs.Bool("public", false, "a public client: no secret, PKCE required")
				method := fs.String("auth-method", "", "the token endpoint auth `METHOD` the client declares: client_secret_basic, client_secret_post or none")
				trusted := fs.Bool("trusted", false, "a first-party client: skips the consent page")
				return func(ctx context.Context, in *invocation, _ []string) error {
					if *org == "" {
						return usagef("missing --org")
					}
					f := clients.ApplicationFields{Name: name, RedirectURIs: redirects.ptr(), GrantTypes: grants.ptr(), Scopes: scopes.ptr(),
						Public: public, Trusted: trusted}
					given := map[string]bool{}
					fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
					if given["auth-method"] {
						// The method alone decides whether the client is public, unless
						// --public is given too and must then agree with it.
						f.TokenEndpointAuthMethod = method
						if !given["public"] {
							f.Public = nil
						}
					}
					return withOrganization(ctx, in, *org, func(store *cached.Store, orgID string) error {
						return createClient(ctx, store, orgID, f, in.stdout)
					})
				}
			},
		},
		{
			name:    "list",
			summary: "list an organization's OAuth applications (never their secrets)",
			usage:   "--org ORG_ID",
			setup: func(fs *flag.FlagSet) action {
				org := fs.String("org", "", "the `ORG_ID` of the organization (required)")
				return func(ctx context.Context, in *invocation, _ []string) error {
					if *org == "" {
						return usagef("missing --org")
					}
					return withOrganization(ctx, in, *org, func(store *cached.Store, orgID string) error {
						return listClients(ctx, store, orgID, in.stdout)
					})
				}
			},
		},
	},
}

// withOrganization runs fn with the store once the organization is known to exist.
func withOrganization(ctx context.Context, in *invocation, org string, fn func(store *cached.Store, orgID string) error) error {
	cfg, log, err := in.config()
	if err != nil {
		return err
	}
	a, err := openApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	store := a.Store()
	orgID := strings.ToLower(org)
	if _, err := store.OrganizationByID(ctx, orgID); errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("no organization %s", orgID)
	} else if err != nil {
		return err
	}
	return fn(store, orgID)
}

func createClient(ctx context.Context, store *cached.Store, orgID string, f clients.ApplicationFields, stdout io.Writer) error {
	app, secret, err := clients.NewApplication(orgID, f, time.Now())
	if err != nil {
		return validationError(err)
	}
	if err := store.CreateApplication(ctx, app); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "client_id:     %s\n", app.ID)
	if secret != "" {
		fmt.Fprintf(stdout, "client_secret: %s\n", secret)
		fmt.Fprintln(stdout, "The secret is shown only this once and stored only as a hash: keep it now.")
	} else {
		fmt.Fprintln(stdout, "public client: no secret; it must use PKCE (S256)")
	}
	return nil
}

func listClients(ctx context.Context, store *cached.Store, orgID string, stdout io.Writer) error {
	apps, err := store.ListApplications(ctx, orgID)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CLIENT ID\tNAME\tTYPE\tAUTH METHOD\tTRUSTED\tGRANT TYPES\tREDIRECT URIS")
	for _, app := range apps {
		kind := "confidential"
		if app.Public {
			kind = "public"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%t\t%s\t%s\n", app.ID, app.Name, kind, app.TokenEndpointAuthMethod, app.Trusted,
			strings.Join(app.GrantTypes, ","), strings.Join(app.RedirectURIs, " "))
	}
	return tw.Flush()
}

// validationError turns the application rules' Invalid problem into one line
// per issue, naming the field as the flag that sets it.
func validationError(err error) error {
	p := problem.As(err)
	if p == nil || p.Kind != problem.Invalid {
		return err
	}
	flags := map[string]string{"name": "--name", "redirect_uris": "--redirect-uri", "grant_types": "--grant-type",
		"scopes": "--scope", "public": "--public", "token_endpoint_auth_method": "--auth-method", "response_types": "--grant-type"}
	lines := make([]string, 0, len(p.Issues))
	for _, is := range p.Issues {
		where := "request"
		if len(is.Loc) > 0 {
			field := fmt.Sprint(is.Loc[0])
			where = flags[field]
			if where == "" {
				where = field
			}
			if i, isIndex := is.Loc[len(is.Loc)-1].(int); len(is.Loc) > 1 && isIndex {
				where += fmt.Sprintf(" #%d", i+1)
			}
		}
		lines = append(lines, where+": "+is.Msg)
	}
	return errors.New("invalid application:\n  " + strings.Join(lines, "\n  "))
}
