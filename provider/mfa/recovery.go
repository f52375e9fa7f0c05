package mfa

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/arsaka/puguh/provider/audit"
	"github.com/arsaka/puguh/provider/authz"
)

// RecoveryCodeCount is how many recovery codes a user gets at a time.
const RecoveryCodeCount = 10

// recoveryAlphabet is base32's lowercase alphabet: 16 characters carry 80
// random bits, too many to guess online or to recover from a stolen digest.
var recoveryEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newRecoveryCodes returns RecoveryCodeCount fresh codes ("abcd-efgh-ijkl-mnop")
// and the digests that are stored.
func newRecoveryCodes(userID string) (codes, hashes []string, err error) {
	for range RecoveryCodeCount {
		var b [10]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, nil, fmt.Errorf("mfa: recovery codes: %w", err)
		}
		raw := recoveryEncoding.EncodeToString(b[:])
		codes = append(codes, raw[0:4]+"-"+raw[4:8]+"-"+raw[8:12]+"-"+raw[12:16])
		hashes = append(hashes, recoveryHash(userID, raw))
	}
	return codes, hashes, nil
}

// normalizeRecoveryCode accepts a code as typed: any case, with or without
// dashes and spaces. ok is false for anything that cannot be a code.
func normalizeRecoveryCode(code string) (string, bool) {
	c := strings.ToLower(normalizeDigits(code))
	if len(c) != 16 {
		return "", false
	}
	if _, err := recoveryEncoding.DecodeString(c); err != nil {
		return "", false
	}
	return c, true
}

// recoveryHash is the stored digest of a normalised code, bound to its user.
func recoveryHash(userID, normalized string) string {
	sum := sha256.Sum256([]byte("puguh recovery code v1\x00" + userID + "\x00" + normalized))
	return hex.EncodeToString(sum[:])
}

// RegenerateRecoveryCodes replaces the acting user's recovery codes, with
// their password, and returns the new ones, shown this once.
func (s *Service) RegenerateRecoveryCodes(ctx context.Context, p *authz.Principal, password *string) ([]string, error) {
	if err := self(p); err != nil {
		return nil, err
	}
	st, err := s.StatusOf(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	if !st.TOTP {
		return nil, problemNoTOTP()
	}
	if err := s.reauthenticate(ctx, p.ID, password); err != nil {
		return nil, err
	}
	codes, hashes, err := newRecoveryCodes(p.ID)
	if err != nil {
		return nil, err
	}
	if err := s.Store.ReplaceRecoveryCodes(ctx, p.ID, hashes, s.now()); err != nil {
		return nil, fmt.Errorf("mfa: regenerate recovery codes: %w", err)
	}
	s.record(ctx, audit.Event{Type: audit.MFARecoveryCodesRegenerated, Actor: audit.Actor(p), Subject: audit.User(p.ID)})
	return codes, nil
}
