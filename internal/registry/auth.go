package registry

import (
	"errors"
	"net/http"
	"strconv"
)

// registryUser is the user name ECR's registry accepts: the password is the
// token from GetAuthorizationToken.
const registryUser = "AWS"

// notAuthorized is ECR's observed 401 body. Docker and the OCI clients act
// on the status and the Basic challenge, not on the body.
const notAuthorized = "Not Authorized\n"

// authenticate checks HTTP Basic credentials, AWS and a password Tokens
// issued, and returns the access key and region the password was issued
// for; it answers
// the request itself when they don't pass. Repository URIs name no
// region, so the password is what puts a docker request in one. The raw
// authorizationToken is base64("AWS:<password>"), so `Authorization: Basic
// <authorizationToken>` is the same thing.
func (h *handler) authenticate(w http.ResponseWriter, r *http.Request) (accessKeyID, region string, ok bool) {
	user, password, ok := r.BasicAuth()
	if ok && user == registryUser {
		accessKeyID, region, err := h.tokens.Verify(password)
		if err == nil {
			return accessKeyID, region, true
		}
		if errors.Is(err, ErrTokenExpired) {
			// Docker shows "denied: <message>", as it does for ECR.
			h.fail(w, r, errorf(http.StatusForbidden, codeDenied, msgTokenExpired))
			return "", "", false
		}
	}
	hd := w.Header()
	hd.Set("Www-Authenticate", `Basic realm="https://`+r.Host+`/",service="ecr.amazonaws.com"`)
	hd.Set("Content-Type", "text/plain; charset=utf-8")
	hd.Set("Content-Length", strconv.Itoa(len(notAuthorized)))
	w.WriteHeader(http.StatusUnauthorized)
	w.Write([]byte(notAuthorized))
	return "", "", false
}
