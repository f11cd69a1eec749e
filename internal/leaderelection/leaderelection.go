package leaderelection

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// Options configures an election. Durations default to upstream's: lease 15 s, renew
// deadline 10 s, retry 2 s.
type Options struct {
	Client kubernetes.Interface
	// Namespace and Name of the Lease, e.g. kube-system/kube-scheduler.
	Namespace, Name string
	// Identity of this candidate. Default hostname_uuid.
	Identity                                  string
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	Logger                                    *slog.Logger
}

// Run campaigns for the lease and runs lead while it holds it. It returns when ctx is done,
// or with an error when the lease is lost (the caller should stop leading work: upstream
// components exit so that nothing acts without the lease).
func Run(ctx context.Context, opts Options, lead func(ctx context.Context)) error {
	if opts.Identity == "" {
		host, _ := os.Hostname()
		opts.Identity = host + "_" + string(uuid.NewUUID())
	}
	if opts.LeaseDuration == 0 {
		opts.LeaseDuration, opts.RenewDeadline, opts.RetryPeriod = 15*time.Second, 10*time.Second, 2*time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metaOf(opts.Namespace, opts.Name),
		Client:     opts.Client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: opts.Identity},
	}
	lost := make(chan struct{})
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:            lock,
		LeaseDuration:   opts.LeaseDuration,
		RenewDeadline:   opts.RenewDeadline,
		RetryPeriod:     opts.RetryPeriod,
		ReleaseOnCancel: true,
		Name:            opts.Name,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(ctx context.Context) {
				opts.Logger.Info("became leader", "lease", opts.Namespace+"/"+opts.Name, "identity", opts.Identity)
				lead(ctx)
			},
			OnStoppedLeading: func() { close(lost) },
		},
	})
	if err != nil {
		return fmt.Errorf("leader election %s: %w", opts.Name, err)
	}
	le.Run(ctx)
	if ctx.Err() != nil {
		return nil
	}
	select {
	case <-lost:
		return fmt.Errorf("leader election %s: lease lost", opts.Name)
	default:
		return nil
	}
}
