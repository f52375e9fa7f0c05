package mfa

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/arsaka/puguh/provider/audit"
	"github.com/arsaka/puguh/provider/authz"
	"github.com/arsaka/puguh/provider/problem"
	"github.com/arsaka/puguh/storage"
)

// BeginRegistration starts adding a passkey to the acting user's account:
// a discoverable credential with user verification, no attestation asked
// (Puguh trusts no authenticator model over another), and the user's
// passkeys excluded so one authenticator is not registered twice.
func (k *Passkeys) BeginRegistration(ctx context.Context, p *authz.Principal) (*Ceremony, error) {
	if err := self(p); err != nil {
		return nil, err
	}
	w, stored, err := k.userOf(ctx, p.ID)
	if err != nil {
		return nil, fmt.Errorf("mfa: begin passkey registration: %w", err)
	}
	if len(stored) >= MaxPasskeys {
		return nil, problem.Conflictf(fmt.Sprintf("An account holds at most %d passkeys; remove one first", MaxPasskeys))
	}
	var exclude []protocol.CredentialDescriptor
	for _, c := range w.creds {
		exclude = append(exclude, c.Descriptor())
	}
	options, session, err := k.RP.BeginRegistration(w, webauthn.WithExclusions(exclude))
	if err != nil {
		return nil, fmt.Errorf("mfa: begin passkey registration: %w", err)
	}
	return k.begin(ctx, p.ID, KindPasskeyRegister, nil, options, session)
}

// checkPasskeyName validates a passkey's name.
func checkPasskeyName(name *string) (string, error) {
	if name == nil {
		return "", problem.Invalidf(problem.Issue{Loc: []any{"name"}, Msg: "field required", Type: "value_error.missing"})
	}
	n := strings.TrimSpace(*name)
	if n == "" {
		return "", problem.Invalidf(problem.Issue{Loc: []any{"name"}, Msg: "ensure this value has at least 1 characters",
			Type: "value_error.any_str.min_length"})
	}
	if utf8.RuneCountInString(n) > MaxPasskeyName || strings.ContainsAny(n, "\x00\r\n") {
		return "", problem.Invalidf(problem.Issue{Loc: []any{"name"}, Msg: fmt.Sprintf("ensure this value has at most %d characters", MaxPasskeyName),
			Type: "value_error.any_str.max_length"})
	}
	return n, nil
}

// FinishRegistration verifies the authenticator's answer to the ceremony
// of token (navigator.credentials.create()'s PublicKeyCredential as JSON)
// and stores the passkey under name. It asks for the password again, like
// removing one: a passkey signs in on its own and counts as a second factor,
// so a session left open must not be enough to add one.
func (k *Passkeys) FinishRegistration(ctx context.Context, p *authz.Principal, token string, name, password *string, response []byte) (*storage.WebAuthnCredential, error) {
	if err := self(p); err != nil {
		return nil, err
	}
	n, err := checkPasskeyName(name)
	if err != nil {
		return nil, err
	}
	if err := k.MFA.reauthenticate(ctx, p.ID, password); err != nil {
		return nil, err
	}
	c, session, err := k.take(ctx, token, KindPasskeyRegister)
	if err != nil {
		return nil, err
	}
	if c.UserID != p.ID {
		return nil, problem.Unauthenticatedf(ErrChallenge)
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return nil, problem.Unauthenticatedf(BadPasskey)
	}
	w, _, err := k.userOf(ctx, p.ID)
	if err != nil {
		return nil, fmt.Errorf("mfa: finish passkey registration: %w", err)
	}
	cred, err := k.RP.CreateCredential(w, *session, parsed)
	if err != nil {
		return nil, problem.Unauthenticatedf(BadPasskey)
	}
	transports := make([]string, 0, len(cred.Transport))
	for _, t := range cred.Transport {
		transports = append(transports, string(t))
	}
	stored := &storage.WebAuthnCredential{
		ID: base64.RawURLEncoding.EncodeToString(cred.ID), UserID: p.ID, Name: n, PublicKey: cred.PublicKey,
		AttestationType: cred.AttestationType, AAGUID: cred.Authenticator.AAGUID, SignCount: cred.Authenticator.SignCount,
		Transports: strings.Join(transports, " "), BackupEligible: cred.Flags.BackupEligible, BackupState: cred.Flags.BackupState,
		CreatedAt: k.MFA.now(),
	}
	if err := k.Store.CreateWebAuthnCredential(ctx, stored); errors.Is(err, storage.ErrConflict) {
		return nil, problem.Conflictf("This passkey is already registered")
	} else if err != nil {
		return nil, fmt.Errorf("mfa: store passkey: %w", err)
	}
	k.MFA.record(ctx, audit.Event{Type: audit.MFAFactorAdded, Actor: audit.Actor(p), Subject: audit.User(p.ID),
		Details: map[string]string{"factor": FactorPasskey, "credential_id": stored.ID, "name": stored.Name}})
	return stored, nil
}

// List returns the acting user's passkeys, oldest first.
func (k *Passkeys) List(ctx context.Context, p *authz.Principal) ([]storage.WebAuthnCredential, error) {
	if err := self(p); err != nil {
		return nil, err
	}
	out, err := k.Store.WebAuthnCredentialsOfUser(ctx, p.ID)
	if err != nil {
		return nil, fmt.Errorf("mfa: list passkeys: %w", err)
	}
	return out, nil
}

// Remove deletes one of the acting user's passkeys, with their password
// again (like removing the authenticator app): a session left open is not
// enough to weaken the account.
func (k *Passkeys) Remove(ctx context.Context, p *authz.Principal, id string, password *string) error {
	if err := self(p); err != nil {
		return err
	}
	if err := k.MFA.reauthenticate(ctx, p.ID, password); err != nil {
		return err
	}
	c, err := k.Store.WebAuthnCredentialByID(ctx, id)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && c.UserID != p.ID) {
		return problem.NotFoundf("Passkey not found")
	}
	if err != nil {
		return fmt.Errorf("mfa: remove passkey: %w", err)
	}
	if err := k.Store.DeleteWebAuthnCredential(ctx, p.ID, id); errors.Is(err, storage.ErrNotFound) {
		return problem.NotFoundf("Passkey not found")
	} else if err != nil {
		return fmt.Errorf("mfa: remove passkey: %w", err)
	}
	k.MFA.record(ctx, audit.Event{Type: audit.MFAFactorRemoved, Actor: audit.Actor(p), Subject: audit.User(p.ID),
		Details: map[string]string{"factor": FactorPasskey, "credential_id": id, "name": c.Name}})
	return nil
}
