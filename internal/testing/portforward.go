package testing

import (
	"bufio"
	"bytes"
	"io"
	"os/exec"
	"regexp"
	"sync"
	"testing"
	"time"
)

// forwarding is kubectl port-forward's line saying where it listens.
var forwarding = regexp.MustCompile(`Forwarding from (127\.0\.0\.1:\d+) -> \d+`)

// StartPortForward starts cmd, a `kubectl port-forward ... --address=127.0.0.1 :PORT`, and
// returns the local address it listens on once it says so (within 30 s). The command is
// killed when the test ends.
func StartPortForward(t testing.TB, cmd *exec.Cmd) string {
	t.Helper()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr SyncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	found := make(chan string, 1)
	go func() {
		defer close(found)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := forwarding.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
				break
			}
		}
		// Read on ("Handling connection for ..."), so kubectl never blocks on a full pipe.
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case addr, ok := <-found:
		if !ok {
			t.Fatalf("port-forward ended: %s", stderr.String())
		}
		return addr
	case <-time.After(30 * time.Second):
		t.Fatalf("port-forward not ready in 30s: %s", stderr.String())
		return ""
	}
}

// SyncBuffer is a bytes.Buffer safe for a command to write while the test reads it.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
