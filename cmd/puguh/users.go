package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/arsaka/puguh/cmd/puguh/config"
	"github.com/arsaka/puguh/provider/identity"
	"github.com/arsaka/puguh/storage"
)

func init() { extraCommands["users"] = usersCommand }

const usersUsage = "usage: puguh users disable|enable EMAIL"

// usersCommand is `puguh users disable|enable EMAIL`, the operator's console
// side of POST /api/v1/iam/users/{id}/disable and /enable: the same account
// rules (identity.Service), without the REST API's authorization, since
// whoever runs it holds the database and the master secret already.
func usersCommand(ctx context.Context, cfg *config.Config, log *slog.Logger, args []string, stdout io.Writer) error {
	if len(args) != 2 || (args[0] != "disable" && args[0] != "enable") {
		return errors.New(usersUsage)
	}
	disable, email := args[0] == "disable", strings.ToLower(strings.TrimSpace(args[1]))
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
	u, err = a.Accounts().SetDisabled(ctx, u.ID, disable)
	if errors.Is(err, identity.ErrUserNotFound) {
		return fmt.Errorf("no user %s", email)
	}
	if err != nil {
		return err
	}
	if disable {
		fmt.Fprintf(stdout, "user %s (%s) disabled: sign-in refused, sessions and tokens ended\n", u.Email, u.ID)
	} else {
		fmt.Fprintf(stdout, "user %s (%s) enabled: they can sign in again\n", u.Email, u.ID)
	}
	return nil
}
