package ratelimit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// AccountLimit is the sign-in budget of one account, whatever the client IP:
// 10 attempts at once, then one a minute. A password guesser spread over many
// IPs gets about 1,440 guesses a day per account; the owner, once guessing
// stops, is let in again within a minute — the budget refills, there is no
// lockout that outlives the attack.
var AccountLimit = Limit{Rate: 10, Burst: 10, Period: 10 * time.Minute}

// Accounts throttles password attempts per account.
type Accounts struct {
	store Store
	limit Limit
}

// NewAccounts throttles sign-in attempts per account with limit.
func NewAccounts(store Store, limit Limit) *Accounts {
	return &Accounts{store: store, limit: limit}
}

// Attempt takes one attempt from the budget of the account named by email (in
// its normalised form), or returns the 429. It is called before the password
// is checked, whether or not the account exists, so the answer reveals nothing
// about which emails are registered.
func (a *Accounts) Attempt(ctx context.Context, email string) error {
	// The key is a hash: Redis keys should not hold anyone's email address.
	sum := sha256.Sum256([]byte(email))
	res, err := a.store.Allow(ctx, "account:"+hex.EncodeToString(sum[:16]), a.limit)
	if err != nil {
		return err
	}
	if !res.Allowed {
		return Refusal(res)
	}
	return nil
}
