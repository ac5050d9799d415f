package docker

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/berth/berth/internal/runtime"
)

// Logs reads a container's output through Docker's logs API, with Docker's
// timestamps. The daemon sends each stored message as "<timestamp>
// <message>" (one frame of the multiplexed stream, or one line with a
// TTY), and a message without a trailing newline is a part of a line its
// copier split (at 16 KiB): the parts are joined here, per stream, since
// stdout's and stderr's frames interleave.
//
// Docker's follow can end before the last messages (before 23.0 its file
// watcher races the logger's close, and loses the race now and then), so a
// followed read ends by comparing the last message read with the file's
// last one, and reads again from where it stopped if they differ.
func (d *Driver) Logs(ctx context.Context, id string, opts runtime.LogsOptions, fn func(runtime.LogLine) error) error {
	inspect, err := d.client.ContainerInspect(ctx, id)
	if err != nil {
		return fmt.Errorf("docker: logs %s: %w", id, mapErr(err))
	}
	tty := inspect.Config != nil && inspect.Config.Tty
	lr := &logReader{fn: fn}
	lo := container.LogsOptions{ShowStdout: true, ShowStderr: true, Follow: opts.Follow, Timestamps: true}
	if !opts.Since.IsZero() {
		lo.Since = opts.Since.UTC().Format(time.RFC3339Nano)
	}
	if err := d.readLogs(ctx, id, tty, lo, lr); err != nil {
		return err
	}
	if opts.Follow {
		probe := &logReader{fn: func(runtime.LogLine) error { return nil }}
		lo := container.LogsOptions{ShowStdout: true, ShowStderr: true, Timestamps: true, Tail: "1"}
		if err := d.readLogs(ctx, id, tty, lo, probe); err != nil {
			return err
		}
		// A last message without a newline may be a part of a line
		// whose later parts are identical: only a full read can tell.
		missed := probe.lastStream != lr.lastStream || !bytes.Equal(probe.last, lr.last) || !bytes.HasSuffix(lr.last, []byte{'\n'})
		if len(probe.last) > 0 && missed {
			lo := container.LogsOptions{ShowStdout: true, ShowStderr: true, Timestamps: true}
			if !lr.at.IsZero() {
				lo.Since = lr.at.Format(time.RFC3339Nano)
			}
			lr.skip = lr.n
			if err := d.readLogs(ctx, id, tty, lo, lr); err != nil {
				return err
			}
		}
	}
	if err := lr.flush(); err != nil {
		return fmt.Errorf("docker: logs %s: %w", id, err)
	}
	return nil
}

// readLogs makes one logs API request and reads its answer into lr.
func (d *Driver) readLogs(ctx context.Context, id string, tty bool, lo container.LogsOptions, lr *logReader) error {
	rc, err := d.client.ContainerLogs(ctx, id, lo)
	if err != nil {
		return fmt.Errorf("docker: logs %s: %w", id, mapErr(err))
	}
	defer rc.Close()
	br := bufio.NewReaderSize(rc, 256<<10)
	if tty {
		err = lr.readRaw(br)
	} else {
		err = lr.readMuxed(br)
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("docker: logs %s: %w", id, err)
	}
	return nil
}

// logReader turns the logs API's messages into lines, and keeps where it
// is so that a second request can continue where the first stopped.
type logReader struct {
	fn      func(runtime.LogLine) error
	partial [3]*partialLine // by stream (stdout, stderr)
	// at is the timestamp of the last message read, n how many messages
	// read are stamped with it, last that message and lastStream its
	// stream.
	at         time.Time
	n          int
	last       []byte
	lastStream stdcopy.StdType
	// skip is how many messages stamped at are still to drop: a read
	// from at starts with messages read before.
	skip int
}

// partialLine is a line whose parts are still arriving.
type partialLine struct {
	at    time.Time
	parts int
	text  []byte
}

// message handles one message of stream.
func (lr *logReader) message(stream stdcopy.StdType, msg []byte) error {
	at, body, err := splitTimestamp(msg)
	if err != nil {
		return err
	}
	if lr.skip > 0 {
		// Up to the last message read, every message was read before.
		if at.Equal(lr.at) {
			lr.skip--
		}
		return nil
	}
	p := lr.partial[stream]
	if at.Equal(lr.at) {
		lr.n++
	} else {
		// Only the parts of a line share a timestamp.
		lr.at, lr.n = at, 1
		if p != nil && p.at.Equal(at) {
			lr.n += p.parts
		}
	}
	lr.last, lr.lastStream = append(lr.last[:0], msg...), stream

	text, whole := bytes.CutSuffix(body, []byte{'\n'})
	if !whole {
		if p == nil {
			p = &partialLine{at: at}
			lr.partial[stream] = p
		}
		p.parts++
		p.text = append(p.text, text...)
		return nil
	}
	line := runtime.LogLine{Time: at}
	if p != nil {
		line = runtime.LogLine{Time: p.at, Text: append(p.text, text...)}
		lr.partial[stream] = nil
	} else {
		line.Text = bytes.Clone(text)
	}
	return lr.fn(line)
}

// flush hands over the lines the output ended in the middle of (the last
// output had no newline).
func (lr *logReader) flush() error {
	var rest []*partialLine
	for i, p := range lr.partial {
		if p != nil {
			rest = append(rest, p)
			lr.partial[i] = nil
		}
	}
	if len(rest) == 2 && rest[1].at.Before(rest[0].at) {
		rest[0], rest[1] = rest[1], rest[0]
	}
	for _, p := range rest {
		if err := lr.fn(runtime.LogLine{Time: p.at, Text: p.text}); err != nil {
			return err
		}
	}
	return nil
}

// readMuxed reads the multiplexed stream of a container without a TTY.
func (lr *logReader) readMuxed(r io.Reader) error {
	var header [8]byte
	var frame []byte
	for {
		if _, err := io.ReadFull(r, header[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		size := int(binary.BigEndian.Uint32(header[4:]))
		if cap(frame) < size {
			frame = make([]byte, size)
		}
		frame = frame[:size]
		if _, err := io.ReadFull(r, frame); err != nil {
			return err
		}
		switch stream := stdcopy.StdType(header[0]); stream {
		case stdcopy.Stdout, stdcopy.Stderr:
			if err := lr.message(stream, frame); err != nil {
				return err
			}
		case stdcopy.Systemerr:
			return fmt.Errorf("the daemon failed reading the logs: %s", bytes.TrimSpace(frame))
		}
	}
}

// readRaw reads the logs of a container with a TTY: one stream, not
// multiplexed, so the messages' ends are the newlines. A line the daemon
// split in parts arrives with the later parts' timestamps inside it.
func (lr *logReader) readRaw(r *bufio.Reader) error {
	var long []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long, chunk...)
			continue
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		msg := chunk
		if long != nil {
			msg, long = append(long, chunk...), nil
		}
		if len(msg) > 0 {
			if err := lr.message(stdcopy.Stdout, msg); err != nil {
				return err
			}
		}
		if err != nil {
			return nil
		}
	}
}

// splitTimestamp splits a logs API message into Docker's timestamp and the
// message.
func splitTimestamp(b []byte) (time.Time, []byte, error) {
	sp := bytes.IndexByte(b, ' ')
	if sp < 0 {
		return time.Time{}, nil, fmt.Errorf("log message without a timestamp: %.40q", b)
	}
	at, err := time.Parse(time.RFC3339Nano, string(b[:sp]))
	if err != nil {
		return time.Time{}, nil, fmt.Errorf("log message timestamp: %w", err)
	}
	return at.UTC(), b[sp+1:], nil
}
