package userspace

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/clock"

	"capstan/internal/netfilter/jump"
	"capstan/internal/proxy/desired"
	"capstan/internal/proxy/runner"
)

// Options configures a Proxier.
type Options struct {
	// Runner runs iptables-restore and iptables. Default runner.Exec{}.
	Runner runner.Runner
	// Sockets opens the proxy sockets and the connections to endpoints. Default
	// HostSockets{}.
	Sockets Sockets
	// UDPIdleTimeout ends a UDP session after this long without a datagram either way
	// (upstream's --udp-timeout). Default 250ms, upstream's.
	UDPIdleTimeout time.Duration
	// Clock times ClientIP affinity. Default: the real clock.
	Clock clock.PassiveClock
	// Logger. Default slog.Default().
	Logger *slog.Logger
}

// forwarder is what every proxy socket shares.
type forwarder struct {
	sockets Sockets
	udpIdle time.Duration
	log     *slog.Logger
}

// Proxier runs the userspace mode. Its methods are safe for concurrent use, though the
// proxy calls them from one loop.
type Proxier struct {
	run   runner.Runner
	f     *forwarder
	clock clock.PassiveClock

	mu       sync.Mutex
	services map[desired.ServicePortName]*servicePort
	// applied is the rules the last successful sync left; nil before the first and after a
	// failure, which makes the next sync a full one.
	applied ruleSet
	counts  map[string]int
	// wrote says whether the last successful sync wrote rules.
	wrote bool
	// unsupported are the service ports of other protocols, logged once each.
	unsupported map[desired.ServicePortName]bool
}

// New returns a Proxier; it opens and touches nothing until the first Sync.
func New(opts Options) (*Proxier, error) {
	if opts.Runner == nil {
		opts.Runner = runner.Exec{}
	}
	if opts.Sockets == nil {
		opts.Sockets = HostSockets{}
	}
	if opts.UDPIdleTimeout == 0 {
		opts.UDPIdleTimeout = 250 * time.Millisecond
	}
	if opts.UDPIdleTimeout < 0 {
		return nil, fmt.Errorf("userspace: negative UDP idle timeout %v", opts.UDPIdleTimeout)
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Proxier{
		run:         opts.Runner,
		f:           &forwarder{sockets: opts.Sockets, udpIdle: opts.UDPIdleTimeout, log: opts.Logger},
		clock:       opts.Clock,
		services:    map[desired.ServicePortName]*servicePort{},
		unsupported: map[desired.ServicePortName]bool{},
	}, nil
}

// Sync opens the proxy sockets of new service ports, hands the changed ones their
// endpoints, writes the rules (all of them when st.Full or after a failure, else only
// those of changed service ports) and closes the sockets of service ports that are gone.
func (p *Proxier) Sync(ctx context.Context, st *desired.State) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	full := st.Full || p.applied == nil
	next := make(ruleSet, len(st.Services))
	unsupported := map[desired.ServicePortName]bool{}
	want := make(map[desired.ServicePortName]bool, len(st.Services))
	var errs []error
	for i := range st.Services {
		sp := &st.Services[i]
		if proto := sp.Name.Protocol; proto != corev1.ProtocolTCP && proto != corev1.ProtocolUDP {
			if !p.unsupported[sp.Name] {
				p.f.log.Warn("The userspace proxy mode does not support this protocol; the service port gets no rules",
					"servicePort", sp.Name.String(), "protocol", proto)
			}
			unsupported[sp.Name] = true
			continue
		}
		want[sp.Name] = true
		s, err := p.ensure(ctx, sp, st.Masquerade.PodCIDR)
		if err != nil {
			errs = append(errs, fmt.Errorf("userspace: %s: %w", sp.Name, err))
			continue
		}
		next[sp.Name] = s.rules
	}
	p.unsupported = unsupported

	var input []byte
	if full {
		input = fullRestore(next, jump.Missing(ctx, p.run, jumps()))
	} else {
		input = partialRestore(p.applied, next)
	}
	p.applied = nil
	if input != nil {
		if _, err := p.run.Run(ctx, input, "iptables-restore", "-w", "--noflush"); err != nil {
			errs = append(errs, fmt.Errorf("userspace: loading rules: %w", err))
		}
	}
	// Gone service ports' sockets close after their rules went (or failed to: then nothing
	// is served there anyway).
	for name, s := range p.services {
		if !want[name] {
			s.close()
			delete(p.services, name)
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	p.applied, p.counts, p.wrote = next, countRules(next), input != nil
	return nil
}

// WroteNetfilter says whether the last successful Sync wrote rules; a change of endpoints
// alone only updates the balancers.
func (p *Proxier) WroteNetfilter() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.wrote
}

// ensure brings one service port's sockets, endpoints and rules up to sp.
func (p *Proxier) ensure(ctx context.Context, sp *desired.ServicePort, podCIDR netip.Prefix) (*servicePort, error) {
	s := p.services[sp.Name]
	if s != nil && s.sp.Equal(sp) && s.podCIDR == podCIDR {
		return s, nil
	}
	if s == nil {
		s = newServicePort(p.clock)
		in, err := p.f.open(ctx, sp.Name.Protocol, s.chooser(false))
		if err != nil {
			return nil, err
		}
		s.internal = in
		p.services[sp.Name] = s
	}
	switch {
	case sp.ExternallyAccessible() && s.external == nil:
		ex, err := p.f.open(ctx, sp.Name.Protocol, s.chooser(true))
		if err != nil {
			return nil, err
		}
		s.external = ex
	case !sp.ExternallyAccessible() && s.external != nil:
		s.external.close()
		s.external = nil
	}
	s.update(sp, podCIDR)
	s.rules = serviceRules(sp, s.ports(), podCIDR)
	return s, nil
}

// open opens a proxy socket for the protocol.
func (f *forwarder) open(ctx context.Context, proto corev1.Protocol, choose chooser) (portal, error) {
	if proto == corev1.ProtocolUDP {
		u, err := f.openUDP(ctx, choose)
		if err != nil {
			return nil, err
		}
		return u, nil
	}
	t, err := f.openTCP(ctx, choose)
	if err != nil {
		return nil, err
	}
	return t, nil
}

// RuleCounts returns the number of rules of the mode's chains in each table after the
// last successful Sync.
func (p *Proxier) RuleCounts() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.counts)
}

