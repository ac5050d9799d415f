package ecrstate

import (
	"reflect"
	"testing"
	"time"

	"github.com/berth/berth/internal/vulndb"
)

// ECR's filter table (image-scanning-filters.html): repository names
// across, filters down.
func TestScanningFilterMatches(t *testing.T) {
	names := []string{"prod", "repo-prod", "prod-repo", "repo-prod-repo", "prodrepo"}
	for filter, want := range map[string][]bool{
		"prod":      {true, true, true, true, true},
		"*prod":     {true, true, false, false, false},
		"prod*":     {true, false, true, false, true},
		"*prod*":    {true, true, true, true, true},
		"prod*repo": {false, false, true, false, true},
	} {
		for i, name := range names {
			if got := scanningFilterMatches(filter, name); got != want[i] {
				t.Errorf("filter %q on %q: %v, want %v", filter, name, got, want[i])
			}
		}
	}
}

func TestScanningFrequency(t *testing.T) {
	rules := func(scanType string, rs ...ScanningRule) ScanningConfig {
		return ScanningConfig{ScanType: scanType, Rules: rs}
	}
	push := func(f ...string) ScanningRule {
		return ScanningRule{ScanFrequency: FrequencyScanOnPush, Filters: f}
	}
	cont := func(f ...string) ScanningRule {
		return ScanningRule{ScanFrequency: FrequencyContinuousScan, Filters: f}
	}
	for _, tc := range []struct {
		name    string
		cfg     ScanningConfig
		repo    Repository
		want    string
		applied []string
	}{
		{"default basic", rules(ScanTypeBasic), Repository{Name: "app"}, FrequencyManual, nil},
		{"repository scanOnPush", rules(ScanTypeBasic), Repository{Name: "app", ScanOnPush: true}, FrequencyScanOnPush, nil},
		{"basic rule", rules(ScanTypeBasic, push("prod-*", "app")), Repository{Name: "my-app"}, FrequencyScanOnPush, []string{"app"}},
		{"basic rule not matching", rules(ScanTypeBasic, push("prod-*")), Repository{Name: "my-app"}, FrequencyManual, nil},
		{"enhanced continuous wins", rules(ScanTypeEnhanced, push("*"), cont("my-*")), Repository{Name: "my-app"}, FrequencyContinuousScan, []string{"my-*"}},
		{"enhanced on push", rules(ScanTypeEnhanced, push("*"), cont("prod-*")), Repository{Name: "my-app"}, FrequencyScanOnPush, []string{"*"}},
		{"enhanced ignores scanOnPush", rules(ScanTypeEnhanced, cont("prod-*")), Repository{Name: "my-app", ScanOnPush: true}, FrequencyManual, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			freq, applied := tc.cfg.Frequency(tc.repo)
			if freq != tc.want || !reflect.DeepEqual(applied, tc.applied) {
				t.Fatalf("got %s %v, want %s %v", freq, applied, tc.want, tc.applied)
			}
		})
	}
}

func TestBasicScanQuota(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		rec  ScanRecord
		now  time.Time
		want bool
	}{
		{"never scanned", ScanRecord{}, t0, true},
		{"complete an hour ago", ScanRecord{Status: ScanComplete, BasicStartedAt: t0}, t0.Add(time.Hour), false},
		{"complete a day ago", ScanRecord{Status: ScanComplete, BasicStartedAt: t0}, t0.Add(24 * time.Hour), true},
		{"scan on push counts", ScanRecord{Status: ScanUnsupported, Trigger: TriggerPush, BasicStartedAt: t0}, t0.Add(23 * time.Hour), false},
		{"in progress", ScanRecord{Status: ScanInProgress, ScanType: ScanTypeBasic, BasicStartedAt: t0.Add(-48 * time.Hour)}, t0, false},
		{"failed does not count", ScanRecord{Status: ScanFailed, BasicStartedAt: t0}, t0.Add(time.Minute), true},
		{"enhanced scans do not count", ScanRecord{Status: ScanComplete, ScanType: ScanTypeEnhanced}, t0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := QuotaAllowsBasicScan(tc.rec, tc.now); got != tc.want {
				t.Fatalf("allowed %v, want %v", got, tc.want)
			}
		})
	}
}

func TestUncheckedPackages(t *testing.T) {
	info := vulndb.Info{Records: 4, Ecosystems: map[string]int{"Go": 3, "Debian": 1}}
	pkgs := []vulndb.Package{
		{Ecosystem: "Debian:12", Name: "openssl"},
		{Ecosystem: "Alpine:v3.20", Name: "musl"},
		{Ecosystem: "Alpine:v3.20", Name: "busybox"},
		{Ecosystem: "Go", Name: "stdlib"},
		{Ecosystem: "Ubuntu:22.04:LTS", Name: "bash"},
	}
	got := UncheckedPackages(pkgs, info)
	if len(got) != 2 || got["Alpine"] != 2 || got["Ubuntu"] != 1 {
		t.Fatalf("unchecked %v", got)
	}
	want := " Not checked, for want of records in berth's vulnerability database (load them with `berth vulndb import`): 2 Alpine, 1 Ubuntu packages."
	if note := UncheckedNote(got); note != want {
		t.Fatalf("note %q", note)
	}
	if UncheckedPackages(pkgs[:1], info) != nil || UncheckedNote(nil) != "" {
		t.Fatal("a covered image has unchecked packages")
	}
}
