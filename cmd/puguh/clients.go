package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/arsaka/puguh/cmd/puguh/config"
	"github.com/arsaka/puguh/provider/clients"
	"github.com/arsaka/puguh/provider/problem"
	"github.com/arsaka/puguh/storage"
	"github.com/arsaka/puguh/storage/cached"
)

func init() { extraCommands["clients"] = clientsCommand }

const clientsUsage = `usage:
  puguh clients create --org ORG_ID --name NAME [--redirect-uri URI]... [--grant-type TYPE]...
                       [--scope SCOPE]... [--public] [--auth-method METHOD] [--trusted]
  puguh clients list --org ORG_ID

--auth-method is the token_endpoint_auth_method the client declares:
client_secret_basic (the default), client_secret_post, or none (a public
client, as --public). A confidential client may authenticate with its
secret either way whatever it declares (docs/api-keys.md).`

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

// clientsCommand is `puguh clients create|list`: OAuth applications managed
// from the command line, to bootstrap an organization's first client without
// the REST API. It validates exactly as POST /api/v1/applications does.
func clientsCommand(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string, stdout io.Writer) error {
	if len(args) == 0 || (args[0] != "create" && args[0] != "list") {
		return errors.New(clientsUsage)
	}
	fs := flag.NewFlagSet("clients "+args[0], flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	org := fs.String("org", "", "organization id")
	name := fs.String("name", "", "application name")
	var redirects, grants, scopes listFlag
	fs.Var(&redirects, "redirect-uri", "redirect URI (repeatable)")
	fs.Var(&grants, "grant-type", "grant type (repeatable)")
	fs.Var(&scopes, "scope", "scope (repeatable)")
	public := fs.Bool("public", false, "public client (no secret, PKCE)")
	method := fs.String("auth-method", "", "token_endpoint_auth_method: client_secret_basic, client_secret_post or none")
	trusted := fs.Bool("trusted", false, "first-party client: skips consent")
	if err := fs.Parse(args[1:]); err != nil || fs.NArg() > 0 || *org == "" {
		return errors.New(clientsUsage)
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	if args[0] == "list" && (*name != "" || redirects.set || grants.set || scopes.set || given["public"] || given["auth-method"] || *trusted) {
		return errors.New(clientsUsage)
	}
	a, err := openApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	store := a.Store()
	orgID := strings.ToLower(*org)
	if _, err := store.OrganizationByID(ctx, orgID); errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("no organization %s", orgID)
	} else if err != nil {
		return err
	}
	if args[0] == "list" {
		return listClients(ctx, store, orgID, stdout)
	}
	f := clients.ApplicationFields{Name: name, RedirectURIs: redirects.ptr(), GrantTypes: grants.ptr(), Scopes: scopes.ptr(),
		Public: public, Trusted: trusted}
	if given["auth-method"] {
		// The method alone decides whether the client is public, unless
		// --public is given too and must then agree with it.
		f.TokenEndpointAuthMethod = method
		if !given["public"] {
			f.Public = nil
		}
	}
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
