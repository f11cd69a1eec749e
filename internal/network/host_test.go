package network

import (
	"context"
	"fmt"
	"io/fs"
	"reflect"
	"strings"
	"testing"
)

type fakeSysctl map[string]string

func (f fakeSysctl) Get(k string) (string, error) {
	v, ok := f[k]
	if !ok {
		return "", fmt.Errorf("%s: %w", k, fs.ErrNotExist)
	}
	return v, nil
}

func (f fakeSysctl) Set(k, v string) error {
	if _, ok := f[k]; !ok {
		return fmt.Errorf("%s: %w", k, fs.ErrNotExist)
	}
	f[k] = v
	return nil
}

// fakeRunner records commands; modprobe br_netfilter makes the bridge parameter appear.
type fakeRunner struct {
	sysctl fakeSysctl
	ran    []string
	fail   bool
}

func (r *fakeRunner) Run(_ context.Context, _ []byte, name string, args ...string) ([]byte, error) {
	r.ran = append(r.ran, name+" "+strings.Join(args, " "))
	if r.fail {
		return []byte("modprobe: FATAL"), fmt.Errorf("exit status 1")
	}
	if name == "modprobe" && len(args) == 1 && args[0] == "br_netfilter" {
		r.sysctl["net.bridge.bridge-nf-call-iptables"] = "0"
	}
	return nil, nil
}

func TestPrepareHost(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		start         fakeSysctl
		routeLocalnet bool
		failModprobe  bool
		wantChanged   []SysctlChange
		wantRan       []string
		wantErr       bool
		wantEnd       fakeSysctl
	}{
		{
			name:  "a fresh machine gets forwarding and bridge netfilter",
			start: fakeSysctl{"net.ipv4.ip_forward": "0", "net.bridge.bridge-nf-call-iptables": "0", "net.ipv4.conf.all.route_localnet": "0"},
			wantChanged: []SysctlChange{
				{"net.ipv4.ip_forward", "0", "1"},
				{"net.bridge.bridge-nf-call-iptables", "0", "1"},
			},
			wantEnd: fakeSysctl{"net.ipv4.ip_forward": "1", "net.bridge.bridge-nf-call-iptables": "1", "net.ipv4.conf.all.route_localnet": "0"},
		},
		{
			name:        "a prepared machine is left alone",
			start:       fakeSysctl{"net.ipv4.ip_forward": "1", "net.bridge.bridge-nf-call-iptables": "1"},
			wantEnd:     fakeSysctl{"net.ipv4.ip_forward": "1", "net.bridge.bridge-nf-call-iptables": "1"},
			wantChanged: nil,
		},
		{
			name:          "route_localnet only when asked",
			start:         fakeSysctl{"net.ipv4.ip_forward": "1", "net.bridge.bridge-nf-call-iptables": "1", "net.ipv4.conf.all.route_localnet": "0"},
			routeLocalnet: true,
			wantChanged:   []SysctlChange{{"net.ipv4.conf.all.route_localnet", "0", "1"}},
			wantEnd:       fakeSysctl{"net.ipv4.ip_forward": "1", "net.bridge.bridge-nf-call-iptables": "1", "net.ipv4.conf.all.route_localnet": "1"},
		},
		{
			name:        "br_netfilter is loaded when its parameter is missing",
			start:       fakeSysctl{"net.ipv4.ip_forward": "1"},
			wantRan:     []string{"modprobe br_netfilter"},
			wantChanged: []SysctlChange{{"net.bridge.bridge-nf-call-iptables", "0", "1"}},
			wantEnd:     fakeSysctl{"net.ipv4.ip_forward": "1", "net.bridge.bridge-nf-call-iptables": "1"},
		},
		{
			name:         "a module that does not load is an error after what was changed",
			start:        fakeSysctl{"net.ipv4.ip_forward": "0"},
			failModprobe: true,
			wantRan:      []string{"modprobe br_netfilter"},
			wantChanged:  []SysctlChange{{"net.ipv4.ip_forward", "0", "1"}},
			wantErr:      true,
			wantEnd:      fakeSysctl{"net.ipv4.ip_forward": "1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := &fakeRunner{sysctl: tt.start, fail: tt.failModprobe}
			changed, err := PrepareHost(t.Context(), HostOptions{RouteLocalnet: tt.routeLocalnet, Sysctl: tt.start, Runner: r})
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if !reflect.DeepEqual(changed, tt.wantChanged) {
				t.Errorf("changed = %v, want %v", changed, tt.wantChanged)
			}
			if !reflect.DeepEqual(r.ran, tt.wantRan) {
				t.Errorf("ran %q, want %q", r.ran, tt.wantRan)
			}
			if !reflect.DeepEqual(tt.start, tt.wantEnd) {
				t.Errorf("parameters end as %v, want %v", tt.start, tt.wantEnd)
			}
		})
	}
}

func TestProcSysctlPaths(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	s := ProcSysctl{Root: root}
	if _, err := s.Get("net.ipv4.ip_forward"); err == nil {
		t.Fatal("reading a missing parameter succeeded")
	}
	if got := s.path("net.bridge.bridge-nf-call-iptables"); got != root+"/net/bridge/bridge-nf-call-iptables" {
		t.Errorf("path = %s", got)
	}
}
