package verifier

import (
	"errors"
	"strings"

	"github.com/arsaka/puguh/sdk/go/internal/jws"
)

var errClaims = errors.New("the token's claims are not a JSON object of the expected types")

// claimNames are the members decodeClaims reads. A member that differs from
// one of them only in case is refused: encoding/json would take it for the
// claim, JWT claim names are case-sensitive (RFC 7519 §4), and Puguh never
// sends one.
var claimNames = [...]string{"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "client_id", "scope", "org_id", "sid", "kind"}

// decodeClaims fills c from a token's payload, as json.Unmarshal would, but
// with the strings as substrings of payload (one allocation for the whole
// payload instead of one per claim). It refuses what encoding/json would
// refuse, and more (duplicate or case-variant claims); FuzzDecodeClaims
// checks that whatever it accepts, encoding/json decodes the same way.
func decodeClaims(payload string, c *Claims) error {
	return jws.ScanObject(payload, func(key string, v jws.Value) (err error) {
		switch key {
		case "iss":
			c.Issuer, err = v.Str()
		case "sub":
			c.Subject, err = v.Str()
		case "jti":
			c.ID, err = v.Str()
		case "client_id":
			c.ClientID, err = v.Str()
		case "scope":
			c.Scope, err = v.Str()
		case "org_id":
			c.OrganizationID, err = v.Str()
		case "sid":
			c.SessionID, err = v.Str()
		case "kind":
			c.Kind, err = v.Str()
		case "exp":
			err = decodeDate(v, &c.Expiry)
		case "nbf":
			err = decodeDate(v, &c.NotBefore)
		case "iat":
			err = decodeDate(v, &c.IssuedAt)
		case "aud":
			err = decodeAudience(v, &c.Audience)
		default:
			for _, name := range claimNames {
				if strings.EqualFold(key, name) {
					return errClaims
				}
			}
		}
		if err != nil {
			return errClaims
		}
		return nil
	})
}

func decodeDate(v jws.Value, d *NumericDate) error {
	switch v.Kind {
	case jws.KindNull:
		*d = 0
		return nil
	case jws.KindNumber:
		return d.parse(v.Raw)
	}
	return errClaims
}

func decodeAudience(v jws.Value, a *Audiences) error {
	switch v.Kind {
	case jws.KindNull:
		*a = nil
		return nil
	case jws.KindString:
		s, err := v.Str()
		if err != nil {
			return err
		}
		*a = Audiences{s}
		return nil
	case jws.KindArray:
		list := make(Audiences, 0, 1)
		err := jws.ScanArray(v, func(e jws.Value) error {
			if e.Kind != jws.KindString {
				return errClaims
			}
			s, err := e.Str()
			list = append(list, s)
			return err
		})
		if err != nil {
			return err
		}
		*a = list
		return nil
	}
	return errClaims
}
