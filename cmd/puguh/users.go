package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/arsaka/puguh/provider/audit"
	"github.com/arsaka/puguh/provider/identity"
	"github.com/arsaka/puguh/storage"
)

var usersCommand = &command{
	name:    "users",
	summary: "switch accounts off and on",
	about: `The operator's console side of POST /api/v1/iam/users/{id}/disable and /enable: the same account rules,
without the REST API's authorization, since whoever runs it holds the database and the master secret.`,
	subs: []*command{
		{
			name:    "disable",
			summary: "disable a user by email: sign-in refused, their sessions and tokens ended",
			usage:   "EMAIL",
			args:    []string{"EMAIL"},
			setup: func(*flag.FlagSet) action {
				return func(ctx context.Context, in *invocation, args []string) error {
					return setDisabled(ctx, in, args[0], true)
				}
			},
		},
		{
			name:    "enable",
			summary: "enable a disabled user again",
			usage:   "EMAIL",
			args:    []string{"EMAIL"},
			setup: func(*flag.FlagSet) action {
				return func(ctx context.Context, in *invocation, args []string) error {
					return setDisabled(ctx, in, args[0], false)
				}
			},
		},
	},
}

// setDisabled is `puguh users disable|enable EMAIL`.
func setDisabled(ctx context.Context, in *invocation, emailArg string, disable bool) error {
	email := strings.ToLower(strings.TrimSpace(emailArg))
	cfg, log, err := in.config()
	if err != nil {
		return err
	}
	a, err := openApp(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	u, err := a.Store().UserByEmail(ctx, email)
	if errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("no user %s", email)
	}
	if err != nil {
		return err
	}
	u, err = a.Accounts().SetDisabled(ctx, audit.Ref{Type: audit.ActorOperator}, "", u.ID, disable)
	if errors.Is(err, identity.ErrUserNotFound) {
		return fmt.Errorf("no user %s", email)
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
