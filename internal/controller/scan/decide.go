package scan

import (
	"github.com/berth/berth/internal/ecr"
	"github.com/berth/berth/internal/registry"
)

// actionKind is what the controller does for one image.
type actionKind int

const (
	// actNone: the image's scan state is what it should be.
	actNone actionKind = iota
	// actDelete: the image is gone; its scan record goes too.
	actDelete
	// actStart: a new scan is due (on push, or the image came under an
	// enhanced rule); it is recorded IN_PROGRESS first, then run.
	actStart
	// actRun: a scan is recorded IN_PROGRESS (started by StartImageScan,
	// or by this controller before a restart): run it.
	actRun
	// actRescan: match the image again (its kept inventory, so no layer is
	// read) and replace the findings, without passing through IN_PROGRESS.
	actRescan
)

func (k actionKind) String() string {
	return [...]string{"none", "delete", "start", "run", "rescan"}[k]
}

// action is a decision: what to do, and for a new scan or a rescan, under
// which scan type and trigger.
type action struct {
	kind     actionKind
	scanType string
	trigger  string
}

// decideInput is what a decision reads.
type decideInput struct {
	// imageFound is false once the image is gone (deleted, expired, its
	// repository deleted).
	imageFound bool
	image      registry.Image
	repo       registry.Repository
	config     ecr.ScanningConfig
	// record is the image's scan record, nil if it has none.
	record *ecr.ScanRecord
	// source is the vulnerability database's current state.
	source ecr.ScanSource
}

// decide is the controller's whole policy for one image.
func decide(in decideInput) action {
	rec := in.record
	if !in.imageFound {
		if rec != nil {
			return action{kind: actDelete}
		}
		return action{}
	}
	freq, _ := in.config.Frequency(in.repo)
	enhanced := in.config.Enhanced(in.repo)
	trigger := ecr.TriggerPush
	if enhanced && freq == ecr.ScanFrequencyContinuousScan {
		trigger = ecr.TriggerContinuous
	}
	if rec == nil {
		if ecr.ScanOnPushDue(in.config, in.repo, in.image) {
			return action{kind: actStart, scanType: in.config.ScanType, trigger: trigger}
		}
		return action{}
	}
	switch {
	case rec.Status == ecr.ScanInProgress:
		return action{kind: actRun, scanType: rec.ScanType, trigger: rec.Trigger}
	case enhanced && rec.ScanType != ecr.ScanTypeEnhanced:
		// Enhanced scanning came on: Inspector takes over the image.
		return action{kind: actRescan, scanType: ecr.ScanTypeEnhanced, trigger: trigger}
	case rec.EmptyDatabase && in.source.Records > 0:
		// The scan could not check anything; now it can.
		return action{kind: actRescan, scanType: rec.ScanType, trigger: rec.Trigger}
	case enhanced && trigger == ecr.TriggerContinuous && rec.ScanType == ecr.ScanTypeEnhanced &&
		rec.Status == ecr.ScanComplete && in.source.Records > 0 && !rec.Source.Equal(in.source):
		// Continuous scanning: the database changed since the last match.
		return action{kind: actRescan, scanType: ecr.ScanTypeEnhanced, trigger: ecr.TriggerContinuous}
	}
	return action{}
}
