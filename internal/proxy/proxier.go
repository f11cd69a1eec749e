package proxy

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"capstan/internal/proxy/desired"
	"capstan/internal/proxy/iptables"
	"capstan/internal/proxy/nftables"
	"capstan/internal/proxy/runner"
	"capstan/internal/proxy/userspace"
)

// Proxier is one proxy mode: it makes the node forward as a desired.State says. The sync
// loop calls Sync from one goroutine; Cleanup may be called without any Sync.
type Proxier interface {
	// Sync makes the node forward as desired. When desired.Full is false it may apply only
	// what changed since its last successful Sync; after a failed Sync it must apply
	// everything on the next one. desired is not modified and not kept past the call
	// unless copied.
	Sync(ctx context.Context, desired *desired.State) error
	// Cleanup removes everything the mode ever installed on the node, including what an
	// earlier process left.
	Cleanup(ctx context.Context) error
}

// NetfilterWriter is implemented by modes whose syncs need not write netfilter: the
// userspace mode applies a change of endpoints to its in-process balancers alone, as
// upstream's userspace proxy did at once. --min-sync-period limits netfilter writes, so a
// sync that wrote none is not counted against it.
type NetfilterWriter interface {
	// WroteNetfilter says whether the last successful Sync wrote to netfilter.
	WroteNetfilter() bool
}

// RuleCounter is implemented by modes that can say how many rules they own, per table.
type RuleCounter interface {
	RuleCounts() map[string]int
}

// The --proxy-mode values.
const (
	ModeIPTables  = "iptables"
	ModeNFTables  = "nftables"
	ModeUserspace = "userspace"
)

// Modes lists every --proxy-mode value, built or not.
var Modes = []string{ModeIPTables, ModeNFTables, ModeUserspace}

// builtModes are the modes this binary can run.
func builtModes() []string { return []string{ModeIPTables, ModeNFTables, ModeUserspace} }

// modeConfig is what a mode constructor gets.
type modeConfig struct {
	runner        runner.Runner
	masqueradeBit int
	// sockets opens the userspace mode's sockets (nil: the host's).
	sockets        userspace.Sockets
	udpIdleTimeout time.Duration
	logger         *slog.Logger
}

// newProxier builds the named mode.
func newProxier(mode string, c modeConfig) (Proxier, error) {
	switch mode {
	case ModeIPTables:
		return iptables.New(iptables.Options{Runner: c.runner, MasqueradeBit: c.masqueradeBit, Logger: c.logger})
	case ModeNFTables:
		return nftables.New(nftables.Options{Runner: c.runner, MasqueradeBit: c.masqueradeBit, Logger: c.logger})
	case ModeUserspace:
		return userspace.New(userspace.Options{Runner: c.runner, Sockets: c.sockets, UDPIdleTimeout: c.udpIdleTimeout, Logger: c.logger})
	}
	return nil, fmt.Errorf("unknown --proxy-mode %q (one of %s)", mode, strings.Join(Modes, ", "))
}

// Cleanup removes the rules of every built mode from the node (`capstan proxy
// --cleanup`).
func Cleanup(ctx context.Context, run runner.Runner, log *slog.Logger) error {
	return cleanupModes(ctx, run, log, "")
}

// cleanupModes cleans every built mode but keep.
func cleanupModes(ctx context.Context, run runner.Runner, log *slog.Logger, keep string) error {
	if run == nil {
		run = runner.Exec{}
	}
	var errs []string
	for _, mode := range builtModes() {
		if mode == keep {
			continue
		}
		p, err := newProxier(mode, modeConfig{runner: run, logger: log})
		if err == nil {
			err = p.Cleanup(ctx)
		}
		if err != nil {
			errs = append(errs, mode+": "+err.Error())
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("cleaning up: %s", strings.Join(errs, "; "))
	}
	return nil
}
