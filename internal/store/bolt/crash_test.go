package bolt

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"errors"
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

	bbolt "go.etcd.io/bbolt"

	"github.com/berth/berth/internal/store"
)

// The crash test runs this package's test binary again as a child that
// writes until it is SIGKILLed; these variables tell it where and which
// cycle it is.
const (
	crashEnvPath  = "BERTH_STORE_CRASH_PATH"
	crashEnvCycle = "BERTH_STORE_CRASH_CYCLE"
	crashWriters  = 8
)

// crashValue is the value the child writes at key: a payload derived from
// the key, of varying length so records span pages, followed by its SHA-256.
func crashValue(key string) []byte {
	seed := sha256.Sum256([]byte(key))
	n := 16 + int(seed[0])<<4 + int(seed[1]) // 16..4111 bytes
	payload := make([]byte, 0, n)
	for len(payload) < n {
		seed = sha256.Sum256(seed[:])
		payload = append(payload, seed[:]...)
	}
	payload = payload[:n]
	sum := sha256.Sum256(payload)
	return append(payload, sum[:]...)
}

// checksumOK tells whether v is a payload followed by its SHA-256.
func checksumOK(v []byte) bool {
	if len(v) < sha256.Size {
		return false
	}
	sum := sha256.Sum256(v[:len(v)-sha256.Size])
	return bytes.Equal(sum[:], v[len(v)-sha256.Size:])
}

// withChecksum appends a payload's SHA-256, for the small "last" records.
func withChecksum(payload string) []byte {
	sum := sha256.Sum256([]byte(payload))
	return append([]byte(payload), sum[:]...)
}

func crashKey(cycle, writer, i int) string { return fmt.Sprintf("crash/%d/%d/%d", cycle, writer, i) }

// TestCrashChild is the child side: it writes forever and prints "ACK cycle
// writer i revision" once each transaction has returned, i.e. is durable.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashEnvPath)
	if path == "" {
		t.Skip("helper for TestCrash")
	}
	cycle, err := strconv.Atoi(os.Getenv(crashEnvCycle))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(path, Options{Logger: quietLog})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	ack := func(line string) {
		mu.Lock()
		defer mu.Unlock()
		// One write per line, so a kill cannot interleave lines.
		if _, err := io.WriteString(os.Stdout, line); err != nil {
			os.Exit(2)
		}
	}
	// The deadline only matters if the parent died without killing us.
	deadline := time.Now().Add(30 * time.Second)
	var wg sync.WaitGroup
	for w := range crashWriters {
		wg.Go(func() {
			for i := 0; time.Now().Before(deadline); i++ {
				k := crashKey(cycle, w, i)
				rev, err := s.Txn(t.Context(), store.Txn{
					If: []store.Compare{{Key: k + "/a"}},
					Then: []store.Op{
						store.Put(k+"/a", crashValue(k+"/a")),
						store.Put(k+"/b", crashValue(k+"/b")),
						store.Put(fmt.Sprintf("last/%d", w), withChecksum(fmt.Sprintf("%d %d", cycle, i))),
					},
				})
				if err != nil {
					ack(fmt.Sprintf("ERR %v\n", err))
					os.Exit(1)
				}
				ack(fmt.Sprintf("ACK %d %d %d %d\n", cycle, w, i, rev))
			}
		})
	}
	wg.Wait()
}

type acked struct {
	cycle, writer, i int
	rev              int64
}

// runCrashChild starts a child writing cycle into path, kills it after
// killAfter (counted from its first acknowledgement if afterAck), and
// returns what it acknowledged.
func runCrashChild(t *testing.T, path string, cycle int, killAfter time.Duration, afterAck bool) []acked {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnvPath+"="+path, crashEnvCycle+"="+strconv.Itoa(cycle))
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
	var acks []acked
	var errLine string
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		r := bufio.NewReader(stdout)
		for {
			// A fragment without its newline at EOF is dropped: it was cut
			// by the kill, and an unacknowledged write may be absent.
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			var a acked
			if _, err := fmt.Sscanf(line, "ACK %d %d %d %d\n", &a.cycle, &a.writer, &a.i, &a.rev); err != nil {
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
	if afterAck {
		select {
		case <-first:
		case <-readDone:
		case <-time.After(10 * time.Second):
		}
	}
	time.Sleep(killAfter)
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-readDone
	err = cmd.Wait()
	if errLine != "" || err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("child did not die by the kill: %v, %s\nstderr:\n%s", err, errLine, stderr.String())
	}
	if afterAck && len(acks) == 0 {
		t.Fatalf("child acknowledged nothing; stderr:\n%s", stderr.String())
	}
	return acks
}

// TestCrash kills a writing child process at random moments and checks that
// every acknowledged transaction survived whole and nothing else is torn.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	path := tempPath(t)
	var all []acked
	for cycle := range 6 {
		// One kill lands while the child is still opening the file.
		afterAck := cycle != 2
		kill := time.Duration(rng.IntN(40)) * time.Millisecond
		if afterAck {
			kill = time.Duration(50+rng.IntN(600)) * time.Millisecond
		}
		acks := runCrashChild(t, path, cycle, kill, afterAck)
		all = append(all, acks...)
		t.Logf("cycle %d: killed %v after %s, %d acknowledged", cycle, kill, map[bool]string{true: "first ack", false: "start"}[afterAck], len(acks))
		checkCrashState(t, path, cycle, acks, all)
	}
}

