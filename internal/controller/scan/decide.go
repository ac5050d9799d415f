package scan

import (
	"github.com/berth/berth/internal/ecr/ecrstate"
	"github.com/berth/berth/internal/ecr/scanpolicy"
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
	image      ecrstate.Image
	repo       ecrstate.Repository
	config     ecrstate.ScanningConfig
	// record is the image's scan record, nil if it has none.
	record *ecrstate.ScanRecord
	// source is the vulnerability database's current state.
	source ecrstate.ScanSource
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
	enhanced := in.config.Enhanced(in.repo)
	trigger := ecrstate.TriggerPush
	if in.config.Continuous(in.repo) {
		trigger = ecrstate.TriggerContinuous
	}
	if rec == nil {
		if scanpolicy.ScanOnPushDue(in.config, in.repo, in.image) {
			return action{kind: actStart, scanType: in.config.ScanType, trigger: trigger}
		}
		return action{}
	}
	switch {
	case rec.Status == ecrstate.ScanInProgress:
		return action{kind: actRun, scanType: rec.ScanType, trigger: rec.Trigger}
	case enhanced && rec.ScanType != ecrstate.ScanTypeEnhanced:
		// Enhanced scanning came on: Inspector takes over the image.
		return action{kind: actRescan, scanType: ecrstate.ScanTypeEnhanced, trigger: trigger}
	case rec.EmptyDatabase && in.source.Records > 0:
		// The scan could not check anything; now it can.
		return action{kind: actRescan, scanType: rec.ScanType, trigger: rec.Trigger}
	case enhanced && trigger == ecrstate.TriggerContinuous && rec.ScanType == ecrstate.ScanTypeEnhanced &&
		rec.Status == ecrstate.ScanComplete && in.source.Records > 0 && !rec.Source.Equal(in.source):
		// Continuous scanning: the database changed since the last match.
		return action{kind: actRescan, scanType: ecrstate.ScanTypeEnhanced, trigger: ecrstate.TriggerContinuous}
	}
	return action{}
}