// Close closes every proxy socket and leaves the rules in place (a restart rewrites them
// with its new ports on its first sync). A later Sync starts afresh.
func (p *Proxier) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closeAll()
	return nil
}

func (p *Proxier) closeAll() {
	for name, s := range p.services {
		s.close()
		delete(p.services, name)
	}
	p.applied = nil
}

// Cleanup closes every proxy socket and removes every rule and chain this mode ever
// installed, whether or not this Proxier installed them.
func (p *Proxier) Cleanup(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closeAll()
	jump.Remove(ctx, p.run, jumps())
	// Declaring a chain creates or flushes it, so this works whether or not it exists.
	t := tableText{}
	for _, o := range ownedChains {
		for _, c := range o.chains {
			t.add(o.table, ":"+c+" - [0:0]")
		}
		for _, c := range o.chains {
			t.add(o.table, "-X "+c)
		}
	}
	if _, err := p.run.Run(ctx, t.render(), "iptables-restore", "-w", "--noflush"); err != nil {
		return fmt.Errorf("userspace: deleting chains: %w", err)
	}
	return nil
}

// servicePort is the proxying of one service port: its sockets and endpoint pools.
type servicePort struct {
	// Written by Sync only.
	sp                 desired.ServicePort
	internal, external portal
	rules              []rule
	// all are the endpoints of sp.
	all map[string]bool

	cluster, local *pool

	mu                           sync.RWMutex
	internalLocal, externalLocal bool
	podCIDR                      netip.Prefix
}

func newServicePort(c clock.PassiveClock) *servicePort {
	return &servicePort{cluster: newPool(c), local: newPool(c)}
}

// chooser picks the pool for the cluster IP's socket, or with external for the external
// addresses' one.
func (s *servicePort) chooser(external bool) chooser {
	return func(client, local netip.Addr) *pool {
		s.mu.RLock()
		defer s.mu.RUnlock()
		if !external {
			if s.internalLocal {
				return s.local
			}
			return s.cluster
		}
		// The node's own traffic arrives redirected to 127.0.0.1; it and pods' traffic
		// may reach any endpoint, as in the other modes.
		if s.externalLocal && !local.IsLoopback() && !s.podCIDR.Contains(client) {
			return s.local
		}
		return s.cluster
	}
}

// update hands the pools sp's endpoints and ends UDP sessions to endpoints now gone.
func (s *servicePort) update(sp *desired.ServicePort, podCIDR netip.Prefix) {
	affinity := time.Duration(sp.AffinitySeconds) * time.Second
	s.cluster.set(endpointList(sp.ClusterEndpoints), affinity)
	s.local.set(endpointList(sp.LocalEndpoints), affinity)
	s.mu.Lock()
	s.internalLocal, s.externalLocal, s.podCIDR = sp.InternalPolicyLocal, sp.ExternalPolicyLocal, podCIDR
	s.mu.Unlock()
	all := map[string]bool{}
	for _, e := range sp.AllEndpoints() {
		all[e.String()] = true
	}
	gone := map[string]bool{}
	for ep := range s.all {
		if !all[ep] {
			gone[ep] = true
		}
	}
	if len(gone) > 0 {
		for _, pt := range []portal{s.internal, s.external} {
			if pt != nil {
				pt.endpointsGone(gone)
			}
		}
	}
	s.sp, s.all = *sp, all
}

func endpointList(eps []desired.Endpoint) []string {
	out := make([]string, len(eps))
	for i, e := range eps {
		out[i] = e.String()
	}
	return out
}

func (s *servicePort) ports() ports {
	out := ports{internal: s.internal.port()}
	if s.external != nil {
		out.external = s.external.port()
	}
	return out
}

func (s *servicePort) close() {
	s.internal.close()
	if s.external != nil {
		s.external.close()
	}
}
