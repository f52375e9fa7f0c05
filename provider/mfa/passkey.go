package mfa

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/arsaka/puguh/provider/problem"
	"github.com/arsaka/puguh/storage"
)

// Passkey ceremony kinds (mfa_challenges.kind): each WebAuthn ceremony's
// state waits in a single-use challenge whose secret only the browser that
// began it holds (a cookie), so a ceremony cannot be finished elsewhere.
const (
	KindPasskeyRegister = "passkey_register"
	KindPasskeyLogin    = "passkey_login"
	KindPasskeyStep     = "passkey_step"
)

// RFC 8176 values a passkey sign-in adds besides AMRHardware and AMRMulti.
const (
	// AMRSoftware is proof of possession of a software-secured key: a synced
	// passkey (backup eligible), whose private key leaves the device.
	AMRSoftware = "swk"
	// AMRUser is a user presence test; Puguh requires user verification (a
	// PIN or biometric on the authenticator) on top.
	AMRUser = "user"
)

// Passkey answers and bounds.
const (
	// BadPasskey is the answer to an assertion or attestation that does not verify.
	BadPasskey = "The passkey could not be verified"
	// ClonedPasskey is the answer when the signature counter went backwards.
	ClonedPasskey = "This passkey was refused: it may have been copied. Remove it and add a new one."
	// MaxPasskeyName bounds a passkey's name.
	MaxPasskeyName = 64
	// MaxPasskeys bounds the passkeys of one account.
	MaxPasskeys = 20
)

// ErrNoRelyingParty: passkeys need a host name as the relying party id.
var ErrNoRelyingParty = errors.New("mfa: passkeys need PUGUH_ISSUER to name a host, not an IP address")

// NewRelyingParty is the WebAuthn relying party of issuer: its id is the
// issuer's host (WebAuthn §5.1.2: a registrable domain or a suffix, never an
// IP address), its one origin the issuer's scheme, host and port. Passkeys
// always require user verification and a discoverable (resident) credential.
func NewRelyingParty(issuer string) (*webauthn.WebAuthn, error) {
	u, err := url.Parse(issuer)
	if err != nil || u.Hostname() == "" {
		return nil, fmt.Errorf("mfa: issuer %q is not an absolute URL", issuer)
	}
	if net.ParseIP(u.Hostname()) != nil {
		return nil, ErrNoRelyingParty
	}
	return webauthn.New(&webauthn.Config{
		RPID:          u.Hostname(),
		RPDisplayName: "Puguh (" + u.Hostname() + ")",
		RPOrigins:     []string{u.Scheme + "://" + u.Host},
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:        protocol.ResidentKeyRequirementRequired,
			RequireResidentKey: protocol.ResidentKeyRequired(),
			UserVerification:   protocol.VerificationRequired,
		},
		AttestationPreference: protocol.PreferNoAttestation,
	})
}

// PasskeyStore is what passkeys read and write.
type PasskeyStore interface {
	UserByID(ctx context.Context, id string) (*storage.User, error)
	CreateWebAuthnCredential(ctx context.Context, c *storage.WebAuthnCredential) error
	WebAuthnCredentialByID(ctx context.Context, id string) (*storage.WebAuthnCredential, error)
	WebAuthnCredentialsOfUser(ctx context.Context, userID string) ([]storage.WebAuthnCredential, error)
	UseWebAuthnCredential(ctx context.Context, id string, signCount uint32, backupState, cloneWarning bool, at time.Time) error
	DeleteWebAuthnCredential(ctx context.Context, userID, id string) error
}

// Passkeys applies the rules of passkeys: registering them, signing in with
// one alone or after a password, counters and clone warnings, removing
// them. Challenges, the clock, audit and re-authentication are the
// Service's.
type Passkeys struct {
	MFA   *Service
	Store PasskeyStore
	RP    *webauthn.WebAuthn
}

// Ceremony is a begun WebAuthn ceremony: Token is the secret the browser
// keeps (a cookie) and Options what navigator.credentials.create() or get()
// takes (JSON, the library's PublicKeyCredential*OptionsJSON form).
type Ceremony struct {
	Token   string
	Options json.RawMessage
}

