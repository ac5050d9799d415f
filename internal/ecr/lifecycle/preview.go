package lifecycle

import (
	"time"

	"github.com/berth/berth/internal/ecr/ecrstate"
)

// Preview decides what the policy does to the images at now, as the
// lifecycle controller decides it, and returns the images acted on: what
// a lifecycle policy preview shows.
func Preview(policyText string, images []ecrstate.Image, now time.Time) ([]ecrstate.PreviewResult, error) {
	decisions, err := Decide(policyText, images, now)
	if err != nil {
		return nil, err
	}
	var results []ecrstate.PreviewResult
	for _, d := range decisions {
		// Images a manifest list keeps are not expired, so not shown.
		if d.Action == ActionExpire && !d.Expires() {
			continue
		}
		results = append(results, ecrstate.PreviewResult{
			Digest:             d.Image.Digest.String(),
			Tags:               d.Image.Tags,
			PushedAt:           d.Image.PushedAt,
			RulePriority:       d.RulePriority,
			Action:             d.Action,
			TargetStorageClass: d.TargetStorageClass,
		})
	}
	return results, nil
}
