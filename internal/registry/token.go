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
// self-describing token (the issuing access key, the region it is for and
// expiry, HMAC-SHA256 with a key from the data dir), so verification needs
// no state.
type Tokens struct {
	key []byte
	// defaultRegion is the region of passwords issued before they named
	// one: the server's only region then.
	defaultRegion string
	now           func() time.Time
}

// NewTokens returns a token issuer keyed with key; passwords that name no
// region are defaultRegion's (nil now: time.Now).
func NewTokens(key []byte, defaultRegion string, now func() time.Time) *Tokens {
	if now == nil {
		now = time.Now
	}
	return &Tokens{key: key, defaultRegion: defaultRegion, now: now}
}

type tokenClaims struct {
	AccessKeyID string `json:"k"`
	Region      string `json:"r,omitempty"`
	Expires     int64  `json:"e"`
}

// Issue returns a password for accessKeyID in region and when it expires.
func (t *Tokens) Issue(accessKeyID, region string) (string, time.Time) {
	expires := t.now().Add(TokenLifetime).UTC().Truncate(time.Second)
	claims, _ := json.Marshal(tokenClaims{AccessKeyID: accessKeyID, Region: region, Expires: expires.Unix()}) // strings and an int always encode
	payload := base64.RawURLEncoding.EncodeToString(claims)
	return payload + "." + t.sign(payload), expires
}

// Verify checks a password and returns the access key it was issued to
// and the region it is for.
func (t *Tokens) Verify(password string) (accessKeyID, region string, err error) {
	payload, sig, ok := strings.Cut(password, ".")
	if !ok || !hmac.Equal([]byte(sig), []byte(t.sign(payload))) {
		return "", "", ErrTokenInvalid
	}
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return "", "", ErrTokenInvalid
	}
	var claims tokenClaims
	if err := json.Unmarshal(raw, &claims); err != nil {
		return "", "", ErrTokenInvalid
	}
	if t.now().Unix() >= claims.Expires {
		return "", "", ErrTokenExpired
	}
	if claims.Region == "" {
		claims.Region = t.defaultRegion
	}
	return claims.AccessKeyID, claims.Region, nil
}

func (t *Tokens) sign(payload string) string {
	mac := hmac.New(sha256.New, t.key)
	mac.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}
