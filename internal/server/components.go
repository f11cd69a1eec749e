package server

import (
	"context"
	"crypto"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"

	"k8s.io/client-go/rest"

	"capstan/internal/agent"
	"capstan/internal/controllermanager"
	"capstan/internal/dns"
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
func (o *Options) components(ca *pki.CA, saKey crypto.Signer) []component {
	var out []component
	if !o.DisableControllerManager {
		out = append(out, component{
			name: "kube-controller-manager", user: "system:kube-controller-manager",
			run: func(ctx context.Context, cfg *rest.Config) error {
				settings := controllermanager.DefaultSettings()
				settings.RootCAPEM = ca.CertPEM
				settings.ServiceAccountPrivateKey = saKey
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
	if !o.DisableAgent {
		out = append(out, o.agentComponent(ca))
	}
	if dnsOpts, ok := o.dnsOptions(); ok {
		out = append(out, component{
			name: "kube-dns", user: "system:kube-dns",
			run: func(ctx context.Context, cfg *rest.Config) error {
				dnsOpts.Config = cfg
				return dns.Run(ctx, dnsOpts)
			},
		})
	}
	return out
}

// agentComponent runs this node's agent as system:node:<name>, with a kubelet serving
// certificate from the cluster CA.
func (o *Options) agentComponent(ca *pki.CA) component {
	a := o.Agent
	a.DataDir, a.ControlPlane, a.Logger = o.DataDir, true, o.Logger
	if a.NodeName == "" {
		a.NodeName = agent.DefaultNodeName()
	}
	if a.ClusterDNS == "" {
		a.ClusterDNS = o.ClusterDNS
	}
	if a.ClusterDomain == "" {
		a.ClusterDomain = o.ClusterDomain
	}
	return component{
		name: "agent", user: "system:node:" + a.NodeName, groups: []string{"system:nodes"},
		run: func(ctx context.Context, cfg *rest.Config) error {
			ips := []net.IP{net.IPv4(127, 0, 0, 1)}
			for _, s := range []string{a.NodeIP, o.AdvertiseAddress} {
				if ip := net.ParseIP(s); ip != nil {
					ips = append(ips, ip)
				}
			}
			serving, err := ca.Issue(pki.CertSpec{
				CommonName: "system:node:" + a.NodeName, Organization: []string{"system:nodes"},
				DNSNames: []string{a.NodeName, "localhost"}, IPs: ips,
				Usages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			})
			if err != nil {
				return err
			}
			a.Config, a.KubeletServingCert = cfg, &serving.TLS
			return agent.Run(ctx, a)
		},
	}
}

// dnsOptions configures the cluster DNS component: on the advertise address, port 53, and
// registered behind kube-system/kube-dns at ClusterDNS. With a loopback advertise address
// and no DNSListen it does not run: pods could not reach it.
func (o *Options) dnsOptions() (dns.Options, bool) {
	advertise := net.ParseIP(o.AdvertiseAddress)
	listen := o.DNSListen
	if o.DisableDNS || (listen == "" && (advertise == nil || advertise.IsLoopback())) {
		return dns.Options{}, false
	}
	if listen == "" {
		listen = net.JoinHostPort(o.AdvertiseAddress, "53")
	}
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		o.Logger.Error("cluster DNS not started", "err", fmt.Errorf("--dns-listen: %w", err))
		return dns.Options{}, false
	}
	metrics := o.DNSMetricsListen
	if metrics == "" {
		metrics = net.JoinHostPort(host, "9153")
	}
	endpoint := advertise
	if ip := net.ParseIP(host); ip != nil && !ip.IsUnspecified() {
		endpoint = ip
	}
	serviceIP := o.ClusterDNS
	if serviceIP == "" {
		if p, err := netip.ParsePrefix(o.ServiceCIDR); err == nil {
			a := p.Masked().Addr()
			for range 10 {
				a = a.Next()
			}
			serviceIP = a.String()
		}
	}
	return dns.Options{
		Listen: listen, HTTPListen: metrics, Domain: o.ClusterDomain, Logger: o.Logger,
		Publish: &dns.Publish{ServiceIP: serviceIP, Address: endpoint},
	}, true
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
