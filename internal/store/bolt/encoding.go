package bolt

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/berth/berth/internal/store"
)

// errCorrupt means a stored record could not be decoded. It is never caused
// by caller input, only by a damaged or foreign file.
var errCorrupt = errors.New("store: corrupt record")

// recordHeader is the size of a key record's header: the create and mod
// revisions, big-endian, ahead of the value.
const recordHeader = 16

func encodeRecord(createRev, modRev int64, value []byte) []byte {
	b := make([]byte, recordHeader+len(value))
	binary.BigEndian.PutUint64(b[0:8], uint64(createRev))
	binary.BigEndian.PutUint64(b[8:16], uint64(modRev))
	copy(b[recordHeader:], value)
	return b
}

// decodeHeader returns the revisions of a key record without its value.
func decodeHeader(b []byte) (createRev, modRev int64, err error) {
	if len(b) < recordHeader {
		return 0, 0, fmt.Errorf("%w: key record of %d bytes", errCorrupt, len(b))
	}
	return int64(binary.BigEndian.Uint64(b[0:8])), int64(binary.BigEndian.Uint64(b[8:16])), nil
}

// decodeRecord copies a key record out of bolt's memory, which is only valid
// inside the read transaction.
func decodeRecord(key string, b []byte) (store.KV, error) {
	c, m, err := decodeHeader(b)
	if err != nil {
		return store.KV{}, err
	}
	return store.KV{Key: key, Value: append([]byte{}, b[recordHeader:]...), CreateRevision: c, ModRevision: m}, nil
}

// revKey is the history bucket key of a revision; big-endian so that bolt's
// byte order is revision order.
func revKey(rev int64) []byte {
	return binary.BigEndian.AppendUint64(nil, uint64(rev))
}

func decodeRev(b []byte) (int64, error) {
	if len(b) != 8 {
		return 0, fmt.Errorf("%w: revision of %d bytes", errCorrupt, len(b))
	}
	return int64(binary.BigEndian.Uint64(b)), nil
}

// encodeEvents serialises the events of one revision for the history bucket:
// count, then per event type, key, create revision and value. The mod
// revision is the history key, so it is not repeated.
func encodeEvents(evs []store.Event) []byte {
	n := binary.MaxVarintLen64
	for _, ev := range evs {
		n += 1 + 3*binary.MaxVarintLen64 + len(ev.KV.Key) + len(ev.KV.Value)
	}
	b := make([]byte, 0, n)
	b = binary.AppendUvarint(b, uint64(len(evs)))
	for _, ev := range evs {
		b = append(b, byte(ev.Type))
		b = binary.AppendUvarint(b, uint64(len(ev.KV.Key)))
		b = append(b, ev.KV.Key...)
		b = binary.AppendUvarint(b, uint64(ev.KV.CreateRevision))
		b = binary.AppendUvarint(b, uint64(len(ev.KV.Value)))
		b = append(b, ev.KV.Value...)
	}
	return b
}

// decodeEvents parses a history entry, keeping only events whose key has
// prefix. The result does not alias b.
func decodeEvents(rev int64, b []byte, prefix string) ([]store.Event, error) {
	d := decoder{b: b}
	count := d.uvarint()
	var evs []store.Event
	for i := uint64(0); i < count && d.err == nil; i++ {
		typ := store.EventType(d.byte())
		key := d.bytes()
		createRev := int64(d.uvarint())
		value := d.bytes()
		if d.err != nil {
			break
		}
		if typ != store.EventPut && typ != store.EventDelete {
			return nil, fmt.Errorf("%w: event type %d at revision %d", errCorrupt, typ, rev)
		}
		if !hasPrefix(key, prefix) {
			continue
		}
		ev := store.Event{Type: typ, KV: store.KV{Key: string(key), ModRevision: rev}}
		if typ == store.EventPut {
			ev.KV.CreateRevision = createRev
			ev.KV.Value = append([]byte{}, value...)
		}
		evs = append(evs, ev)
	}
	if d.err != nil {
		return nil, fmt.Errorf("%w: history entry at revision %d: %v", errCorrupt, rev, d.err)
	}
	return evs, nil
}

func hasPrefix(key []byte, prefix string) bool {
	return len(key) >= len(prefix) && string(key[:len(prefix)]) == prefix
}

// decoder reads a history entry and remembers the first error, so the
// caller checks once instead of after every field.
type decoder struct {
	b   []byte
	err error
}

var errShort = errors.New("truncated")

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errShort
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.err = errShort
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) bytes() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.err = errShort
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}
