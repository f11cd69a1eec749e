package nftables

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"capstan/internal/proxy/desired"
	"capstan/internal/proxy/runner"
)

// Options configures a Proxier.
type Options struct {
	// Runner runs nft. Default runner.Exec{}.
	Runner runner.Runner
	// MasqueradeBit is the bit of the packet mark that asks for masquerading. Default 14.
	MasqueradeBit int
	// Logger. Default slog.Default().
	Logger *slog.Logger
}

// Proxier programs the nftables mode.
type Proxier struct {
	run  runner.Runner
	log  *slog.Logger
	mark string

	mu sync.Mutex
	// applied and elements are what the last successful sync left; nil before the first
	// and after a failure, which makes the next sync a full one.
	applied  map[desired.ServicePortName]*written
	elements elements
	rules    int
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
		return nil, fmt.Errorf("nftables: masquerade bit %d is not in 0-31", opts.MasqueradeBit)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Proxier{run: opts.Runner, log: opts.Logger, mark: fmt.Sprintf("%#x", 1<<opts.MasqueradeBit)}, nil
}

// Sync makes the table forward as st says: everything when st.Full or after a failure,
// otherwise only what changed since the last successful Sync.
func (p *Proxier) Sync(ctx context.Context, st *desired.State) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	prev, prevElems := p.applied, p.elements
	var old existing
	if st.Full || prev == nil {
		prev, prevElems = nil, nil
		var err error
		if old, err = p.list(ctx); err != nil {
			return err
		}
	}
	pl := buildPlan(st, prev, prevElems, old, p.mark, chunkChains)
	p.applied, p.elements = nil, nil
	for _, script := range pl.scripts {
		if _, err := p.run.Run(ctx, script, "nft", "-f", "-"); err != nil {
			return fmt.Errorf("nftables: applying a transaction: %w", err)
		}
	}
	p.applied, p.elements, p.rules = pl.services, pl.elements, pl.rules
	return nil
}

// RuleCounts returns the number of rules in the table after the last successful Sync.
func (p *Proxier) RuleCounts() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return map[string]int{table: p.rules}
}

// list returns the chains and sets of the table; none when it does not exist.
func (p *Proxier) list(ctx context.Context) (existing, error) {
	ok, err := p.exists(ctx)
	if err != nil || !ok {
		return existing{}, err
	}
	out, err := p.run.Run(ctx, nil, "nft", "-t", "list", "table", family, table)
	if err != nil {
		return existing{}, fmt.Errorf("nftables: listing the table: %w", err)
	}
	return parseObjects(out), nil
}

func (p *Proxier) exists(ctx context.Context) (bool, error) {
	out, err := p.run.Run(ctx, nil, "nft", "list", "tables", family)
	if err != nil {
		return false, fmt.Errorf("nftables: listing tables: %w", err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.TrimSpace(line) == "table "+family+" "+table {
			return true, nil
		}
	}
	return false, nil
}

// parseObjects reads the chain and set names of `nft -t list table` output.
func parseObjects(out []byte) existing {
	var e existing
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 3 || f[2] != "{" {
			continue
		}
		switch f[0] {
		case "chain":
			e.chains = append(e.chains, f[1])
		case "set":
			e.sets = append(e.sets, f[1])
		}
	}
	return e
}

// Cleanup deletes the table, whoever made it.
func (p *Proxier) Cleanup(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.applied, p.elements = nil, nil
	ok, err := p.exists(ctx)
	if err != nil || !ok {
		return err
	}
	if _, err := p.run.Run(ctx, nil, "nft", "delete", "table", family, table); err != nil {
		return fmt.Errorf("nftables: deleting the table: %w", err)
	}
	return nil
}
