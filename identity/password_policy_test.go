package identity_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/gatehousehq/gatehouse/identity"
)

func TestCheckPassword(t *testing.T) {
	for _, tt := range []struct {
		name, pw string
		want     error
	}{
		{"empty", "", identity.ErrPasswordTooShort},
		{"seven characters", "k7#Qz!p", identity.ErrPasswordTooShort},
		{"seven characters of two bytes each", "ééééééé", identity.ErrPasswordTooShort},
		{"longer than MaxPasswordBytes", strings.Repeat("x", identity.MaxPasswordBytes+1), identity.ErrPasswordTooLong},
		{"most common of 8", "12345678", identity.ErrPasswordCommon},
		{"common", "password1", identity.ErrPasswordCommon},
		{"common in capitals", "PassWord1", identity.ErrPasswordCommon},
		{"common, last of the list", "karamelka", identity.ErrPasswordCommon},
		{"common, long", "qwertyuiop", identity.ErrPasswordCommon},
		{"eight characters", "k7#Qz!pL", nil},
		{"eight characters of two bytes each", "éééééééé", nil},
		{"passphrase", "correct horse battery staple", nil},
		{"common with a suffix", "password1-and-more", nil},
		{"MaxPasswordBytes", strings.Repeat("x", identity.MaxPasswordBytes), nil},
		{"a generated secret", identity.NewSecret(), nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := identity.CheckPassword(tt.pw)
			if !errors.Is(err, tt.want) {
				t.Fatalf("CheckPassword = %v, want %v", err, tt.want)
			}
			if err != nil && len(tt.pw) > 0 && len(tt.pw) < 100 && strings.Contains(err.Error(), tt.pw) {
				t.Errorf("the error repeats the password: %v", err)
			}
		})
	}
}

// The embedded list holds 10,000 distinct entries, comments aside.
func TestCommonPasswordsList(t *testing.T) {
	n := identity.CommonPasswordsForTest()
	if n != 10000 {
		t.Fatalf("the list has %d distinct entries, want 10000", n)
	}
}
