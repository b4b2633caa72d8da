package identity

import (
	_ "embed"
	"errors"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
)

// MinPasswordLength is the shortest user password [CheckPassword]
// accepts, in characters (NIST SP 800-63B §3.1.1.2: at least 8 for a
// password chosen by its user).
const MinPasswordLength = 8

// Errors of [CheckPassword]. Their text says what to do and never holds
// the password.
var (
	ErrPasswordTooShort = errors.New("identity: the password is shorter than 8 characters: choose a longer one (a few unrelated words make a good one)")
	ErrPasswordTooLong  = errors.New("identity: the password is longer than 1024 bytes: choose a shorter one")
	ErrPasswordCommon   = errors.New("identity: the password is one of the 10,000 most common passwords (compared without regard to case), which attackers try first: choose another (a few unrelated words make a good one)")
)

// commonPasswordsText is the list CheckPassword refuses; its header says
// where it comes from.
//
//go:embed common_passwords.txt
var commonPasswordsText string

// commonPasswords is the list, sorted for binary search.
var commonPasswords = sync.OnceValue(func() []string {
	var list []string
	for line := range strings.Lines(commonPasswordsText) {
		line = strings.TrimRight(line, "\r\n")
		if line != "" && !strings.HasPrefix(line, "#") {
			list = append(list, strings.ToLower(line))
		}
	}
	slices.Sort(list)
	return slices.Compact(list)
})

// CheckPassword applies the policy for the passwords of users that an
// operator sets (configuration, 'gatehouse user add'), checks first: at
// least [MinPasswordLength] characters, at most [MaxPasswordBytes]
// bytes, and none of the 10,000 most common passwords, compared in lower
// case (NIST SP 800-63B §3.1.1.2: refuse values known to be commonly
// used). It returns ErrPasswordTooShort, ErrPasswordTooLong or
// ErrPasswordCommon.
//
// Client secrets have their own rule (see [HashSecret]); hashes given in
// the configuration are not checked, and neither are the passwords of
// existing users at login.
func CheckPassword(password string) error {
	switch {
	case utf8.RuneCountInString(password) < MinPasswordLength:
		return ErrPasswordTooShort
	case len(password) > MaxPasswordBytes:
		return ErrPasswordTooLong
	}
	if _, found := slices.BinarySearch(commonPasswords(), strings.ToLower(password)); found {
		return ErrPasswordCommon
	}
	return nil
}
