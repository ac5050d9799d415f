package secretsmanager

import (
	"context"
	"crypto/rand"
	mathrand "math/rand/v2"
	"strings"

	"github.com/berth/berth/internal/awsapi"
	"github.com/berth/berth/internal/secretsmanager/smtypes"
)

const (
	defaultPasswordLength = 32
	lowercase             = "abcdefghijklmnopqrstuvwxyz"
	uppercase             = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	digits                = "0123456789"
	punctuation           = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
)

// passwordRules are GetRandomPassword's options.
type passwordRules struct {
	length                                    int
	exclude                                   string
	noLower, noUpper, noDigits, noPunctuation bool
	space                                     bool
	// eachType asks for at least one character of each included type
	// (letters of each case, digits, punctuation; not the space).
	eachType bool
}

func (s *SecretsManager) getRandomPassword(_ context.Context, in *smtypes.GetRandomPasswordRequest) (*smtypes.GetRandomPasswordResponse, error) {
	rules := passwordRules{
		length:        int(awsapi.Deref(in.PasswordLength)),
		exclude:       awsapi.Deref(in.ExcludeCharacters),
		noLower:       awsapi.Deref(in.ExcludeLowercase),
		noUpper:       awsapi.Deref(in.ExcludeUppercase),
		noDigits:      awsapi.Deref(in.ExcludeNumbers),
		noPunctuation: awsapi.Deref(in.ExcludePunctuation),
		space:         awsapi.Deref(in.IncludeSpace),
		eachType:      in.RequireEachIncludedType == nil || *in.RequireEachIncludedType,
	}
	if rules.length == 0 {
		rules.length = defaultPasswordLength
	}
	password, err := randomPassword(rules)
	if err != nil {
		return nil, err
	}
	return &smtypes.GetRandomPasswordResponse{RandomPassword: awsapi.String(password)}, nil
}

// randomPassword draws a password by rules from a cryptographic source:
// each character uniformly from every allowed one, except that under
// eachType one character of each included type takes a random place.
func randomPassword(rules passwordRules) (string, error) {
	keep := func(set string) string {
		return strings.Map(func(r rune) rune {
			if strings.ContainsRune(rules.exclude, r) {
				return -1
			}
			return r
		}, set)
	}
	var types []string
	for _, t := range []struct {
		set      string
		excluded bool
	}{{lowercase, rules.noLower}, {uppercase, rules.noUpper}, {digits, rules.noDigits}, {punctuation, rules.noPunctuation}} {
		// A type ExcludeCharacters empties is as excluded as one excluded
		// by name.
		if set := keep(t.set); !t.excluded && set != "" {
			types = append(types, set)
		}
	}
	all := strings.Join(types, "")
	if rules.space {
		all += keep(" ")
	}
	if all == "" {
		// UNVERIFIED wording.
		return "", invalidParameter("The password can't be generated: every character is excluded.")
	}
	if !rules.eachType {
		types = nil
	}
	if rules.length < len(types) {
		// UNVERIFIED wording, from another emulator's captures.
		return "", invalidParameter("Password length is too short based on the required types.")
	}
	var seed [32]byte
	_, _ = rand.Read(seed[:]) // crypto/rand.Read never fails
	r := mathrand.New(mathrand.NewChaCha8(seed))
	out := make([]byte, rules.length)
	for i := range out {
		set := all
		if i < len(types) {
			set = types[i]
		}
		out[i] = set[r.IntN(len(set))]
	}
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return string(out), nil
}
