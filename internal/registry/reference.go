package registry

import (
	"regexp"
	"strings"
)

// ecrHost matches ECR's private registry host names,
// <account>.dkr.ecr.<region>.amazonaws.com (and the .com.cn partition).
var ecrHost = regexp.MustCompile(`^([0-9]{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$`)

// LocalImage is an image reference that names one of berth's own repositories.
type LocalImage struct {
	// Region is the region ECR's form of the name names; "" for a name
	// through berth's own host, which names none (the caller's region
	// applies).
	Region     string
	Repository string
	// Reference is the tag or digest ("latest" when the reference has neither).
	Reference string
}

// ResolveImage reports whether image names one of berth's own repositories:
// either through the host berth advertises (registryHost, as in
// repositoryUri) or in ECR's form <account>.dkr.ecr.<region>.amazonaws.com/
// <repo>[:tag|@digest] for this account, so that task definitions written
// for AWS work unchanged.
func ResolveImage(image, registryHost, accountID string) (LocalImage, bool) {
	host, rest, ok := strings.Cut(image, "/")
	if !ok || rest == "" {
		return LocalImage{}, false
	}
	var region string
	if host != registryHost {
		m := ecrHost.FindStringSubmatch(host)
		if m == nil || m[1] != accountID {
			return LocalImage{}, false
		}
		region = m[2]
	}
	repo, ref := rest, "latest"
	if name, digest, ok := strings.Cut(rest, "@"); ok {
		repo, ref = name, digest
	} else if i := strings.LastIndex(rest, ":"); i > strings.LastIndex(rest, "/") {
		repo, ref = rest[:i], rest[i+1:]
	}
	if repo == "" || ref == "" {
		return LocalImage{}, false
	}
	return LocalImage{Region: region, Repository: repo, Reference: ref}, true
}
