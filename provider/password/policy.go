package password

import (
	"strings"
	"unicode/utf8"
)

// Length limits of a new password, counted in characters (runes). Passwords
// are never truncated; 256 leaves room for passphrases without letting a
// megabyte reach argon2id.
const (
	MinLength = 8
	MaxLength = 256
)

// commonPasswords are passwords every guessing list starts with. The list is
// short on purpose: ASVS asks to refuse the most common ones, not to ship a
// breach corpus in the binary.
var commonPasswords = map[string]bool{}

func init() {
	for _, p := range strings.Fields(`
		password password1 password12 password123 password1234 passw0rd p@ssw0rd p@ssword
		12345678 123456789 1234567890 12345678910 87654321 11111111 00000000 12341234 11223344
		qwertyui qwerty123 qwertyuiop 1q2w3e4r 1q2w3e4r5t q1w2e3r4 1qaz2wsx zaq12wsx asdfghjk
		asdf1234 abcd1234 abc12345 abcdefgh iloveyou iloveyou1 sunshine princess football
		baseball welcome1 welcome123 letmein1 letmein123 trustno1 superman batman123 monkey123
		dragon123 starwars whatever computer internet michael1 jennifer changeme changeme1
		secret123 admin123 administrator root1234 test1234 testtest guest123 default1
		mypassword newpassword qwerty12 1234qwer aaaaaaaa
		password! password1! 123123123 696969696 lovelove football1 shadow12 master123`) {
		commonPasswords[p] = true
	}
}

// Problem says what is wrong with a new password, or "" when it is acceptable.
// There are no composition rules (ASVS 5.0, NIST SP 800-63B): length, not
// one of the most common passwords, not the email address or its local part.
func Problem(pw, email string) string {
	n := utf8.RuneCountInString(pw)
	switch {
	case !utf8.ValidString(pw):
		return "password is not valid UTF-8"
	case n < MinLength:
		return "ensure this value has at least 8 characters"
	case n > MaxLength:
		return "ensure this value has at most 256 characters"
	}
	lower := strings.ToLower(pw)
	email = strings.ToLower(strings.TrimSpace(email))
	local, _, _ := strings.Cut(email, "@")
	switch {
	case commonPasswords[lower]:
		return "password is too common"
	case email != "" && (lower == email || lower == local):
		return "password must not be your email address"
	case strings.Count(lower, lower[:1]) == len(lower):
		return "password must not repeat one character"
	}
	return ""
}
