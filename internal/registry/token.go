package registry

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// TokenLifetime is how long a registry password from
// GetAuthorizationToken is valid, as ECR's.
const TokenLifetime = 12 * time.Hour

var (
	// ErrTokenInvalid: the password is not one berth issued.
	ErrTokenInvalid = errors.New("registry token invalid")
	// ErrTokenExpired: the password was issued but has expired.
	ErrTokenExpired = errors.New("registry token expired")
)

// Tokens issues and verifies registry passwords. A password is a signed,
// self-describing token (the issuing access key and expiry, HMAC-SHA256 with
// a key from the data dir), so verification needs no state.
type Tokens struct {
	key []byte
	now func() time.Time
}

// NewTokens returns a token issuer keyed with key (nil now: time.Now).
func NewTokens(key []byte, now func() time.Time) *Tokens {
	if now == nil {
		now = time.Now
	}
	return &Tokens{key: key, now: now}
}

type tokenClaims struct {
	AccessKeyID string `json:"k"`
	Expires     int64  `json:"e"`
}

// Issue returns a password for accessKeyID and when it expires.
func (t *Tokens) Issue(accessKeyID string) (string, time.Time) {
	expires := t.now().Add(TokenLifetime).UTC().Truncate(time.Second)
	claims, _ := json.Marshal(tokenClaims{AccessKeyID: accessKeyID, Expires: expires.Unix()}) // a string and an int always encode
	payload := base64.RawURLEncoding.EncodeToString(claims)
	return payload + "." + t.sign(payload), expires
}

// Verify checks a password and returns the access key it was issued to.
func (t *Tokens) Verify(password string) (string, error) {
	payload, sig, ok := strings.Cut(password, ".")
	if !ok || !hmac.Equal([]byte(sig), []byte(t.sign(payload))) {
		return "", ErrTokenInvalid
	}
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return "", ErrTokenInvalid
	}
	var claims tokenClaims
	if err := json.Unmarshal(raw, &claims); err != nil {
		return "", ErrTokenInvalid
	}
	if t.now().Unix() >= claims.Expires {
		return "", ErrTokenExpired
	}
	return claims.AccessKeyID, nil
}

func (t *Tokens) sign(payload string) string {
	mac := hmac.New(sha256.New, t.key)
	mac.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}
