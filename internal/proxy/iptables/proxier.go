package iptables

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"capstan/internal/netfilter/jump"
	"capstan/internal/proxy/desired"
	"capstan/internal/proxy/runner"
)

// Options configures a Proxier.
type Options struct {
	// Runner runs iptables-restore, iptables and iptables-save. Default runner.Exec{}.
	Runner runner.Runner
	// MasqueradeBit is the bit of the packet mark that asks for masquerading (upstream's
	// --iptables-masquerade-bit). Default 14 (0x4000).
	MasqueradeBit int
	// Logger. Default slog.Default().
	Logger *slog.Logger
}

// Proxier programs the iptables mode. Its methods are safe for concurrent use, though the
// proxy calls them from one loop.
type Proxier struct {
	run  runner.Runner
	log  *slog.Logger
	mark string

	mu sync.Mutex
	// applied is what the last successful sync left; nil before the first and after a
	// failure, which makes the next sync a full one.
	applied map[desired.ServicePortName]*written
	rules   map[string]int
}

// New returns a Proxier; it touches nothing until the first Sync.
func New(opts Options) (*Proxier, error) {
	if opts.Runner == nil {
		opts.Runner = runner.Exec{}
	}
	if opts.MasqueradeBit == 0 {
		opts.MasqueradeBit = 14
	}
	if opts.MasqueradeBit < 0 || opts.MasqueradeBit > 31 {
		return nil, fmt.Errorf("iptables: masquerade bit %d is not in 0-31", opts.MasqueradeBit)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Proxier{run: opts.Runner, log: opts.Logger, mark: fmt.Sprintf("%#x", 1<<opts.MasqueradeBit)}, nil
}

// jumps are the rules in the built-in chains that send traffic into this mode's chains.
func jumps() []jump.Jump {
	c := func(s string) []string { return []string{"-m", "comment", "--comment", s} }
	newConn := []string{"-m", "conntrack", "--ctstate", "NEW"}
	cat := func(parts ...[]string) []string {
		var out []string
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	to := func(chain string) []string { return []string{"-j", chain} }
	j := func(table, chain string, args []string) jump.Jump {
		return jump.Jump{Table: table, Chain: chain, Args: args}
	}
	return []jump.Jump{
		j("filter", "INPUT", cat(newConn, c("kubernetes load balancer firewall"), to(chainProxyFirewall))),
		j("filter", "INPUT", cat(newConn, c("kubernetes externally-visible service portals"), to(chainExternalServices))),
		j("filter", "FORWARD", cat(newConn, c("kubernetes load balancer firewall"), to(chainProxyFirewall))),
		j("filter", "FORWARD", cat(c("kubernetes forwarding rules"), to(chainForward))),
		j("filter", "FORWARD", cat(newConn, c("kubernetes service portals"), to(chainServices))),
		j("filter", "FORWARD", cat(newConn, c("kubernetes externally-visible service portals"), to(chainExternalServices))),
		j("filter", "OUTPUT", cat(newConn, c("kubernetes load balancer firewall"), to(chainProxyFirewall))),
		j("filter", "OUTPUT", cat(newConn, c("kubernetes service portals"), to(chainServices))),
		j("nat", "PREROUTING", cat(c("kubernetes service portals"), to(chainServices))),
		j("nat", "OUTPUT", cat(c("kubernetes service portals"), to(chainServices))),
		j("nat", "POSTROUTING", cat(c("kubernetes postrouting rules"), to(chainPostrouting))),
	}
}

// Sync makes the tables forward as st says: everything when st.Full or after a failure,
// otherwise only the service ports that changed since the last successful Sync.
func (p *Proxier) Sync(ctx context.Context, st *desired.State) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	prev := p.applied
	var existing []string
	var missing []jump.Jump
	if st.Full || prev == nil {
		prev = nil
		var err error
		if existing, err = p.chains(ctx, "nat"); err != nil {
			return err
		}
		missing = jump.Missing(ctx, p.run, jumps())
	}
	pl := buildPlan(st, prev, existing, p.mark, chunkChains, missing)
	p.applied = nil
	for _, in := range pl.restores {
		if _, err := p.run.Run(ctx, in, "iptables-restore", "-w", "--noflush"); err != nil {
			return fmt.Errorf("iptables: loading rules: %w", err)
		}
	}
	p.applied, p.rules = pl.services, pl.rules
	return nil
}

// RuleCounts returns the number of rules this mode has in each table after the last
// successful Sync.
func (p *Proxier) RuleCounts() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]int, len(p.rules))
	for k, v := range p.rules {
		out[k] = v
	}
	return out
}

// chains lists the chains of a table.
func (p *Proxier) chains(ctx context.Context, table string) ([]string, error) {
	out, err := p.run.Run(ctx, nil, "iptables-save", "-t", table)
	if err != nil {
		return nil, fmt.Errorf("iptables: reading the %s table: %w", table, err)
	}
	return parseChains(out), nil
}

// parseChains returns the chain names declared in iptables-save output.
func parseChains(save []byte) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(save))
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, ":") {
			name, _, _ := strings.Cut(line[1:], " ")
			out = append(out, name)
		}
	}
	return out
}

// Cleanup removes every rule and chain this mode ever installed, whether or not this
// Proxier installed them (e.g. left by an earlier run).
func (p *Proxier) Cleanup(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.applied = nil
	jump.Remove(ctx, p.run, jumps())
	var b bytes.Buffer
	for _, table := range []string{"filter", "nat"} {
		all, err := p.chains(ctx, table)
		if err != nil {
			return err
		}
		var owned []string
		for _, c := range all {
			if isOwnedChain(c) {
				owned = append(owned, c)
			}
		}
		if len(owned) == 0 {
			continue
		}
		b.WriteString("*" + table + "\n")
		for _, c := range owned {
			b.WriteString(":" + c + " - [0:0]\n")
		}
		for _, c := range owned {
			b.WriteString("-X " + c + "\n")
		}
		b.WriteString("COMMIT\n")
	}
	if b.Len() == 0 {
		return nil
	}
	if _, err := p.run.Run(ctx, b.Bytes(), "iptables-restore", "-w", "--noflush"); err != nil {
		return fmt.Errorf("iptables: deleting chains: %w", err)
	}
	return nil
}