// webauthnUser adapts a user and their passkeys to go-webauthn. The user
// handle is the user id (a UUID: no personal data, WebAuthn §14.6.1).
type webauthnUser struct {
	u     *storage.User
	creds []webauthn.Credential
}

func (w *webauthnUser) WebAuthnID() []byte   { return []byte(w.u.ID) }
func (w *webauthnUser) WebAuthnName() string { return w.u.Email }
func (w *webauthnUser) WebAuthnDisplayName() string {
	if w.u.FullName != "" {
		return w.u.FullName
	}
	return w.u.Email
}
func (w *webauthnUser) WebAuthnCredentials() []webauthn.Credential { return w.creds }

// credentialOf is the library's view of a stored passkey. Every stored
// passkey was registered with user verification, so UV is set.
func credentialOf(c *storage.WebAuthnCredential) webauthn.Credential {
	id, _ := base64.RawURLEncoding.DecodeString(c.ID)
	flags := protocol.FlagUserPresent | protocol.FlagUserVerified
	if c.BackupEligible {
		flags |= protocol.FlagBackupEligible
	}
	if c.BackupState {
		flags |= protocol.FlagBackupState
	}
	var transports []protocol.AuthenticatorTransport
	for _, t := range strings.Fields(c.Transports) {
		transports = append(transports, protocol.AuthenticatorTransport(t))
	}
	return webauthn.Credential{
		ID: id, PublicKey: c.PublicKey, AttestationType: c.AttestationType, Transport: transports,
		Flags: webauthn.NewCredentialFlags(flags),
		Authenticator: webauthn.Authenticator{
			AAGUID: c.AAGUID, SignCount: c.SignCount, CloneWarning: c.CloneWarning,
		},
	}
}

// userOf loads a user and their passkeys.
func (k *Passkeys) userOf(ctx context.Context, userID string) (*webauthnUser, []storage.WebAuthnCredential, error) {
	u, err := k.Store.UserByID(ctx, userID)
	if err != nil {
		return nil, nil, err
	}
	stored, err := k.Store.WebAuthnCredentialsOfUser(ctx, userID)
	if err != nil {
		return nil, nil, err
	}
	w := &webauthnUser{u: u}
	for i := range stored {
		w.creds = append(w.creds, credentialOf(&stored[i]))
	}
	return w, stored, nil
}

// begin stores the ceremony's session data as a challenge and returns it
// with the options for the browser.
func (k *Passkeys) begin(ctx context.Context, userID, kind string, amr []string, options any, session *webauthn.SessionData) (*Ceremony, error) {
	data, err := json.Marshal(session)
	if err != nil {
		return nil, fmt.Errorf("mfa: passkey session: %w", err)
	}
	opts, err := json.Marshal(options)
	if err != nil {
		return nil, fmt.Errorf("mfa: passkey options: %w", err)
	}
	token, err := k.MFA.createChallenge(ctx, userID, kind, amr, string(data))
	if err != nil {
		return nil, err
	}
	return &Ceremony{Token: token, Options: opts}, nil
}

// take loads the ceremony of token and spends it at once: a ceremony is
// answered once, right or wrong.
func (k *Passkeys) take(ctx context.Context, token, kind string) (*storage.MFAChallenge, *webauthn.SessionData, error) {
	c, err := k.MFA.loadChallenge(ctx, token, kind)
	if err != nil {
		return nil, nil, err
	}
	won, err := k.MFA.Store.ConsumeMFAChallenge(ctx, c.ID)
	if err != nil {
		return nil, nil, fmt.Errorf("mfa: passkey ceremony: %w", err)
	}
	if !won {
		return nil, nil, problem.Unauthenticatedf(ErrChallenge)
	}
	var session webauthn.SessionData
	if err := json.Unmarshal([]byte(c.Data), &session); err != nil {
		return nil, nil, fmt.Errorf("mfa: passkey ceremony data: %w", err)
	}
	return c, &session, nil
}

// keyAMR is the possession factor a passkey proves: hwk for a device-bound
// key, swk for a synced one (backup eligible).
func keyAMR(c *storage.WebAuthnCredential) string {
	if c.BackupEligible {
		return AMRSoftware
	}
	return AMRHardware
}
