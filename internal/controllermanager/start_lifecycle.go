package controllermanager

import (
	"context"
	"fmt"
	"os"

	satoken "capstan/internal/auth/serviceaccount"
	"capstan/internal/controller/cronjob"
	"capstan/internal/controller/garbagecollector"
	"capstan/internal/controller/job"
	"capstan/internal/controller/namespace"
	"capstan/internal/controller/podgc"
	"capstan/internal/controller/rootca"
	"capstan/internal/controller/serviceaccount"
	"capstan/internal/controller/serviceaccounttoken"
	"capstan/internal/controller/ttlafterfinished"
)

// This file adapts the Context to the lifecycle controllers' own options (jobs, cron jobs,
// garbage collection, namespaces, service accounts, pod GC): the controller packages do
// not import this one.

type runFunc = func(ctx context.Context) error

func startServiceAccount(_ context.Context, c *Context) (runFunc, error) {
	ctrl, err := serviceaccount.New(serviceaccount.Options{
		Client: c.Client, Informers: c.Informers, Workers: c.Settings.Workers("serviceaccount"),
		Metrics: c.Metrics, Logger: c.Logger,
	})
	if err != nil {
		return nil, err
	}
	return ctrl.Run, nil
}

// rootCA is the CA bundle published to namespaces and token secrets: the configured one,
// else, like upstream without --root-ca-file, the CA the controller-manager itself trusts
// for the API server.
func rootCA(c *Context) ([]byte, error) {
	ca := c.Settings.RootCAPEM
	if len(ca) == 0 && c.Config != nil {
		ca = c.Config.CAData
		if len(ca) == 0 && c.Config.CAFile != "" {
			data, err := os.ReadFile(c.Config.CAFile)
			if err != nil {
				return nil, fmt.Errorf("reading the CA: %w", err)
			}
			ca = data
		}
	}
	return ca, nil
}

func startRootCAPublisher(_ context.Context, c *Context) (runFunc, error) {
	ca, err := rootCA(c)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", rootca.Name, err)
	}
	if len(ca) == 0 {
		c.Logger.Info("no root CA known; not publishing kube-root-ca.crt", "controller", rootca.Name)
		return nil, nil
	}
	ctrl, err := rootca.New(rootca.Options{
		Client: c.Client, Informers: c.Informers, RootCA: ca,
		Workers: c.Settings.Workers("root-ca-certificate-publisher"), Metrics: c.Metrics, Logger: c.Logger,
	})
	if err != nil {
		return nil, err
	}
	return ctrl.Run, nil
}

// startServiceAccountToken runs the tokens controller, which needs the service-account
// signing key; without one it does not run, as upstream.
func startServiceAccountToken(_ context.Context, c *Context) (runFunc, error) {
	if c.Settings.ServiceAccountPrivateKey == nil {
		c.Logger.Info("no service-account private key; not filling token secrets", "controller", serviceaccounttoken.Name)
		return nil, nil
	}
	issuer, err := satoken.NewIssuer(satoken.IssuerOptions{Key: c.Settings.ServiceAccountPrivateKey})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", serviceaccounttoken.Name, err)
	}
	ca, err := rootCA(c)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", serviceaccounttoken.Name, err)
	}
	ctrl, err := serviceaccounttoken.New(serviceaccounttoken.Options{
		Client: c.Client, Informers: c.Informers, Issuer: issuer, RootCA: ca,
		Workers: c.Settings.Workers("serviceaccount-token"), Metrics: c.Metrics, Logger: c.Logger,
	})
	if err != nil {
		return nil, err
	}
	return ctrl.Run, nil
}

func startPodGC(_ context.Context, c *Context) (runFunc, error) {
	return podgc.New(podgc.Options{
		Client: c.Client, Informers: c.Informers, Threshold: c.Settings.TerminatedPodGCThreshold,
		Metrics: c.Metrics, Logger: c.Logger, Clock: c.Clock,
	}).Run, nil
}

func startTTLAfterFinished(_ context.Context, c *Context) (runFunc, error) {
	ctrl, err := ttlafterfinished.New(ttlafterfinished.Options{
		Client: c.Client, Informers: c.Informers, Workers: c.Settings.Workers("ttl-after-finished"),
		Metrics: c.Metrics, Logger: c.Logger, Clock: c.Clock,
	})
	if err != nil {
		return nil, err
	}
	return ctrl.Run, nil
}

func startNamespace(_ context.Context, c *Context) (runFunc, error) {
	ctrl, err := namespace.New(namespace.Options{
		Client: c.Client, Metadata: c.Metadata, Informers: c.Informers, Workers: c.Settings.Workers("namespace"),
		Metrics: c.Metrics, Logger: c.Logger, Clock: c.Clock,
	})
	if err != nil {
		return nil, err
	}
	return ctrl.Run, nil
}

func startGarbageCollector(_ context.Context, c *Context) (runFunc, error) {
	return garbagecollector.New(garbagecollector.Options{
		Metadata: c.Metadata, Discovery: c.Client.Discovery(), Informers: c.Informers,
		Recorder: c.Recorder(garbagecollector.Name), Workers: c.Settings.Workers("garbage-collector"), Metrics: c.Metrics, Logger: c.Logger,
	}).Run, nil
}

func startCronJob(_ context.Context, c *Context) (runFunc, error) {
	ctrl, err := cronjob.New(cronjob.Options{
		Client: c.Client, Informers: c.Informers, Recorder: c.Recorder(cronjob.Name),
		Workers: c.Settings.Workers("cronjob"), Metrics: c.Metrics, Logger: c.Logger, Clock: c.Clock,
	})
	if err != nil {
		return nil, err
	}
	return ctrl.Run, nil
}

func startJob(_ context.Context, c *Context) (runFunc, error) {
	ctrl, err := job.New(job.Options{
		Client: c.Client, Informers: c.Informers, Recorder: c.Recorder(job.Name),
		Workers: c.Settings.Workers("job"), Metrics: c.Metrics, Logger: c.Logger, Clock: c.Clock,
	})
	if err != nil {
		return nil, err
	}
	return ctrl.Run, nil
}
