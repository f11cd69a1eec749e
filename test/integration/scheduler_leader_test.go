package integration

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"capstan/internal/leaderelection"
	"capstan/internal/scheduler"
	"capstan/internal/server"
	capstantesting "capstan/internal/testing"
)

// cuttable is a transport that fails every request once cut, like a dead process.
type cuttable struct {
	rt  http.RoundTripper
	cut atomic.Bool
}

func (c *cuttable) RoundTrip(r *http.Request) (*http.Response, error) {
	if c.cut.Load() {
		return nil, errors.New("connection cut")
	}
	return c.rt.RoundTrip(r)
}

// schStartScheduler runs a scheduler in the test process under the given election identity
// and returns the cut switch of its connection.
func schStartScheduler(t *testing.T, cfg *rest.Config, identity string) *cuttable {
	t.Helper()
	cfg = rest.CopyConfig(cfg)
	c := &cuttable{}
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { c.rt = rt; return c })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = scheduler.Run(ctx, scheduler.Options{
			Config:   cfg,
			Election: leaderelection.Options{Identity: identity, LeaseDuration: 3 * time.Second, RenewDeadline: 2 * time.Second, RetryPeriod: 250 * time.Millisecond},
			Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		})
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return c
}

func TestIntegrationSchedulerLeaderHandover(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	s := capstantesting.StartServerWith(t, func(o *server.Options) { o.DisableScheduler = true })
	c := s.Client
	schNode(t, c, schNodeSpec{name: "n1"})

	a := schStartScheduler(t, s.Config, "scheduler-a")
	schPoll(t, 20*time.Second, "scheduler-a to lead", func() error {
		l, err := c.CoordinationV1().Leases("kube-system").Get(t.Context(), "kube-scheduler", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity != "scheduler-a" {
			return errors.New("not scheduler-a")
		}
		return nil
	})
	schStartScheduler(t, s.Config, "scheduler-b")
	schCreate(t, c, "default", schPod("first", "", ""))
	schWaitBound(t, c, "default", "first")

	// The leader dies without releasing its lease; the standby takes over once the lease
	// expires and schedules the next pod.
	a.cut.Store(true)
	killed := time.Now()
	schCreate(t, c, "default", schPod("second", "", ""))
	schWaitBound(t, c, "default", "second")
	// The lease lasts 3 s from the leader's last renewal; the standby retries every 250 ms.
	// Allow scheduling and a loaded machine a few seconds on top.
	if took := time.Since(killed); took > 3*time.Second+5*time.Second {
		t.Errorf("standby scheduled %v after the leader died; lease duration is 3s", took)
	}
	t.Logf("standby scheduled %v after the leader died", time.Since(killed))
	l, err := c.CoordinationV1().Leases("kube-system").Get(t.Context(), "kube-scheduler", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *l.Spec.HolderIdentity != "scheduler-b" {
		t.Errorf("lease held by %s, want scheduler-b", *l.Spec.HolderIdentity)
	}
}
