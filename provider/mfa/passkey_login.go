package mfa

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/arsaka/puguh/provider/audit"
	"github.com/arsaka/puguh/provider/problem"
	"github.com/arsaka/puguh/storage"
)

// BeginLogin starts a sign-in with a passkey alone: a discoverable
// credential (no user named yet, so the browser may offer its passkeys in
// the email field's autofill) with user verification.
func (k *Passkeys) BeginLogin(ctx context.Context) (*Ceremony, error) {
	options, session, err := k.RP.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return nil, fmt.Errorf("mfa: begin passkey sign-in: %w", err)
	}
	return k.begin(ctx, "", KindPasskeyLogin, nil, options, session)
}

// FinishLogin verifies a passkey sign-in (navigator.credentials.get()'s
// PublicKeyCredential as JSON) for the ceremony of token. A user-verifying
// passkey is two factors in one (something held, and the PIN or biometric
// that unlocks it): amr [hwk|swk, user, mfa], acr urn:puguh:acr:mfa.
func (k *Passkeys) FinishLogin(ctx context.Context, token string, response []byte) (*Proof, error) {
	_, session, err := k.take(ctx, token, KindPasskeyLogin)
	if err != nil {
		return nil, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return nil, problem.Unauthenticatedf(BadPasskey)
	}
	stored, err := k.credentialOfAssertion(ctx, parsed)
	if err != nil {
		return nil, err
	}
	w, _, err := k.userOf(ctx, stored.UserID)
	if err != nil {
		return nil, fmt.Errorf("mfa: passkey sign-in: %w", err)
	}
	if w.u.Disabled {
		k.failed(ctx, stored, "disabled")
		return nil, problem.Unauthenticatedf(BadPasskey)
	}
	_, cred, err := k.RP.ValidatePasskeyLogin(func(_, _ []byte) (webauthn.User, error) { return w, nil }, *session, parsed)
	if err != nil {
		k.failed(ctx, stored, "invalid_assertion")
		return nil, problem.Unauthenticatedf(BadPasskey)
	}
	if err := k.used(ctx, stored, cred); err != nil {
		return nil, err
	}
	k.MFA.record(ctx, audit.Event{Type: audit.SignInSucceeded, Actor: audit.User(w.u.ID), Subject: audit.User(w.u.ID),
		Details: map[string]string{"method": FactorPasskey}})
	return &Proof{UserID: w.u.ID, User: w.u, AMR: []string{keyAMR(stored), AMRUser, AMRMulti}, Factor: FactorPasskey}, nil
}

// credentialOfAssertion finds the stored passkey an assertion names, and
// checks that its user handle is that passkey's user (WebAuthn §7.2 step 6).
func (k *Passkeys) credentialOfAssertion(ctx context.Context, parsed *protocol.ParsedCredentialAssertionData) (*storage.WebAuthnCredential, error) {
	stored, err := k.Store.WebAuthnCredentialByID(ctx, base64.RawURLEncoding.EncodeToString(parsed.RawID))
	if errors.Is(err, storage.ErrNotFound) {
		k.MFA.record(ctx, audit.Event{Type: audit.SignInFailed, Actor: audit.Ref{Type: audit.ActorAnonymous},
			Details: map[string]string{"method": FactorPasskey, "reason": "unknown_passkey"}})
		return nil, problem.Unauthenticatedf(BadPasskey)
	}
	if err != nil {
		return nil, fmt.Errorf("mfa: passkey sign-in: %w", err)
	}
	if h := parsed.Response.UserHandle; len(h) > 0 && !bytes.Equal(h, []byte(stored.UserID)) {
		k.failed(ctx, stored, "user_handle_mismatch")
		return nil, problem.Unauthenticatedf(BadPasskey)
	}
	return stored, nil
}

