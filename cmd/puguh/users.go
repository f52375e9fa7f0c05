package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/arsaka/puguh/cmd/puguh/app"
	"github.com/arsaka/puguh/provider/audit"
	"github.com/arsaka/puguh/provider/identity"
	"github.com/arsaka/puguh/storage"
)

var usersCommand = &command{
	name:    "users",
	summary: "switch accounts off and on, and delete them",
	about: `The operator's console side of POST /api/v1/iam/users/{id}/disable and /enable and DELETE /api/v1/iam/users/{id}:
the same account rules, without the REST API's authorization, since whoever runs it holds the database and the master
secret. USER is an email address or a user id.`,
	subs: []*command{
		{
			name:    "disable",
			summary: "disable a user: sign-in refused, their sessions and tokens ended",
			usage:   "USER",
			args:    []string{"USER"},
			setup: func(*flag.FlagSet) action {
				return func(ctx context.Context, in *invocation, args []string) error {
					return setDisabled(ctx, in, args[0], true)
				}
			},
		},
		{
			name:    "enable",
			summary: "enable a disabled user again",
			usage:   "USER",
			args:    []string{"USER"},
			setup: func(*flag.FlagSet) action {
				return func(ctx context.Context, in *invocation, args []string) error {
					return setDisabled(ctx, in, args[0], false)
				}
			},
		},
		{
			name:    "delete",
			summary: "delete a user and erase their personal data (docs/lifecycle.md)",
			usage:   "USER --yes",
			about: `Ends every session and token of the user, deletes the organizations only they belonged to, and erases
the account. Refused while the user is the last owner of an organization that has other members. --yes is
required: there is no undo.`,
			args: []string{"USER"},
			setup: func(fs *flag.FlagSet) action {
				yes := fs.Bool("yes", false, "confirm the deletion; without it nothing is deleted")
				return func(ctx context.Context, in *invocation, args []string) error {
					if !*yes {
						return usagef("deleting a user cannot be undone: add --yes")
					}
					return deleteUser(ctx, in, args[0])
				}
			},
		},
	},
}

// findUser opens the app and finds USER, an email or a user id.
func findUser(ctx context.Context, in *invocation, arg string) (*app.App, *storage.User, error) {
	cfg, log, err := in.config()
	if err != nil {
		return nil, nil, err
	}
	a, err := openApp(ctx, cfg, log)
	if err != nil {
		return nil, nil, err
	}
	key := strings.ToLower(strings.TrimSpace(arg))
	var u *storage.User
	if _, perr := uuid.Parse(key); perr == nil && len(key) == 36 {
		u, err = a.Store().UserByID(ctx, key)
	} else {
		u, err = a.Store().UserByEmail(ctx, key)
	}
	if errors.Is(err, storage.ErrNotFound) {
		err = fmt.Errorf("no user %s", key)
	}
	if err != nil {
		a.Close()
		return nil, nil, err
	}
	return a, u, nil
}

// setDisabled is `puguh users disable|enable USER`.
func setDisabled(ctx context.Context, in *invocation, arg string, disable bool) error {
	a, u, err := findUser(ctx, in, arg)
	if err != nil {
		return err
	}
	defer a.Close()
	u, err = a.Accounts().SetDisabled(ctx, audit.Ref{Type: audit.ActorOperator}, "", u.ID, disable)
	if errors.Is(err, identity.ErrUserNotFound) {
		return fmt.Errorf("no user %s", arg)
	}
	if err != nil {
		return err
	}
	if disable {
		fmt.Fprintf(in.stdout, "user %s (%s) disabled: sign-in refused, sessions and tokens ended\n", u.Email, u.ID)
	} else {
		fmt.Fprintf(in.stdout, "user %s (%s) enabled: they can sign in again\n", u.Email, u.ID)
	}
	return nil
}

// deleteUser is `puguh users delete USER --yes`.
func deleteUser(ctx context.Context, in *invocation, arg string) error {
	a, u, err := findUser(ctx, in, arg)
	if err != nil {
		return err
	}
	defer a.Close()
	err = a.Accounts().DeleteUser(ctx, audit.Ref{Type: audit.ActorOperator}, "", u.ID)
	var last *identity.LastOwnerError
	switch {
	case errors.As(err, &last):
		return fmt.Errorf("user %s is the last owner of the organization %q (%s), which has other members: make another member an owner first",
			u.Email, last.Organization.Name, last.Organization.ID)
	case errors.Is(err, identity.ErrUserNotFound):
		return fmt.Errorf("no user %s", arg)
	case err != nil:
		return err
	}
	fmt.Fprintf(in.stdout, "user %s (%s) deleted: sessions and tokens ended, personal data erased\n", u.Email, u.ID)
	return nil
}
