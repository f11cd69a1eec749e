package leaderelection

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func TestOnlyOneCandidateLeadsAndTheStandbyTakesOver(t *testing.T) {
	t.Parallel()
	client := fake.NewSimpleClientset()
	opts := func(id string) Options {
		return Options{Client: client, Namespace: "kube-system", Name: "test", Identity: id,
			LeaseDuration: 600 * time.Millisecond, RenewDeadline: 400 * time.Millisecond, RetryPeriod: 50 * time.Millisecond}
	}
	var firstLed atomic.Bool
	ctxA, cancelA := context.WithCancel(t.Context())
	doneA := make(chan error, 1)
	go func() {
		doneA <- Run(ctxA, opts("a"), func(ctx context.Context) {
			firstLed.Store(true)
			<-ctx.Done()
		})
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !firstLed.Load() {
		if time.Now().After(deadline) {
			t.Fatal("first candidate never led")
		}
		time.Sleep(5 * time.Millisecond)
	}
	var secondLed atomic.Bool
	ctxB, cancelB := context.WithCancel(t.Context())
	defer cancelB()
	go func() {
		_ = Run(ctxB, opts("b"), func(ctx context.Context) {
			// The first leader releases the lease only after it was told to stop.
			if ctxA.Err() == nil {
				t.Error("the standby led while the first leader was still running")
			}
			secondLed.Store(true)
			<-ctx.Done()
		})
	}()
	cancelA() // the leader stops and releases the lease
	if err := <-doneA; err != nil {
		t.Fatalf("first candidate: %v", err)
	}
	for !secondLed.Load() {
		if time.Now().After(deadline) {
			t.Fatal("standby never took over")
		}
		time.Sleep(5 * time.Millisecond)
	}
	lease, err := client.CoordinationV1().Leases("kube-system").Get(t.Context(), "test", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *lease.Spec.HolderIdentity != "b" {
		t.Errorf("holder %q, want b", *lease.Spec.HolderIdentity)
	}
}
