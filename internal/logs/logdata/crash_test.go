package logdata

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The crash test runs this package's test binary again as a child that
// appends until it is SIGKILLed; this variable tells it where.
const crashEnvDir = "LOGDATA_CRASH_DIR"

const crashWriters = 4

func crashStream(w int) StreamID { return StreamID(fmt.Sprintf("crash-%d", w%2)) }

// TestCrashChild is the child side: writer w appends its batches i = 0, 1,
// ... as producer w with cursor i+1, continuing from its stored cursor, and
// prints "ACK w i firstSeq lastSeq" once each append has returned.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashEnvDir)
	if dir == "" {
		t.Skip("helper for TestCrash")
	}
	s, err := Open(Options{Dir: dir, SegmentBytes: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	ack := func(line string) {
		mu.Lock()
		defer mu.Unlock()
		if _, err := io.WriteString(os.Stdout, line); err != nil {
			os.Exit(2)
		}
	}
	deadline := time.Now().Add(30 * time.Second) // in case the parent died
	var wg sync.WaitGroup
	for w := range crashWriters {
		wg.Go(func() {
			producer := strconv.Itoa(w)
			cursor, err := s.ProducerCursor(crashStream(w), producer)
			if err != nil {
				ack(fmt.Sprintf("ERR %v\n", err))
				os.Exit(1)
			}
			i := 0
			if cursor != "" {
				i, _ = strconv.Atoi(cursor)
			}
			for ; time.Now().Before(deadline); i++ {
				key := fmt.Sprintf("w%d-%d", w, i)
				evs := make([]Event, 1+(i*7+w)%60)
				for j := range evs {
					evs[j] = Event{Timestamp: int64(i), Message: batchMessage(key, j, len(evs)) + strings.Repeat(".", j*3)}
				}
				res, err := s.Append(t.Context(), AppendRequest{Stream: crashStream(w), Events: evs,
					Producer: producer, After: cursorName(i), Cursor: cursorName(i + 1)})
				if err != nil {
					ack(fmt.Sprintf("ERR %v\n", err))
					os.Exit(1)
				}
				ack(fmt.Sprintf("ACK %d %d %d %d\n", w, i, res.FirstSeq, res.LastSeq))
			}
		})
	}
	wg.Wait()
}

type crashAck struct {
	w, i        int
	first, last int64
}

func runCrashChild(t *testing.T, dir string, killAfter time.Duration) []crashAck {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnvDir+"="+dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	first := make(chan struct{})
	readDone := make(chan struct{})
	var acks []crashAck
	var errLine string
	go func() {
		defer close(readDone)
		r := bufio.NewReader(stdout)
		for {
			// A line cut by the kill has no newline and is dropped.
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			var a crashAck
			if _, err := fmt.Sscanf(line, "ACK %d %d %d %d\n", &a.w, &a.i, &a.first, &a.last); err != nil {
				if strings.HasPrefix(line, "ERR") {
					errLine = line
				}
				continue
			}
			if len(acks) == 0 {
				close(first)
			}
			acks = append(acks, a)
		}
	}()
	select {
	case <-first:
	case <-readDone:
	case <-time.After(10 * time.Second):
	}
	time.Sleep(killAfter)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-readDone
	err = cmd.Wait()
	if errLine != "" || err == nil || !strings.Contains(err.Error(), "killed") || len(acks) == 0 {
		t.Fatalf("child did not die by the kill after appending: %v, %s, %d acks\nstderr:\n%s", err, errLine, len(acks), stderr.String())
	}
	return acks
}

// TestCrash kills an appending child process at random moments and checks
// that every acknowledged batch survived whole, that nothing torn is
// visible, and that producer cursors match the batches stored.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	dir := t.TempDir()
	var all []crashAck
	for cycle := range 5 {
		all = append(all, runCrashChild(t, dir, time.Duration(rng.IntN(200))*time.Millisecond)...)
		s, err := Open(Options{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		first := map[StreamID]map[string]int64{}
		for k := range 2 {
			id := crashStream(k)
			first[id] = checkWholeBatches(t, fmt.Sprintf("cycle %d, %s", cycle, id), readAll(t, s, id))
		}
		lastAcked := map[int]int{}
		for _, a := range all {
			key := fmt.Sprintf("w%d-%d", a.w, a.i)
			if got, ok := first[crashStream(a.w)][key]; !ok || got != a.first {
				t.Fatalf("cycle %d: acknowledged batch %s at %d..%d: found at %d (%v)", cycle, key, a.first, a.last, got, ok)
			}
			lastAcked[a.w] = max(lastAcked[a.w], a.i)
		}
		for w := range crashWriters {
			c, err := s.ProducerCursor(crashStream(w), strconv.Itoa(w))
			if err != nil {
				t.Fatal(err)
			}
			// The cursor counts the writer's batches stored: all acknowledged
			// ones, and perhaps one per kill that prevented acknowledging
			// it (a writer killed before its first acknowledgement of a
			// cycle leaves one more each time).
			n, _ := strconv.Atoi(c)
			if n < lastAcked[w]+1 || n > lastAcked[w]+1+cycle+1 {
				t.Fatalf("cycle %d: writer %d has cursor %q, last acknowledged batch %d", cycle, w, c, lastAcked[w])
			}
			if _, ok := first[crashStream(w)][fmt.Sprintf("w%d-%d", w, n-1)]; !ok {
				t.Fatalf("cycle %d: writer %d: cursor %q but batch %d missing", cycle, w, c, n-1)
			}
		}
		s.Close()
	}
	t.Logf("%d batches acknowledged over 5 kills", len(all))
}
