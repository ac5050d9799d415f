package lifecycle

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth/berth/internal/ecr/ecrstate"
)

// Image is what evaluation knows of one image of a repository.
type Image struct {
	Digest digest.Digest
	// Tags are the image's tags; none for an untagged image.
	Tags     []string
	PushedAt time.Time
	// LastPulledAt is zero for an image never pulled.
	LastPulledAt time.Time
	// ReferencedBy are the manifest lists (image indexes) of the
	// repository that list this image.
	ReferencedBy []digest.Digest
}

// Decision is what a policy does to one image.
type Decision struct {
	Image Image
	// RulePriority is the rulePriority of the rule that acts on the image.
	RulePriority int
	// Action is ActionExpire or ActionTransition (to TargetStorageClass).
	Action             string
	TargetStorageClass string
	// BlockedBy, for an image the rule would expire, are the manifest lists
	// that reference it and are not expired with it. ECR does not expire an
	// image a manifest list references (ImageReferencedByManifestList), so
	// a blocked image stays until the lists are gone.
	BlockedBy []digest.Digest
}

// Expires reports whether the decision deletes the image now.
func (d Decision) Expires() bool { return d.Action == ActionExpire && len(d.BlockedBy) == 0 }

// Snapshot turns a repository's images, as the catalog holds them, into
// what Evaluate reads.
func Snapshot(images []ecrstate.Image) []Image {
	referencedBy := map[digest.Digest][]digest.Digest{}
	for _, img := range images {
		for _, child := range img.Children {
			referencedBy[child] = append(referencedBy[child], img.Digest)
		}
	}
	out := make([]Image, len(images))
	for i, img := range images {
		out[i] = Image{
			Digest:       img.Digest,
			Tags:         slices.Clone(img.Tags),
			PushedAt:     img.PushedAt,
			LastPulledAt: img.LastPulledAt,
			ReferencedBy: referencedBy[img.Digest],
		}
	}
	return out
}

// Decide parses a stored policy and evaluates it over a repository's
// images: the one path both the lifecycle policy preview and the
// lifecycle controller take.
func Decide(policyText string, images []ecrstate.Image, now time.Time) ([]Decision, error) {
	policy, err := Parse(policyText)
	if err != nil {
		return nil, err
	}
	return Evaluate(policy, Snapshot(images), now), nil
}

// Evaluate applies a policy to a repository's images as ECR does and
// returns its decisions, in rule priority order, oldest image first within
// a rule.
//
// Rules are applied in priority order. A rule selects images by tag status
// and tag lists, then picks those past its count (imageCountMoreThan: all
// but the newest countNumber) or age (pushed, or last pulled, more than
// countNumber days before now). An image selected by a higher-priority rule
// is never acted on by a lower-priority one, even if that rule kept it, but
// it still takes its place in the lower rule's count. So an image is acted
// on by at most one rule.
//
// berth stores every image in the standard storage class, so rules on the
// archive class select nothing.
func Evaluate(p *Policy, images []Image, now time.Time) []Decision {
	newestFirst := slices.Clone(images)
	slices.SortStableFunc(newestFirst, func(a, b Image) int {
		if c := b.PushedAt.Compare(a.PushedAt); c != 0 {
			return c
		}
		return strings.Compare(a.Digest.String(), b.Digest.String())
	})
	seen := map[digest.Digest]bool{}
	var decisions []Decision
	for _, rule := range p.Rules {
		var selected []Image
		for _, img := range newestFirst {
			if rule.Selection.selects(img) {
				selected = append(selected, img)
			}
		}
		for i, img := range selected {
			if !seen[img.Digest] && rule.Selection.due(i, img, now) {
				decisions = append(decisions, Decision{
					Image:              img,
					RulePriority:       rule.Priority,
					Action:             rule.Action.Type,
					TargetStorageClass: rule.Action.TargetStorageClass,
				})
			}
		}
		for _, img := range selected {
			seen[img.Digest] = true
		}
	}
	blockReferenced(decisions)
	slices.SortStableFunc(decisions, func(a, b Decision) int {
		return cmp.Or(cmp.Compare(a.RulePriority, b.RulePriority), a.Image.PushedAt.Compare(b.Image.PushedAt),
			strings.Compare(a.Image.Digest.String(), b.Image.Digest.String()))
	})
	return decisions
}

// selects reports whether an image is one the selection applies to.
func (s Selection) selects(img Image) bool {
	if s.StorageClass != StorageStandard {
		return false
	}
	switch s.TagStatus {
	case TagStatusUntagged:
		return len(img.Tags) == 0
	case TagStatusTagged:
		return len(img.Tags) > 0 && matchesTags(s, img.Tags)
	}
	return true
}

// matchesTags applies a tagged rule's lists: every prefix (or pattern) of
// the list must match some tag of the image, not necessarily the same one.
func matchesTags(s Selection, tags []string) bool {
	for _, prefix := range s.TagPrefixList {
		if !slices.ContainsFunc(tags, func(t string) bool { return strings.HasPrefix(t, prefix) }) {
			return false
		}
	}
	for _, pattern := range s.TagPatternList {
		if !slices.ContainsFunc(tags, func(t string) bool { return ecrstate.MatchWildcard(pattern, t) }) {
			return false
		}
	}
	return true
}

// due reports whether the selection's count or age picks img, the i-th
// newest image the rule selects.
func (s Selection) due(i int, img Image, now time.Time) bool {
	limit := time.Duration(s.CountNumber) * 24 * time.Hour
	switch s.CountType {
	case CountImagesMoreThan:
		return i >= s.CountNumber
	case CountSinceImagePushed:
		return now.Sub(img.PushedAt) > limit
	case CountSinceImagePulled:
		// An image never pulled counts from its push.
		last := img.LastPulledAt
		if last.IsZero() {
			last = img.PushedAt
		}
		return now.Sub(last) > limit
	}
	// sinceImageTransitioned selects archived images, which berth has not.
	return false
}

// blockReferenced marks the expirations a manifest list prevents: an image
// may expire only if every list that references it expires too (the
// controller deletes the lists first). Blocking one image can block the
// images it references in turn, so this repeats until nothing changes.
func blockReferenced(decisions []Decision) {
	expiring := map[digest.Digest]bool{}
	for _, d := range decisions {
		if d.Action == ActionExpire {
			expiring[d.Image.Digest] = true
		}
	}
	for changed := true; changed; {
		changed = false
		for i := range decisions {
			d := &decisions[i]
			if !expiring[d.Image.Digest] {
				continue
			}
			for _, list := range d.Image.ReferencedBy {
				if !expiring[list] {
					delete(expiring, d.Image.Digest)
					changed = true
					break
				}
			}
		}
	}
	for i := range decisions {
		d := &decisions[i]
		if d.Action != ActionExpire || expiring[d.Image.Digest] {
			continue
		}
		for _, list := range d.Image.ReferencedBy {
			if !expiring[list] {
				d.BlockedBy = append(d.BlockedBy, list)
			}
		}
	}
}
