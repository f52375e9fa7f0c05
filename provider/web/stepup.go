package web

import (
	"slices"
	"strings"

	"github.com/arsaka/puguh/provider/mfa"
	"github.com/arsaka/puguh/storage"
)

// multiFactorACRs are the acr_values that ask for a multi-factor sign-in:
// Puguh's own, and the OpenID PAPE policy name some clients send.
var multiFactorACRs = []string{mfa.ACRMulti, "http://schemas.openid.net/pape/policies/2007/06/multi-factor"}

// needsStepUp reports whether an authorization request's acr_values (OIDC
// Core §3.1.2.1) ask for a multi-factor sign-in that the session did not
// make, so the user signs in again: with their second factor, if they have
// one. A sign-in made for this very request is never asked again: a user
// without a second factor then gets an ID token whose acr says what the
// sign-in reached, and the client decides (acr_values are voluntary).
func needsStepUp(acrValues string, sess *storage.BrowserSession) bool {
	if sess == nil {
		return false
	}
	wantsMulti := false
	for _, v := range strings.Fields(acrValues) {
		if slices.Contains(multiFactorACRs, v) {
			wantsMulti = true
		}
	}
	return wantsMulti && mfa.ACROf(mfa.SplitAMR(sess.AMR)) != mfa.ACRMulti
}
