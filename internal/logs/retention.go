package logs

import (
	"context"
	"time"

	"github.com/berth/berth/internal/logs/logdata"
	"github.com/berth/berth/internal/logs/logsstate"
	"github.com/berth/berth/internal/store"
)

// DefaultRetentionInterval is how often the retention sweep runs unless
// told otherwise: expired events leave the disk within an hour of expiring,
// as CloudWatch Logs promises.
const DefaultRetentionInterval = 15 * time.Minute

// RunRetention sweeps every interval (0: DefaultRetentionInterval) until
// ctx ends: events older than their group's retention leave the disk
// (reads hide them at once), and the files of streams no record names any
// more (a deletion that failed half way) are removed.
func (l *Logs) RunRetention(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		interval = DefaultRetentionInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := l.s.sweep(ctx); err != nil && ctx.Err() == nil {
			l.s.log.Warn("log retention sweep failed; it runs again", "err", err, "in", interval)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (s *service) sweep(ctx context.Context) error {
	groups, _, err := store.List[logsstate.LogGroup](ctx, s.store, logsstate.GroupPrefix, store.ListOptions{})
	if err != nil {
		return err
	}
	retention := make(map[logsstate.GroupID]int64, len(groups))
	for _, g := range groups {
		retention[g.Value.ID()] = retentionCutoff(g.Value, millis(s.now()))
	}
	streams, _, err := store.List[logsstate.LogStream](ctx, s.store, logsstate.StreamPrefix, store.ListOptions{})
	if err != nil {
		return err
	}
	named := make(map[logdata.StreamID]bool, len(streams))
	var freed int64
	for _, st := range streams {
		id := logdata.StreamID(st.Value.DataID)
		named[id] = true
		cutoff := retention[st.Value.GroupID()]
		if cutoff == 0 {
			continue
		}
		n, err := s.data.Expire(ctx, id, cutoff)
		if err != nil {
			return err
		}
		freed += n
	}
	onDisk, err := s.data.Streams()
	if err != nil {
		return err
	}
	var orphans []logdata.StreamID
	for _, id := range onDisk {
		if !named[id] {
			orphans = append(orphans, id)
		}
	}
	if len(orphans) > 0 {
		// A stream created since the first listing has its record listed
		// now; one created later had no files when the disk was listed.
		streams, _, err := store.List[logsstate.LogStream](ctx, s.store, logsstate.StreamPrefix, store.ListOptions{})
		if err != nil {
			return err
		}
		for _, st := range streams {
			named[logdata.StreamID(st.Value.DataID)] = true
		}
	}
	for _, id := range orphans {
		if named[id] {
			continue
		}
		stats, _ := s.data.Stats(id)
		if err := s.data.Delete(id); err != nil {
			return err
		}
		freed += stats.StoredBytes
	}
	if freed > 0 {
		s.metrics.expiredBytes.Add(float64(freed))
		s.log.Info("log retention sweep freed space", "bytes", freed)
	}
	return nil
}
