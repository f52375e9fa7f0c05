package ratelimit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"
)

// AccountLimit is the sign-in budget of one account from one client IP: 10
// attempts at once, then one a minute. Keyed by IP too, so that attackers
// elsewhere cannot spend the owner's budget (docs/security.md, "Accounts and sessions": no lockout
// of a victim); the owner's own IP keeps its full budget.
var AccountLimit = Limit{Rate: 10, Burst: 10, Period: 10 * time.Minute}

// AccountWideLimit caps guessing at one account from every IP together, ten
// times looser than AccountLimit: a guesser spread over many IPs gets about
// 14,400 guesses a day per account at most, and to hold a victim at 429 it
// must keep sending 10 wrong guesses a minute for as long as it wants the
// account held; the budget refills as soon as it stops.
var AccountWideLimit = Limit{Rate: 100, Burst: 100, Period: 10 * time.Minute}

// Accounts throttles password attempts per account.
type Accounts struct {
	store Store
	limit Limit // per account and client IP
	wide  Limit // per account, all IPs together
}

// NewAccounts throttles sign-in attempts per account with limit.
func NewAccounts(store Store, limit Limit) *Accounts {
	return &Accounts{store: store, limit: limit, wide: Limit{Rate: limit.Rate * 10, Burst: limit.Burst * 10, Period: limit.Period}}
}

// Attempt takes one attempt from the budget of the account named by email (in
// its normalised form), or returns the 429. It is called before the password
// is checked, whether or not the account exists, so the answer reveals nothing
// about which emails are registered, and concurrent guesses cannot pass a
// check that has not yet counted them.
func (a *Accounts) Attempt(ctx context.Context, email string) error {
	fromIP, wide := a.keys(ctx, email)
	res, err := a.store.Allow(ctx, fromIP, a.limit)
	if err != nil {
		return err
	}
	if !res.Allowed {
		return Refusal(res)
	}
	res, err = a.store.Allow(ctx, wide, a.wide)
	if err != nil {
		return err
	}
	if !res.Allowed {
		return Refusal(res)
	}
	return nil
}

// Succeeded gives back the attempt of a correct password, so the budgets
// count failures only: an owner who signs in many times a minute is never
// throttled, while wrong passwords (and unknown emails, which never succeed)
// keep their bounds. It is called only after the password matched an active
// account, so it tells a guesser nothing the sign-in itself did not.
func (a *Accounts) Succeeded(ctx context.Context, email string) error {
	fromIP, wide := a.keys(ctx, email)
	return errors.Join(a.store.Refund(ctx, fromIP, a.limit), a.store.Refund(ctx, wide, a.wide))
}

// keys are the budget keys of an account: from the client's IP, and from
// everywhere. The account part is a hash: Redis keys should not hold anyone's
// email address.
func (a *Accounts) keys(ctx context.Context, email string) (fromIP, wide string) {
	sum := sha256.Sum256([]byte(email))
	account := hex.EncodeToString(sum[:16])
	return "account:" + account + ":" + ClientIPFrom(ctx), "account:" + account
}
