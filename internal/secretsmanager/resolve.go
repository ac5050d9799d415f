package secretsmanager

import (
	"math/rand/v2"
	"strings"

	"github.com/berth/berth/internal/secretsmanager/smstate"
)

// secretRef is the secret a SecretId names.
type secretRef struct {
	id smstate.SecretID
	// arn is set when the SecretId is a complete ARN, which only the secret
	// created with it matches: a secret deleted and created again under
	// its name has another.
	arn string
}

// parseSecretID resolves secretID, a secret's name (in region), its
// complete ARN, or a partial ARN (the ARN without the hyphen and six
// random characters that end it). As in Secrets Manager, an ARN whose
// name ends in a hyphen and six letters or digits is taken as complete:
// that is why names ending so are best avoided (they are allowed all the
// same). An ARN names its own region; an ARN of another account, or that
// is no secret's, names a secret that does not exist.
func (s *SecretsManager) parseSecretID(region, secretID string) (secretRef, error) {
	if !strings.HasPrefix(secretID, "arn:") {
		if !validName(secretID) {
			return secretRef{}, errInvalidName
		}
		return secretRef{id: smstate.SecretID{Region: region, Name: secretID}}, nil
	}
	// arn:<partition>:secretsmanager:<region>:<account>:secret:<name>[-<suffix>]
	parts := strings.SplitN(secretID, ":", 7)
	if len(parts) != 7 || parts[2] != "secretsmanager" || parts[3] == "" || parts[4] != s.account ||
		parts[5] != "secret" || !validName(parts[6]) {
		return secretRef{}, ErrSecretNotFound
	}
	if name, ok := cutARNSuffix(parts[6]); ok {
		return secretRef{id: smstate.SecretID{Region: parts[3], Name: name}, arn: secretID}, nil
	}
	return secretRef{id: smstate.SecretID{Region: parts[3], Name: parts[6]}}, nil
}

// cutARNSuffix returns the name a complete ARN's last part holds, if it
// ends as complete ARNs do.
func cutARNSuffix(s string) (string, bool) {
	n := len(s) - len("-XXXXXX")
	if n < 1 || s[n] != '-' {
		return "", false
	}
	for _, c := range s[n+1:] {
		if !isAlphanumeric(c) {
			return "", false
		}
	}
	return s[:n], true
}

// validName reports whether name is a secret name: ASCII letters, digits
// and /_+=.@- (the model bounds its length).
func validName(name string) bool {
	if name == "" {
		return false
	}
	for _, c := range name {
		if !isAlphanumeric(c) && !strings.ContainsRune("/_+=.@-", c) {
			return false
		}
	}
	return true
}

func isAlphanumeric(c rune) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

const alphanumerics = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// newSecretARN is the ARN of a secret created now under name: the name
// with a hyphen and six random letters and digits.
func (s *SecretsManager) newSecretARN(id smstate.SecretID) string {
	var suffix [6]byte
	for i := range suffix {
		suffix[i] = alphanumerics[rand.N(len(alphanumerics))]
	}
	return "arn:aws:secretsmanager:" + id.Region + ":" + s.account + ":secret:" + id.Name + "-" + string(suffix[:])
}