// used records a verified assertion: the new counter and backup state and
// the time, or, when the signature counter did not move forward (WebAuthn
// §7.2 step 21: the authenticator may be cloned), the clone warning, which
// refuses this and every later sign-in with the passkey until the user
// removes it. A passkey flagged before is refused the same way.
func (k *Passkeys) used(ctx context.Context, stored *storage.WebAuthnCredential, cred *webauthn.Credential) error {
	if stored.CloneWarning || cred.Authenticator.CloneWarning {
		if err := k.Store.UseWebAuthnCredential(ctx, stored.ID, stored.SignCount, stored.BackupState, true, k.MFA.now()); err != nil {
			return fmt.Errorf("mfa: passkey clone warning: %w", err)
		}
		k.MFA.record(ctx, audit.Event{Type: audit.MFAPasskeyCloneWarning, Actor: audit.User(stored.UserID), Subject: audit.User(stored.UserID),
			Details: map[string]string{"factor": FactorPasskey, "credential_id": stored.ID, "name": stored.Name}})
		return problem.Unauthenticatedf(ClonedPasskey)
	}
	if err := k.Store.UseWebAuthnCredential(ctx, stored.ID, cred.Authenticator.SignCount, cred.Flags.BackupState, false, k.MFA.now()); err != nil {
		return fmt.Errorf("mfa: passkey used: %w", err)
	}
	k.MFA.record(ctx, audit.Event{Type: audit.MFAFactorUsed, Actor: audit.User(stored.UserID), Subject: audit.User(stored.UserID),
		Details: map[string]string{"factor": FactorPasskey, "credential_id": stored.ID}})
	return nil
}

// failed records an assertion for a known passkey that did not verify.
func (k *Passkeys) failed(ctx context.Context, stored *storage.WebAuthnCredential, reason string) {
	k.MFA.record(ctx, audit.Event{Type: audit.MFAFailed, Actor: audit.User(stored.UserID), Subject: audit.User(stored.UserID),
		Details: map[string]string{"factor": FactorPasskey, "credential_id": stored.ID, "reason": reason}})
}

// BeginStep starts the passkey answer to a pending second step (the login
// challenge of loginToken, after a password): the user's own passkeys only,
// with user verification.
func (k *Passkeys) BeginStep(ctx context.Context, loginToken string) (*Ceremony, error) {
	c, err := k.MFA.loadChallenge(ctx, loginToken, KindLogin)
	if err != nil {
		return nil, err
	}
	w, _, err := k.userOf(ctx, c.UserID)
	if err != nil {
		return nil, fmt.Errorf("mfa: begin passkey step: %w", err)
	}
	if len(w.creds) == 0 {
		return nil, problem.NotFoundf("No passkey is registered for this account")
	}
	options, session, err := k.RP.BeginLogin(w, webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return nil, fmt.Errorf("mfa: begin passkey step: %w", err)
	}
	return k.begin(ctx, c.UserID, KindPasskeyStep, SplitAMR(c.AMR), options, session)
}

// CompleteStep answers the login challenge of loginToken with the passkey
// ceremony of stepToken. Both are spent; the proof adds the passkey's
// factors to the password's: amr [pwd, hwk|swk, user, mfa].
func (k *Passkeys) CompleteStep(ctx context.Context, loginToken, stepToken string, response []byte) (*Proof, error) {
	login, err := k.MFA.loadChallenge(ctx, loginToken, KindLogin)
	if err != nil {
		return nil, err
	}
	step, session, err := k.take(ctx, stepToken, KindPasskeyStep)
	if err != nil {
		return nil, err
	}
	if step.UserID != login.UserID {
		return nil, problem.Unauthenticatedf(ErrChallenge)
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return nil, problem.Unauthenticatedf(BadPasskey)
	}
	stored, err := k.credentialOfAssertion(ctx, parsed)
	if err != nil {
		return nil, err
	}
	w, _, err := k.userOf(ctx, login.UserID)
	if err != nil {
		return nil, fmt.Errorf("mfa: passkey step: %w", err)
	}
	if stored.UserID != w.u.ID {
		return nil, problem.Unauthenticatedf(BadPasskey)
	}
	cred, err := k.RP.ValidateLogin(w, *session, parsed)
	if err != nil {
		k.failed(ctx, stored, "invalid_assertion")
		return nil, problem.Unauthenticatedf(BadPasskey)
	}
	if w.u.Disabled {
		_, _ = k.MFA.Store.ConsumeMFAChallenge(ctx, login.ID)
		return nil, problem.Unauthenticatedf(ErrChallenge)
	}
	if err := k.used(ctx, stored, cred); err != nil {
		return nil, err
	}
	won, err := k.MFA.Store.ConsumeMFAChallenge(ctx, login.ID)
	if err != nil {
		return nil, fmt.Errorf("mfa: passkey step: %w", err)
	}
	if !won {
		return nil, problem.Unauthenticatedf(ErrChallenge)
	}
	amr := addAMR(SplitAMR(login.AMR), keyAMR(stored), AMRUser, AMRMulti)
	return &Proof{UserID: w.u.ID, User: w.u, AMR: amr, Factor: FactorPasskey}, nil
}
