package lifecycle

import (
	"testing"
	"time"
)

// FuzzParse: any policy text is parsed or refused with an error, never a
// panic, and whatever parses evaluates.
func FuzzParse(f *testing.F) {
	f.Add(`{"rules":[{"rulePriority":1,"selection":{"tagStatus":"tagged","tagPrefixList":["v"],"countType":"imageCountMoreThan","countNumber":10},"action":{"type":"expire"}}]}`)
	f.Add(`{"rules":[{"rulePriority":2,"selection":{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":1},"action":{"type":"expire"}}]}`)
	f.Add(`{"rules":[{"rulePriority":1,"selection":{"tagStatus":"tagged","tagPatternList":["*a*b*c*d*"],"countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}]}`)
	f.Add(`{"rules":null}`)
	f.Fuzz(func(t *testing.T, text string) {
		p, err := Parse(text)
		if err != nil {
			return
		}
		now := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
		images := []Image{
			{Digest: "sha256:a", Tags: []string{"v1", "latest"}, PushedAt: now.Add(-48 * time.Hour)},
			{Digest: "sha256:b", PushedAt: now.Add(-72 * time.Hour)},
			{Digest: "sha256:c", Tags: []string{"abcd"}, PushedAt: now},
		}
		Evaluate(p, images, now)
	})
}
