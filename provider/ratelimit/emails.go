package ratelimit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
)

// Emails bounds the messages a flow (resending a confirmation, asking for a
// password reset) sends: per address, and per client IP. Over the address's
// budget the flow quietly sends nothing, so the answer is the same whether or
// not the address has an account; over the IP's budget it answers 429, which
// tells nothing about any address.
type Emails struct {
	store    Store
	flow     string
	perEmail Limit
	perIP    Limit
}

// NewEmails bounds the flow named flow.
func NewEmails(store Store, flow string, perEmail, perIP Limit) *Emails {
	return &Emails{store: store, flow: flow, perEmail: perEmail, perIP: perIP}
}

// Take takes one message from the client IP's budget (a 429 problem when it
// is spent) and then from the address's: send is false when that is spent.
func (e *Emails) Take(ctx context.Context, normalizedEmail string) (send bool, err error) {
	res, err := e.store.Allow(ctx, "mail:"+e.flow+":ip:"+ClientIPFrom(ctx), e.perIP)
	if err != nil {
		return false, err
	}
	if !res.Allowed {
		return false, Refusal(res)
	}
	sum := sha256.Sum256([]byte(normalizedEmail))
	res, err = e.store.Allow(ctx, "mail:"+e.flow+":email:"+hex.EncodeToString(sum[:16]), e.perEmail)
	if err != nil {
		return false, err
	}
	return res.Allowed, nil
}
