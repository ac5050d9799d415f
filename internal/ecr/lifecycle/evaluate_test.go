package lifecycle

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth/berth/internal/ecr/ecrstate"
)

// now is the evaluation clock of every test: no test reads the real one.
var now = time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)

const day = 24 * time.Hour

// img is a test image: name stands for its digest, age for its push time.
type img struct {
	name string
	tags []string
	age  time.Duration
	// pulled is how long ago it was last pulled (0: never).
	pulled time.Duration
	// children are the names of the images this manifest list lists.
	children []string
}

func dig(name string) digest.Digest { return digest.FromString(name) }

func snapshot(images []img) []Image {
	var catalog []ecrstate.Image
	for _, i := range images {
		r := ecrstate.Image{Digest: dig(i.name), Tags: i.tags, PushedAt: now.Add(-i.age)}
		if i.pulled > 0 {
			r.LastPulledAt = now.Add(-i.pulled)
		}
		for _, c := range i.children {
			r.Children = append(r.Children, dig(c))
		}
		catalog = append(catalog, r)
	}
	return Snapshot(catalog)
}

// outcome renders decisions as "name:priority" (expired), "name:priority
// transition" and "name:priority blocked", sorted, so tables read easily.
func outcome(decisions []Decision, images []img) string {
	names := map[digest.Digest]string{}
	for _, i := range images {
		names[dig(i.name)] = i.name
	}
	var out []string
	for _, d := range decisions {
		s := fmt.Sprintf("%s:%d", names[d.Image.Digest], d.RulePriority)
		switch {
		case d.Action == ActionTransition:
			s += " transition"
		case !d.Expires():
			s += " blocked"
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}

// articlePolicy is the article's put-lifecycle-policy text, verbatim.
const articlePolicy = `{
            "rules": [
                {
                    "rulePriority": 1,
                    "description": "Keep last 10 tagged images",
                    "selection": {
                        "tagStatus": "tagged",
                        "tagPrefixList": ["v"],
                        "countType": "imageCountMoreThan",
                        "countNumber": 10
                    },
                    "action": {"type": "expire"}
                },
                {
                    "rulePriority": 2,
                    "description": "Delete untagged images older than 1 day",
                    "selection": {
                        "tagStatus": "untagged",
                        "countType": "sinceImagePushed",
                        "countUnit": "days",
                        "countNumber": 1
                    },
                    "action": {"type": "expire"}
                }
            ]
        }`

func rules(rs ...string) string { return `{"rules":[` + strings.Join(rs, ",") + `]}` }

func rule(priority int, selection string) string {
	return fmt.Sprintf(`{"rulePriority":%d,"selection":%s,"action":{"type":"expire"}}`, priority, selection)
}

// Repositories of ECR's documented examples
// (userguide/lifecycle_policy_examples.html).
var (
	multipleRulesRepo = []img{
		{name: "A", tags: []string{"beta-1", "prod-1"}, age: 10 * day},
		{name: "B", tags: []string{"beta-2", "prod-2"}, age: 9 * day},
		{name: "C", tags: []string{"beta-3"}, age: 8 * day},
	}
	multipleTagsRepoA = []img{
		{name: "A", tags: []string{"alpha-1"}, age: 12 * day},
		{name: "B", tags: []string{"beta-1"}, age: 11 * day},
		{name: "C", tags: []string{"alpha-2", "beta-2"}, age: 10 * day},
		{name: "D", tags: []string{"alpha-3"}, age: 4 * day},
		{name: "E", tags: []string{"beta-3"}, age: 3 * day},
		{name: "F", tags: []string{"alpha-4", "beta-4"}, age: 2 * day},
	}
	multipleTagsRepoB = []img{
		{name: "A", tags: []string{"alpha-1", "beta-1", "gamma-1"}, age: 10 * day},
		{name: "B", tags: []string{"alpha-2", "beta-2"}, age: 9 * day},
		{name: "C", tags: []string{"alpha-3", "beta-3", "gamma-2"}, age: 8 * day},
	}
	allImagesRepoA = []img{
		{name: "A", tags: []string{"alpha-1"}, age: 4 * day},
		{name: "B", tags: []string{"beta-1"}, age: 3 * day},
		{name: "C", age: 2 * day},
		{name: "D", tags: []string{"alpha-2"}, age: 1 * day},
	}
	// The example says D and E were both pushed "1 day ago" and that the
	// untagged rule (older than one day) leaves E: E is the newer, under a
	// day old.
	allImagesRepoB = []img{
		{name: "A", tags: []string{"alpha-1", "beta-1"}, age: 4 * day},
		{name: "B", age: 3 * day},
		{name: "C", tags: []string{"alpha-2"}, age: 2 * day},
		{name: "D", tags: []string{"git hash"}, age: day + time.Hour},
		{name: "E", age: day - time.Hour},
	}
)

// articleRepo has v1..v12 pushed an hour apart (v12 newest), a release
// image tagged without the v prefix, and untagged images of several ages.
func articleRepo() []img {
	var images []img
	for i := 1; i <= 12; i++ {
		images = append(images, img{name: fmt.Sprintf("v%d", i), tags: []string{fmt.Sprintf("v%d", i)}, age: time.Duration(13-i) * time.Hour})
	}
	return append(images,
		img{name: "latest", tags: []string{"latest"}, age: 30 * day},
		img{name: "old-untagged", age: 2 * day},
		img{name: "day-old-untagged", age: day + time.Minute},
		img{name: "fresh-untagged", age: 23 * time.Hour},
	)
}

func TestEvaluate(t *testing.T) {
	tests := []struct {
		name   string
		policy string
		images []img
		now    time.Time
		want   string
	}{
		{
			name:   "doc: filtering on image age",
			policy: rules(rule(1, `{"tagStatus":"tagged","tagPatternList":["prod*"],"countType":"sinceImagePushed","countUnit":"days","countNumber":14}`)),
			images: []img{
				{name: "prod-old", tags: []string{"prod-1"}, age: 15 * day},
				{name: "prod-new", tags: []string{"prod-2"}, age: 13 * day},
				{name: "dev-old", tags: []string{"dev-1"}, age: 30 * day},
				{name: "untagged-old", age: 30 * day},
			},
			want: "prod-old:1",
		},
		{
			name:   "doc: filtering on image count",
			policy: rules(rule(1, `{"tagStatus":"untagged","countType":"imageCountMoreThan","countNumber":1}`)),
			images: []img{
				{name: "u1", age: 3 * day},
				{name: "u2", age: 2 * day},
				{name: "u3", age: 1 * day},
				{name: "tagged", tags: []string{"x"}, age: 9 * day},
			},
			want: "u1:1 u2:1",
		},
		{
			name: "doc: multiple rules, example A",
			policy: rules(rule(1, `{"tagStatus":"tagged","tagPatternList":["prod*"],"countType":"imageCountMoreThan","countNumber":1}`),
				rule(2, `{"tagStatus":"tagged","tagPatternList":["beta*"],"countType":"imageCountMoreThan","countNumber":1}`)),
			images: multipleRulesRepo,
			want:   "A:1",
		},
		{
			name: "doc: multiple rules, example B",
			policy: rules(rule(1, `{"tagStatus":"tagged","tagPatternList":["beta*"],"countType":"imageCountMoreThan","countNumber":1}`),
				rule(2, `{"tagStatus":"tagged","tagPatternList":["prod*"],"countType":"imageCountMoreThan","countNumber":1}`)),
			images: multipleRulesRepo,
			want:   "A:1 B:1",
		},
		{
			name: "doc (older edition): multiple rules with prefix lists",
			policy: rules(rule(1, `{"tagStatus":"tagged","tagPrefixList":["prod"],"countType":"imageCountMoreThan","countNumber":1}`),
				rule(2, `{"tagStatus":"tagged","tagPrefixList":["beta"],"countType":"imageCountMoreThan","countNumber":1}`)),
			images: multipleRulesRepo,
			want:   "A:1",
		},
		{
			name:   "doc: multiple tags in a single rule, example A",
			policy: rules(rule(1, `{"tagStatus":"tagged","tagPatternList":["alpha*","beta*"],"countType":"sinceImagePushed","countNumber":5,"countUnit":"days"}`)),
			images: multipleTagsRepoA,
			want:   "C:1",
		},
		{
			name:   "doc: multiple tags in a single rule, example B",
			policy: rules(rule(1, `{"tagStatus":"tagged","tagPatternList":["alpha*","beta*"],"countType":"imageCountMoreThan","countNumber":1}`)),
			images: multipleTagsRepoB,
			want:   "A:1 B:1",
		},
		{
			name:   "prefix lists need every prefix, on any tags",
			policy: rules(rule(1, `{"tagStatus":"tagged","tagPrefixList":["alpha","beta"],"countType":"sinceImagePushed","countNumber":5,"countUnit":"days"}`)),
			images: multipleTagsRepoA,
			want:   "C:1",
		},
		{
			name:   "doc: all images, example A",
			policy: rules(rule(1, `{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":1}`)),
			images: allImagesRepoA,
			want:   "A:1 B:1 C:1",
		},
		{
			name: "doc: all images, example B",
			policy: rules(rule(1, `{"tagStatus":"tagged","tagPatternList":["alpha*"],"countType":"imageCountMoreThan","countNumber":1}`),
				rule(2, `{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":1}`),
				rule(3, `{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":1}`)),
			images: allImagesRepoB,
			want:   "A:1 B:2 D:3",
		},
		{
			name:   "article: keeps the last 10 v images and untagged images a day old or younger",
			policy: articlePolicy,
			images: articleRepo(),
			want:   "day-old-untagged:2 old-untagged:2 v1:1 v2:1",
		},
		{
			name:   "article: an hour later the untagged image crossed the day",
			policy: articlePolicy,
			images: articleRepo(),
			now:    now.Add(time.Hour + time.Second),
			want:   "day-old-untagged:2 fresh-untagged:2 old-untagged:2 v1:1 v2:1",
		},
		{
			name:   "article: ten v images or fewer are all kept",
			policy: articlePolicy,
			images: articleRepo()[2:],
			want:   "day-old-untagged:2 old-untagged:2",
		},
		{
			name:   "article: a v image with another tag still counts as v",
			policy: articlePolicy,
			images: append(articleRepo()[:12], img{name: "v0", tags: []string{"release", "v0"}, age: 40 * day}),
			want:   "v0:1 v1:1 v2:1",
		},
		{
			name:   "exactly countNumber days old is not older",
			policy: rules(rule(1, `{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":1}`)),
			images: []img{{name: "edge", age: day}, {name: "past", age: day + time.Second}},
			want:   "past:1",
		},
		{
			name: "pull age sends images to the archive",
			policy: rules(`{"rulePriority":1,"selection":{"tagStatus":"any","countType":"sinceImagePulled","countUnit":"days","countNumber":90},"action":{"type":"transition","targetStorageClass":"archive"}}`,
				`{"rulePriority":2,"selection":{"tagStatus":"any","storageClass":"archive","countType":"sinceImageTransitioned","countUnit":"days","countNumber":90},"action":{"type":"expire"}}`),
			images: []img{
				{name: "pulled-lately", age: 200 * day, pulled: 10 * day},
				{name: "pulled-long-ago", age: 200 * day, pulled: 100 * day},
				{name: "never-pulled-old", age: 100 * day},
				{name: "never-pulled-new", age: 10 * day},
			},
			want: "never-pulled-old:1 transition pulled-long-ago:1 transition",
		},
		{
			name:   "a manifest list keeps the images it lists",
			policy: rules(rule(1, `{"tagStatus":"untagged","countType":"imageCountMoreThan","countNumber":1}`)),
			images: []img{
				{name: "index", tags: []string{"multi"}, age: 5 * day, children: []string{"amd64", "arm64"}},
				{name: "amd64", age: 5 * day},
				{name: "arm64", age: 5 * day},
				{name: "loose", age: 6 * day},
				{name: "newest", age: 1 * day},
			},
			want: "amd64:1 blocked arm64:1 blocked loose:1",
		},
		{
			name:   "images expire with the manifest list that lists them",
			policy: rules(rule(1, `{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":1}`)),
			images: []img{
				{name: "index", tags: []string{"old"}, age: 5 * day, children: []string{"amd64", "arm64"}},
				{name: "amd64", age: 5 * day},
				{name: "arm64", age: 5 * day},
				{name: "newest", tags: []string{"new"}, age: 1 * day},
			},
			want: "amd64:1 arm64:1 index:1",
		},
		{
			name:   "an image two lists share stays while one of them stays",
			policy: rules(rule(1, `{"tagStatus":"tagged","tagPatternList":["old*"],"countType":"sinceImagePushed","countUnit":"days","countNumber":1}`), rule(2, `{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":1}`)),
			images: []img{
				{name: "old-index", tags: []string{"old"}, age: 5 * day, children: []string{"shared"}},
				{name: "kept-index", tags: []string{"keep"}, age: 5 * day, children: []string{"shared", "own"}},
				{name: "shared", age: 5 * day},
				{name: "own", age: 5 * day},
			},
			want: "old-index:1 own:2 blocked shared:2 blocked",
		},
		{
			name:   "archive rules select nothing in standard storage",
			policy: rules(`{"rulePriority":1,"selection":{"tagStatus":"any","storageClass":"archive","countType":"sinceImageTransitioned","countUnit":"days","countNumber":90},"action":{"type":"expire"}}`),
			images: []img{{name: "old", age: 400 * day}},
			want:   "",
		},
		{
			name:   "pattern without wildcards matches the whole tag",
			policy: rules(rule(1, `{"tagStatus":"tagged","tagPatternList":["prod"],"countType":"sinceImagePushed","countUnit":"days","countNumber":1}`)),
			images: []img{{name: "exact", tags: []string{"prod"}, age: 2 * day}, {name: "longer", tags: []string{"prod-1"}, age: 2 * day}},
			want:   "exact:1",
		},
		{
			name:   "patterns with inner wildcards",
			policy: rules(rule(1, `{"tagStatus":"tagged","tagPatternList":["*-rc*-amd64"],"countType":"sinceImagePushed","countUnit":"days","countNumber":1}`)),
			images: []img{
				{name: "match", tags: []string{"1.2-rc3-amd64"}, age: 2 * day},
				{name: "other-arch", tags: []string{"1.2-rc3-arm64"}, age: 2 * day},
				{name: "release", tags: []string{"1.2-amd64"}, age: 2 * day},
			},
			want: "match:1",
		},
		{
			name:   "push-time ties break by digest, the same every time",
			policy: rules(rule(1, `{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":1}`)),
			images: []img{{name: "x", tags: []string{"x"}, age: day}, {name: "y", tags: []string{"y"}, age: day}},
			want:   tieLoser("x", "y") + ":1",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse(tc.policy)
			if err != nil {
				t.Fatalf("policy: %v", err)
			}
			at := now
			if !tc.now.IsZero() {
				at = tc.now
			}
			got := outcome(Evaluate(p, snapshot(tc.images), at), tc.images)
			if got != tc.want {
				t.Fatalf("decisions %q, want %q", got, tc.want)
			}
		})
	}
}

// tieLoser is the image of two pushed at once that an
// imageCountMoreThan 1 rule expires: the one with the greater digest.
func tieLoser(a, b string) string {
	if dig(a).String() > dig(b).String() {
		return a
	}
	return b
}

// TestEvaluateOrderAndFields checks what callers read from decisions: the
// order (rule, then oldest first) and the image and action they carry.
func TestEvaluateOrderAndFields(t *testing.T) {
	images := articleRepo()
	decisions, err := Decide(articlePolicy, catalogImages(images), now)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, d := range decisions {
		order = append(order, strings.Join(d.Image.Tags, ",")+"@"+now.Sub(d.Image.PushedAt).String())
		if d.Action != ActionExpire || d.TargetStorageClass != "" || !d.Expires() {
			t.Errorf("decision %+v", d)
		}
	}
	want := []string{"v1@12h0m0s", "v2@11h0m0s", "@48h0m0s", "@24h1m0s"}
	if !slices.Equal(order, want) {
		t.Fatalf("order %q, want %q", order, want)
	}
}

func catalogImages(images []img) []ecrstate.Image {
	var out []ecrstate.Image
	for _, i := range images {
		out = append(out, ecrstate.Image{Digest: dig(i.name), Tags: i.tags, PushedAt: now.Add(-i.age)})
	}
	return out
}

func TestDecideRejectsInvalidPolicies(t *testing.T) {
	_, err := Decide(`{"rules":[]}`, nil, now)
	var bad *InvalidPolicyError
	if !errors.As(err, &bad) || bad.Detail != "array is too short: must have at least 1 elements but instance has 0 elements" {
		t.Fatalf("err %v", err)
	}
}

func TestSnapshot(t *testing.T) {
	got := Snapshot([]ecrstate.Image{
		{Digest: dig("index"), Tags: []string{"multi"}, Children: []digest.Digest{dig("a"), dig("b")}},
		{Digest: dig("other-index"), Children: []digest.Digest{dig("a")}},
		{Digest: dig("a")},
		{Digest: dig("b")},
	})
	refs := map[digest.Digest][]digest.Digest{}
	for _, i := range got {
		refs[i.Digest] = i.ReferencedBy
	}
	want := map[digest.Digest][]digest.Digest{
		dig("index"): nil, dig("other-index"): nil,
		dig("a"): {dig("index"), dig("other-index")},
		dig("b"): {dig("index")},
	}
	if !maps.EqualFunc(refs, want, slices.Equal) {
		t.Fatalf("referenced by %v, want %v", refs, want)
	}
}
