package integration

import (
	"testing"
	"time"
)

// lcWait polls cond until it reports true or 20 s pass; the last error or state it
// returns explains a timeout.
func lcWait(t *testing.T, what string, cond func() (bool, error)) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var last error
	for {
		ok, err := cond()
		if ok {
			return
		}
		if err != nil {
			last = err
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s (last error: %v)", what, last)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
