// Package audit names the security events Puguh records (who did what, to
// what, from where) and hands each one to a Recorder. Domain services record
// events, so an action is recorded the same way whether it came through the
// REST API, a page or the CLI. Events never carry secrets: no passwords,
// tokens, key material or one-time codes, only identifiers.
package audit

import (
	"context"
	"time"

	"github.com/arsaka/puguh/provider/authz"
)

// Type names an event. The names are part of the product: they appear in logs
// and in the audit log API, so they only ever get added, never renamed.
type Type string

// The events Puguh records.
const (
	SignInSucceeded Type = "sign_in.succeeded"
	SignInFailed    Type = "sign_in.failed"
	SignedOut       Type = "sign_out"

	UserRegistered      Type = "user.registered"
	UserPasswordChanged Type = "user.password_changed"
	UserPasswordReset   Type = "user.password_reset"
	UserEmailChanged    Type = "user.email_changed"
	UserEmailVerified   Type = "user.email_verified"
	UserDisabled        Type = "user.disabled"
	UserEnabled         Type = "user.enabled"
	UserDeleted         Type = "user.deleted"

	APIKeyCreated Type = "api_key.created"
	APIKeyRotated Type = "api_key.rotated"
	APIKeyRevoked Type = "api_key.revoked"

	ServiceAccountCreated       Type = "service_account.created"
	ServiceAccountSecretRotated Type = "service_account.secret_rotated"
	ServiceAccountDeleted       Type = "service_account.deleted"

	ApplicationCreated       Type = "application.created"
	ApplicationUpdated       Type = "application.updated"
	ApplicationSecretRotated Type = "application.secret_rotated"
	ApplicationDeleted       Type = "application.deleted"

	MemberAdded       Type = "member.added"
	MemberRoleChanged Type = "member.role_changed"
	MemberRemoved     Type = "member.removed"

	InvitationCreated  Type = "invitation.created"
	InvitationAccepted Type = "invitation.accepted"
	InvitationRevoked  Type = "invitation.revoked"

	ConsentGranted Type = "consent.granted"
	ConsentRevoked Type = "consent.revoked"

	OrganizationPlanChanged Type = "organization.plan_changed"

	// Second factors (provider/mfa). Details name the factor ("totp",
	// "recovery_code", "passkey") and, for passkeys, the credential.
	MFAFactorAdded               Type = "mfa.factor_added"
	MFAFactorRemoved             Type = "mfa.factor_removed"
	MFAFactorUsed                Type = "mfa.factor_used"
	MFAFailed                    Type = "mfa.failed"
	MFARecoveryCodesRegenerated  Type = "mfa.recovery_codes_regenerated"
	OrganizationMFAPolicyChanged Type = "organization.mfa_policy_changed"
)

// MFAPasskeyCloneWarning: a passkey's signature counter did not move
// forward (WebAuthn §7.2), so it may have been copied; Puguh refuses it.
const MFAPasskeyCloneWarning Type = "mfa.passkey_clone_warning"

// Types lists every event type, in the order above.
func Types() []Type {
	return []Type{SignInSucceeded, SignInFailed, SignedOut,
		UserRegistered, UserPasswordChanged, UserPasswordReset, UserEmailChanged, UserEmailVerified,
		UserDisabled, UserEnabled, UserDeleted,
		APIKeyCreated, APIKeyRotated, APIKeyRevoked,
		ServiceAccountCreated, ServiceAccountSecretRotated, ServiceAccountDeleted,
		ApplicationCreated, ApplicationUpdated, ApplicationSecretRotated, ApplicationDeleted,
		MemberAdded, MemberRoleChanged, MemberRemoved,
		InvitationCreated, InvitationAccepted, InvitationRevoked,
		ConsentGranted, ConsentRevoked,
		OrganizationPlanChanged}
}

// Known reports whether t is one of Types.
func Known(t Type) bool {
	for _, k := range Types() {
		if k == t {
			return true
		}
	}
	return false
}

// Actor types besides authz's principal types.
const (
	// ActorOperator is someone running the puguh command on the server.
	ActorOperator = "operator"
	// ActorAnonymous is a caller not signed in, such as a failed sign-in.
	ActorAnonymous = "anonymous"
	// ActorSystem is Puguh itself, such as the janitor.
	ActorSystem = "system"
)

// Ref names one party of an event: its kind ("user", "api_key",
// "service_account", "application", "organization", "invitation", or an
// actor type above) and its id.
type Ref struct {
	Type string
	ID   string
}

// Event is one security event. Record fills ID, At and the request's source
// when they are empty.
type Event struct {
	ID   string
	At   time.Time
	Type Type
	// OrganizationID is the organization the event happened in; empty for an
	// account's own events (sign-in, password change), which belong to the
	// user named by Actor or Subject.
	OrganizationID string
	Actor          Ref
	Subject        Ref
	IP             string
	UserAgent      string
	// Details are short facts about the event ("role": "admin"), never a
	// secret.
	Details map[string]string
}

// Recorder records events. Record does not fail the action it records: a
// recorder that cannot store an event logs and counts the failure.
type Recorder interface {
	Record(ctx context.Context, e Event)
}

// Or is r, or Discard when r is nil: services whose Recorder is unset
// record nothing.
func Or(r Recorder) Recorder {
	if r == nil {
		return Discard{}
	}
	return r
}

// Discard records nothing, for tests and tools that need no audit trail.
type Discard struct{}

// Record does nothing.
func (Discard) Record(context.Context, Event) {}

// Actor is the Ref of the principal acting.
func Actor(p *authz.Principal) Ref {
	if p == nil {
		return Ref{Type: ActorAnonymous}
	}
	return Ref{Type: p.Type, ID: p.ID}
}

// User is the Ref of a user.
func User(id string) Ref { return Ref{Type: authz.TypeUser, ID: id} }

type sourceKey struct{}

type source struct{ ip, userAgent string }

// WithSource records where the request behind ctx came from (the client's
// address as the rate limiter sees it, and its User-Agent), for the events
// recorded while serving it.
func WithSource(ctx context.Context, ip, userAgent string) context.Context {
	return context.WithValue(ctx, sourceKey{}, source{ip: ip, userAgent: userAgent})
}

// Source returns what WithSource recorded in ctx.
func Source(ctx context.Context) (ip, userAgent string) {
	s, _ := ctx.Value(sourceKey{}).(source)
	return s.ip, s.userAgent
}
