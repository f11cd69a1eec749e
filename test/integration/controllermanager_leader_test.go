package integration

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"capstan/internal/controllermanager"
	"capstan/internal/leaderelection"
	"capstan/internal/server"
	capstantesting "capstan/internal/testing"
)

// TestIntegrationControllerManagerLeaderHandover runs two controller-managers against one
// API server: only the lease holder acts, and when it stops the standby takes over.
func TestIntegrationControllerManagerLeaderHandover(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	s := capstantesting.StartServerWith(t, func(o *server.Options) { o.DisableControllerManager = true })
	ctx := t.Context()
	type candidate struct {
		cancel context.CancelFunc
		done   chan struct{}
	}
	run := func(id string) candidate {
		cctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = controllermanager.Run(cctx, controllermanager.Options{
				Config: rest.CopyConfig(s.Config), Controllers: []string{"serviceaccount"}, LeaderElect: true,
				Election: leaderelection.Options{Identity: id, LeaseDuration: 2 * time.Second,
					RenewDeadline: 1500 * time.Millisecond, RetryPeriod: 200 * time.Millisecond},
			})
		}()
		return candidate{cancel, done}
	}
	candidates := map[string]candidate{"cm-a": run("cm-a"), "cm-b": run("cm-b")}
	defer func() {
		for _, c := range candidates {
			c.cancel()
			<-c.done
		}
	}()

	holder := func() string {
		lease, err := s.Client.CoordinationV1().Leases("kube-system").Get(ctx, "kube-controller-manager", metav1.GetOptions{})
		if err != nil || lease.Spec.HolderIdentity == nil {
			return ""
		}
		return *lease.Spec.HolderIdentity
	}
	waitSA := func(ns string) {
		t.Helper()
		if _, err := s.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		poll(t, 30*time.Second, fmt.Sprintf("default service account in %s", ns), func() bool {
			_, err := s.Client.CoreV1().ServiceAccounts(ns).Get(ctx, "default", metav1.GetOptions{})
			return err == nil
		})
	}
	poll(t, 30*time.Second, "a leader", func() bool { return holder() != "" })
	first := holder()
	waitSA("before-handover")

	candidates[first].cancel() // the leader stops
	<-candidates[first].done
	poll(t, 30*time.Second, "the standby to take the lease", func() bool { h := holder(); return h != "" && h != first })
	waitSA("after-handover")
}

// poll is schPoll for a condition without an error to report.
func poll(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	schPoll(t, d, what, func() error {
		if cond() {
			return nil
		}
		return errors.New("not yet")
	})
}
