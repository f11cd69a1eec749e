package server

import (
	"context"
	"crypto/x509"
	"fmt"
	"log/slog"
	"sync"

	"k8s.io/client-go/rest"

	"capstan/internal/controllermanager"
	"capstan/internal/pki"
	"capstan/internal/scheduler"
)

// component is a control-plane component `capstan server` runs in process. It is a client of
// the API server over HTTPS with its own identity (a client certificate), like any other
// client: no in-memory shortcuts.
type component struct {
	// name of the component, e.g. "kube-scheduler"; also names its certificate files.
	name string
	// user and groups of its client certificate, e.g. "system:kube-scheduler".
	user   string
	groups []string
	// run runs the component until ctx is done.
	run func(ctx context.Context, cfg *rest.Config) error
}

// components lists what runs beside the API server, in start order. Each component adds
// one entry here.
func (o *Options) components(ca *pki.CA) []component {
	var out []component
	if !o.DisableControllerManager {
		out = append(out, component{
			name: "kube-controller-manager", user: "system:kube-controller-manager",
			run: func(ctx context.Context, cfg *rest.Config) error {
				settings := controllermanager.DefaultSettings()
				settings.RootCAPEM = ca.CertPEM
				if o.ControllerSettings != nil {
					o.ControllerSettings(&settings)
				}
				return controllermanager.Run(ctx, controllermanager.Options{
					Config: cfg, Controllers: o.Controllers, LeaderElect: true,
					Settings: &settings, Logger: o.Logger,
				})
			},
		})
	}
	if !o.DisableScheduler {
		out = append(out, component{
			name: "kube-scheduler", user: "system:kube-scheduler",
			run: func(ctx context.Context, cfg *rest.Config) error {
				return scheduler.RunWithConfigFile(ctx, cfg, o.SchedulerConfig, o.Logger)
			},
		})
	}
	return out
}

// startComponents issues each component's certificate and starts it. The returned stop
// function cancels them and waits until all have returned.
func startComponents(ctx context.Context, comps []component, ca *pki.CA, tlsDir, url string, log *slog.Logger) (func(), error) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	stop := func() {
		cancel()
		wg.Wait()
	}
	for _, c := range comps {
		kp, err := ca.LoadOrIssue(tlsDir, "client-"+c.name, pki.CertSpec{
			CommonName: c.user, Organization: c.groups,
			Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		})
		if err != nil {
			stop()
			return nil, fmt.Errorf("%s: %w", c.name, err)
		}
		cfg := &rest.Config{
			Host:            url,
			TLSClientConfig: rest.TLSClientConfig{CAData: ca.CertPEM, CertData: kp.CertPEM, KeyData: kp.KeyPEM},
			UserAgent:       c.name,
			QPS:             200,
			Burst:           400,
		}
		wg.Add(1)
		go func(c component) {
			defer wg.Done()
			if err := c.run(ctx, cfg); err != nil && ctx.Err() == nil {
				log.Error("component stopped", "component", c.name, "err", err)
			}
		}(c)
	}
	return stop, nil
}