func checkCrashState(t *testing.T, path string, cycle int, acks, all []acked) {
	t.Helper()
	s := openTest(t, path, Options{})
	defer s.Close()
	ctx := t.Context()
	err := s.db.View(func(tx *bbolt.Tx) error {
		var errs []error
		for err := range tx.Check() {
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	})
	if err != nil {
		t.Fatalf("bolt consistency check: %v", err)
	}
	rev, err := s.Revision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Every acknowledged transaction is there, exactly, at its revision.
	for _, a := range all {
		for _, suffix := range []string{"/a", "/b"} {
			k := crashKey(a.cycle, a.writer, a.i) + suffix
			kv, _, err := s.Get(ctx, k)
			if err != nil {
				t.Fatalf("acknowledged key %s: %v", k, err)
			}
			if !bytes.Equal(kv.Value, crashValue(k)) || kv.ModRevision != a.rev || kv.CreateRevision != a.rev {
				t.Fatalf("acknowledged key %s at revision %d: got %d bytes at create=%d mod=%d", k, a.rev, len(kv.Value), kv.CreateRevision, kv.ModRevision)
			}
		}
		if a.rev > rev {
			t.Fatalf("store revision %d is behind acknowledged revision %d", rev, a.rev)
		}
	}
	// Nothing is torn: every record is whole and each transaction's keys
	// share one revision.
	kvs, _, err := s.List(ctx, "crash/", store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(kvs) < 2*len(all) {
		t.Fatalf("%d crash keys stored, %d acknowledged", len(kvs), 2*len(all))
	}
	mods := map[string]int64{}
	for _, kv := range kvs {
		if !bytes.Equal(kv.Value, crashValue(kv.Key)) {
			t.Fatalf("key %s holds a damaged value (%d bytes)", kv.Key, len(kv.Value))
		}
		txnKey := kv.Key[:len(kv.Key)-2]
		if other, ok := mods[txnKey]; ok && other != kv.ModRevision {
			t.Fatalf("%s/a and /b at revisions %d and %d", txnKey, other, kv.ModRevision)
		}
		mods[txnKey] = kv.ModRevision
	}
	for txnKey, mod := range mods {
		for _, suffix := range []string{"/a", "/b"} {
			if _, _, err := s.Get(ctx, txnKey+suffix); err != nil {
				t.Fatalf("half a transaction at revision %d: %s%s: %v", mod, txnKey, suffix, err)
			}
		}
	}
	// Each writer's "last" record was written by its latest transaction.
	maxI := map[int]int{}
	for _, a := range acks {
		maxI[a.writer] = max(maxI[a.writer], a.i+1)
	}
	for w := range crashWriters {
		kv, _, err := s.Get(ctx, fmt.Sprintf("last/%d", w))
		if errors.Is(err, store.ErrNotFound) && maxI[w] == 0 {
			continue
		}
		if err != nil || !checksumOK(kv.Value) {
			t.Fatalf("last/%d: %v, checksum ok %v", w, err, err == nil && checksumOK(kv.Value))
		}
		var c, i int
		if _, err := fmt.Sscanf(string(kv.Value[:len(kv.Value)-sha256.Size]), "%d %d", &c, &i); err != nil {
			t.Fatal(err)
		}
		if c == cycle && i+1 < maxI[w] || c != cycle && maxI[w] > 0 {
			t.Fatalf("last/%d says cycle %d txn %d, but txn %d of cycle %d was acknowledged", w, c, i, maxI[w]-1, cycle)
		}
		if a, _, err := s.Get(ctx, crashKey(c, w, i)+"/a"); err != nil || a.ModRevision != kv.ModRevision {
			t.Fatalf("last/%d at revision %d, its transaction's key: %+v, %v", w, kv.ModRevision, a, err)
		}
	}
	// The history agrees with the keys: each recent revision is one whole
	// transaction of three puts.
	from := max(1, rev-200)
	ch, err := s.Watch(ctx, "", from)
	if err != nil {
		t.Fatal(err)
	}
	for r := from + 1; r <= rev; r++ {
		var keys []string
		for range 3 {
			select {
			case ev := <-ch:
				if ev.KV.ModRevision != r || ev.Type != store.EventPut {
					t.Fatalf("history: %s %s at revision %d, want a put at %d", ev.KV.Key, ev.KV.Value, ev.KV.ModRevision, r)
				}
				if strings.HasPrefix(ev.KV.Key, "crash/") && !bytes.Equal(ev.KV.Value, crashValue(ev.KV.Key)) {
					t.Fatalf("history: damaged value for %s", ev.KV.Key)
				}
				keys = append(keys, ev.KV.Key)
			case <-time.After(5 * time.Second):
				t.Fatalf("history ends before revision %d of %d", r, rev)
			}
		}
		if !strings.HasSuffix(keys[0], "/a") || keys[1] != keys[0][:len(keys[0])-1]+"b" || !strings.HasPrefix(keys[2], "last/") {
			t.Fatalf("history revision %d holds %v", r, keys)
		}
	}
}
