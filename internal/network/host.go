package network

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Sysctl reads and writes kernel parameters by their dotted name
// ("net.ipv4.ip_forward"). A missing parameter is an error wrapping fs.ErrNotExist.
type Sysctl interface {
	Get(key string) (string, error)
	Set(key, value string) error
}

// ProcSysctl is the Sysctl of the calling thread's namespaces, under Root (default
// "/proc/sys").
type ProcSysctl struct{ Root string }

func (p ProcSysctl) path(key string) string {
	root := p.Root
	if root == "" {
		root = "/proc/sys"
	}
	return filepath.Join(root, strings.ReplaceAll(key, ".", "/"))
}

// Get implements Sysctl.
func (p ProcSysctl) Get(key string) (string, error) {
	b, err := os.ReadFile(p.path(key))
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// Set implements Sysctl.
func (p ProcSysctl) Set(key, value string) error {
	return os.WriteFile(p.path(key), []byte(value), 0o644)
}

// Runner runs a host command with stdin and returns its combined output. Tests pass a fake;
// the default runs the program with os/exec.
type Runner interface {
	Run(ctx context.Context, stdin []byte, name string, args ...string) ([]byte, error)
}

// SysctlSetting is one kernel parameter the pod network needs.
type SysctlSetting struct {
	Key, Value string
	// Module is loaded (modprobe) when the parameter does not exist yet.
	Module string
}

// HostSysctls lists the parameters PrepareHost sets: forwarding, so pod traffic is routed;
// bridge-nf-call-iptables, so traffic between pods on one bridge passes the proxy's and our
// netfilter rules; route_localnet when the proxy serves NodePorts on 127.0.0.1.
func HostSysctls(routeLocalnet bool) []SysctlSetting {
	s := []SysctlSetting{
		{Key: "net.ipv4.ip_forward", Value: "1"},
		{Key: "net.bridge.bridge-nf-call-iptables", Value: "1", Module: "br_netfilter"},
	}
	if routeLocalnet {
		s = append(s, SysctlSetting{Key: "net.ipv4.conf.all.route_localnet", Value: "1"})
	}
	return s
}

// SysctlChange is a parameter PrepareHost changed.
type SysctlChange struct{ Key, From, To string }

func (c SysctlChange) String() string { return fmt.Sprintf("%s: %s -> %s", c.Key, c.From, c.To) }

// HostOptions configures PrepareHost.
type HostOptions struct {
	// RouteLocalnet also sets net.ipv4.conf.all.route_localnet=1 (for the proxy's NodePorts
	// on localhost). Default false.
	RouteLocalnet bool
	// Sysctl reads and writes the parameters. Default ProcSysctl{}.
	Sysctl Sysctl
	// Runner runs modprobe. Default os/exec.
	Runner Runner
}

// PrepareHost sets the kernel parameters of HostSysctls, loading a module first when its
// parameter is missing. It is idempotent and reports only what it changed.
func PrepareHost(ctx context.Context, opts HostOptions) ([]SysctlChange, error) {
	if opts.Sysctl == nil {
		opts.Sysctl = ProcSysctl{}
	}
	if opts.Runner == nil {
		opts.Runner = ExecRunner{}
	}
	var changed []SysctlChange
	for _, s := range HostSysctls(opts.RouteLocalnet) {
		old, err := opts.Sysctl.Get(s.Key)
		if errors.Is(err, fs.ErrNotExist) && s.Module != "" {
			if out, merr := opts.Runner.Run(ctx, nil, "modprobe", s.Module); merr != nil {
				return changed, fmt.Errorf("loading %s for %s: %w: %s", s.Module, s.Key, merr, strings.TrimSpace(string(out)))
			}
			old, err = opts.Sysctl.Get(s.Key)
		}
		if err != nil {
			return changed, fmt.Errorf("reading %s: %w", s.Key, err)
		}
		if old == s.Value {
			continue
		}
		if err := opts.Sysctl.Set(s.Key, s.Value); err != nil {
			return changed, fmt.Errorf("setting %s=%s: %w", s.Key, s.Value, err)
		}
		changed = append(changed, SysctlChange{Key: s.Key, From: old, To: s.Value})
	}
	return changed, nil
}
