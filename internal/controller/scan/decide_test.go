package scan

import (
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berth/berth/internal/ecr/ecrstate"
)

func TestDecide(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	img := ecrstate.Image{Repository: "app", Digest: "sha256:aa", MediaType: "application/vnd.oci.image.manifest.v1+json", ConfigType: "application/vnd.oci.image.config.v1+json", PushedAt: t0}
	index := ecrstate.Image{Repository: "app", Digest: "sha256:bb", MediaType: "application/vnd.oci.image.index.v1+json", Children: []digest.Digest{"sha256:aa"}, PushedAt: t0}
	signature := img
	signature.ConfigType = "application/vnd.dev.cosign.artifact.sig.v1+json"

	basic := ecrstate.ScanningConfig{ScanType: ecrstate.ScanTypeBasic}
	rule := func(scanType, freq string, at time.Time, filters ...string) ecrstate.ScanningConfig {
		return ecrstate.ScanningConfig{ScanType: scanType, UpdatedAt: at, Rules: []ecrstate.ScanningRule{{ScanFrequency: freq, Filters: filters}}}
	}
	continuous := rule(ecrstate.ScanTypeEnhanced, ecrstate.FrequencyContinuousScan, t0.Add(time.Hour), "*")
	enhancedPush := rule(ecrstate.ScanTypeEnhanced, ecrstate.FrequencyScanOnPush, t0.Add(time.Hour), "*")

	plain := ecrstate.Repository{Name: "app"}
	onPush := ecrstate.Repository{Name: "app", ScanOnPush: true}
	db1 := ecrstate.ScanSource{Records: 10, ImportedAt: t0}
	db2 := ecrstate.ScanSource{Records: 12, ImportedAt: t0.Add(time.Hour)}
	empty := ecrstate.ScanSource{}

	record := func(scanType, status string, src ecrstate.ScanSource) *ecrstate.ScanRecord {
		return &ecrstate.ScanRecord{Repository: "app", Digest: img.Digest, ScanType: scanType, Status: status, Source: src}
	}
	emptyFailed := record(ecrstate.ScanTypeBasic, ecrstate.ScanFailed, empty)
	emptyFailed.EmptyDatabase = true

	for _, tc := range []struct {
		name  string
		in    decideInput
		want  actionKind
		typ   string
		trigg string
	}{
		{name: "image gone, record left", in: decideInput{record: record(ecrstate.ScanTypeBasic, ecrstate.ScanComplete, db1)}, want: actDelete},
		{name: "image gone, no record", in: decideInput{}, want: actNone},
		{name: "manual repository", in: decideInput{imageFound: true, image: img, repo: plain, config: basic, source: db1}, want: actNone},
		{name: "repository scanOnPush", in: decideInput{imageFound: true, image: img, repo: onPush, config: basic, source: db1}, want: actStart, typ: ecrstate.ScanTypeBasic, trigg: ecrstate.TriggerPush},
		{name: "scanOnPush skips an index", in: decideInput{imageFound: true, image: index, repo: onPush, config: basic}, want: actNone},
		{name: "scanOnPush skips a signature", in: decideInput{imageFound: true, image: signature, repo: onPush, config: basic}, want: actNone},
		{name: "basic rule, pushed after it", in: decideInput{imageFound: true, image: img, repo: plain, config: rule(ecrstate.ScanTypeBasic, ecrstate.FrequencyScanOnPush, t0.Add(-time.Hour), "a*")}, want: actStart, typ: ecrstate.ScanTypeBasic, trigg: ecrstate.TriggerPush},
		{name: "basic rule, pushed before it", in: decideInput{imageFound: true, image: img, repo: plain, config: rule(ecrstate.ScanTypeBasic, ecrstate.FrequencyScanOnPush, t0.Add(time.Hour), "a*")}, want: actNone},
		{name: "basic rule without wildcard matches a substring", in: decideInput{imageFound: true, image: img, repo: plain, config: rule(ecrstate.ScanTypeBasic, ecrstate.FrequencyScanOnPush, t0, "pp")}, want: actStart, typ: ecrstate.ScanTypeBasic, trigg: ecrstate.TriggerPush},
		{name: "basic rule not matching", in: decideInput{imageFound: true, image: img, repo: plain, config: rule(ecrstate.ScanTypeBasic, ecrstate.FrequencyScanOnPush, t0, "prod*")}, want: actNone},
		{name: "enhanced continuous covers existing images", in: decideInput{imageFound: true, image: img, repo: plain, config: continuous, source: db1}, want: actStart, typ: ecrstate.ScanTypeEnhanced, trigg: ecrstate.TriggerContinuous},
		{name: "enhanced on push", in: decideInput{imageFound: true, image: img, repo: plain, config: enhancedPush, source: db1}, want: actStart, typ: ecrstate.ScanTypeEnhanced, trigg: ecrstate.TriggerPush},
		{name: "enhanced ignores repository scanOnPush", in: decideInput{imageFound: true, image: img, repo: onPush, config: rule(ecrstate.ScanTypeEnhanced, ecrstate.FrequencyContinuousScan, t0, "prod*")}, want: actNone},
		{name: "in progress runs (after a restart too)", in: decideInput{imageFound: true, image: img, repo: plain, config: basic, record: record(ecrstate.ScanTypeBasic, ecrstate.ScanInProgress, empty)}, want: actRun, typ: ecrstate.ScanTypeBasic},
		{name: "basic scan under enhanced now", in: decideInput{imageFound: true, image: img, repo: plain, config: continuous, source: db1, record: record(ecrstate.ScanTypeBasic, ecrstate.ScanComplete, db1)}, want: actRescan, typ: ecrstate.ScanTypeEnhanced, trigg: ecrstate.TriggerContinuous},
		{name: "continuous, database changed", in: decideInput{imageFound: true, image: img, repo: plain, config: continuous, source: db2, record: record(ecrstate.ScanTypeEnhanced, ecrstate.ScanComplete, db1)}, want: actRescan, typ: ecrstate.ScanTypeEnhanced, trigg: ecrstate.TriggerContinuous},
		{name: "continuous, database unchanged", in: decideInput{imageFound: true, image: img, repo: plain, config: continuous, source: db1, record: record(ecrstate.ScanTypeEnhanced, ecrstate.ScanComplete, db1)}, want: actNone},
		{name: "enhanced on push is not continuous", in: decideInput{imageFound: true, image: img, repo: plain, config: enhancedPush, source: db2, record: record(ecrstate.ScanTypeEnhanced, ecrstate.ScanComplete, db1)}, want: actNone},
		{name: "basic is not continuous", in: decideInput{imageFound: true, image: img, repo: onPush, config: basic, source: db2, record: record(ecrstate.ScanTypeBasic, ecrstate.ScanComplete, db1)}, want: actNone},
		{name: "empty database, still empty", in: decideInput{imageFound: true, image: img, repo: onPush, config: basic, source: empty, record: emptyFailed}, want: actNone},
		{name: "empty database, now loaded", in: decideInput{imageFound: true, image: img, repo: onPush, config: basic, source: db1, record: emptyFailed}, want: actRescan, typ: ecrstate.ScanTypeBasic},
		{name: "unsupported image stays", in: decideInput{imageFound: true, image: img, repo: onPush, config: basic, source: db2, record: record(ecrstate.ScanTypeBasic, ecrstate.ScanUnsupported, db1)}, want: actNone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := decide(tc.in)
			if got.kind != tc.want || (tc.typ != "" && got.scanType != tc.typ) || (tc.trigg != "" && got.trigger != tc.trigg) {
				t.Fatalf("decide = %v %s %s, want %v %s %s", got.kind, got.scanType, got.trigger, tc.want, tc.typ, tc.trigg)
			}
		})
	}
}
