package pods

import (
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"
)

func TestExpectations(t *testing.T) {
	t.Parallel()
	clk := clocktesting.NewFakePassiveClock(time.Unix(1000, 0))
	e := NewExpectations(clk)
	if !e.Satisfied("ns/rs") {
		t.Fatal("an owner never seen must be satisfied")
	}
	e.ExpectCreations("ns/rs", 2)
	if e.Satisfied("ns/rs") {
		t.Fatal("satisfied with two creations pending")
	}
	e.CreationObserved("ns/rs")
	if e.Satisfied("ns/rs") {
		t.Fatal("satisfied with one creation pending")
	}
	e.LowerCreations("ns/rs", 1)
	if !e.Satisfied("ns/rs") {
		t.Fatal("not satisfied after every creation was accounted for")
	}

	e.ExpectDeletions("ns/rs", []string{"ns/a", "ns/b"})
	e.DeletionObserved("ns/rs", "ns/a")
	e.DeletionObserved("ns/rs", "ns/a") // seen twice: terminating, then gone
	e.DeletionObserved("ns/rs", "ns/unrelated")
	if adds, dels, _ := e.Pending("ns/rs"); adds != 0 || dels != 1 {
		t.Fatalf("pending adds %d dels %d, want 0 and 1", adds, dels)
	}
	e.DeletionObserved("ns/rs", "ns/b")
	if !e.Satisfied("ns/rs") {
		t.Fatal("not satisfied after both deletions")
	}

	e.ExpectDeletionCount("ns/ds", 1)
	e.DeletionObserved("ns/ds", "ns/anything")
	if !e.Satisfied("ns/ds") {
		t.Fatal("counted deletion not observed")
	}

	e.ExpectCreations("ns/rs", 1)
	clk.SetTime(clk.Now().Add(ExpectationsTimeout))
	if e.Satisfied("ns/rs") {
		t.Fatal("expired exactly at the timeout")
	}
	clk.SetTime(clk.Now().Add(time.Second))
	if !e.Satisfied("ns/rs") {
		t.Fatal("expectations older than the timeout still hold the owner back")
	}
	e.Forget("ns/rs")
	if _, _, ok := e.Pending("ns/rs"); ok {
		t.Fatal("forgotten expectations remain")
	}
}
