package network

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/containernetworking/cni/libcni"
	types100 "github.com/containernetworking/cni/pkg/types/100"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"capstan/internal/network"
	"capstan/test/e2e/netnstest"
)

const cniBinDir = "/usr/lib/cni"

// requireRoot skips the test unless it can make namespaces and run the plugins.
func requireRoot(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	if os.Geteuid() != 0 {
		t.Skip("e2e: the pod network tests need root (network namespaces, netlink, iptables); skipped as a non-root user")
	}
	for _, tool := range []string{"ip", "iptables", "iptables-restore", "iptables-save"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("e2e: %s is not installed (hack/setup.sh installs it)", tool)
		}
	}
	for _, p := range []string{"bridge", "host-local", "loopback", "portmap"} {
		if _, err := os.Stat(filepath.Join(cniBinDir, p)); err != nil {
			t.Skipf("e2e: CNI plugin %s missing from %s (hack/setup.sh installs containernetworking-plugins)", p, cniBinDir)
		}
	}
}

// ns is a network namespace the test made.
type ns = netnstest.NS

// newNS makes a namespace with lo up, deleted when the test ends.
func newNS(t *testing.T, role string) ns { return netnstest.New(t, "capnet", role) }

// run runs a command on the host and fails the test if it fails.
var run = netnstest.Run

// veth connects a in one namespace with b in another; neither end ever exists in the
// host's namespace.
func veth(t *testing.T, aNS ns, a string, bNS ns, b string) {
	t.Helper()
	run(t, "ip", "link", "add", a, "netns", aNS.Name, "type", "veth", "peer", "name", b, "netns", bNS.Name)
	run(t, "ip", "-n", aNS.Name, "link", "set", a, "up")
	run(t, "ip", "-n", bNS.Name, "link", "set", b, "up")
}

// handle is a netlink handle on the namespace.
func handle(t *testing.T, n ns) *netlink.Handle {
	t.Helper()
	nsh, err := netns.GetFromPath(n.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer nsh.Close()
	h, err := netlink.NewHandleAt(nsh)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h
}

// whoAmI serves, on addr in the namespace, each connection with the source address it
// came from, so a client learns whether it was masqueraded on the way.
func whoAmI(t *testing.T, n ns, addr string) string {
	t.Helper()
	var ln net.Listener
	if err := n.Do(func() (err error) {
		ln, err = net.Listen("tcp4", addr)
		return err
	}); err != nil {
		t.Fatalf("listening on %s in %s: %v", addr, n.Name, err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
			fmt.Fprintln(c, host)
			c.Close()
		}
	}()
	return ln.Addr().String()
}

// ask connects from the namespace to a whoAmI server and returns the source it saw.
func ask(n ns, addr string) (string, error) {
	var c net.Conn
	if err := n.Do(func() (err error) {
		c, err = net.DialTimeout("tcp4", addr, time.Second)
		return err
	}); err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line), err
}

// eventually polls cond until it returns nil or the deadline passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting until %s: %v", timeout, what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// pod is a namespace with an interface the CNI plugins set up from a node's namespace.
type pod struct {
	ns
	IP netip.Addr
	GW netip.Addr
	// Del runs CNI DEL for the pod; running it again is harmless (DEL is idempotent).
	Del func() error
}

// cniHost drives the CNI plugins the way containerd's CRI plugin does, from a node's
// namespace, with the conflist in confDir.
type cniHost struct {
	node     ns
	confDir  string
	cacheDir string
}

func newCNIHost(t *testing.T, node ns, confDir string) *cniHost {
	return &cniHost{node: node, confDir: confDir, cacheDir: t.TempDir()}
}

// addPod makes a pod namespace and runs ADD for the loopback config and the conflist; the
// pod's DEL runs when the test ends, before its namespace goes.
func (h *cniHost) addPod(t *testing.T, name string) pod {
	t.Helper()
	p := pod{ns: newNS(t, name)}
	list, err := libcni.ConfListFromFile(filepath.Join(h.confDir, network.ConflistName))
	if err != nil {
		t.Fatalf("reading the conflist: %v", err)
	}
	lo, err := libcni.ConfListFromBytes(network.LoopbackConf())
	if err != nil {
		t.Fatal(err)
	}
	cni := libcni.NewCNIConfigWithCacheDir([]string{cniBinDir}, h.cacheDir, nil)
	rt := &libcni.RuntimeConf{ContainerID: "e2e-" + name, NetNS: p.Path, IfName: "eth0"}
	loRT := &libcni.RuntimeConf{ContainerID: "e2e-" + name, NetNS: p.Path, IfName: "lo"}
	ctx := context.Background()
	var res *types100.Result
	err = h.node.Do(func() error {
		if _, err := cni.AddNetworkList(ctx, lo, loRT); err != nil {
			return fmt.Errorf("loopback: %w", err)
		}
		r, err := cni.AddNetworkList(ctx, list, rt)
		if err != nil {
			return err
		}
		res, err = types100.NewResultFromResult(r)
		return err
	})
	if err != nil {
		t.Fatalf("CNI ADD for %s: %v", name, err)
	}
	p.Del = func() error {
		return h.node.Do(func() error {
			return errors.Join(cni.DelNetworkList(ctx, list, rt), cni.DelNetworkList(ctx, lo, loRT))
		})
	}
	t.Cleanup(func() {
		if err := p.Del(); err != nil {
			t.Errorf("CNI DEL for %s: %v", name, err)
		}
	})
	if len(res.IPs) != 1 {
		t.Fatalf("CNI ADD gave %d addresses, want 1: %+v", len(res.IPs), res)
	}
	p.IP, _ = netip.AddrFromSlice(res.IPs[0].Address.IP.To4())
	p.GW, _ = netip.AddrFromSlice(res.IPs[0].Gateway.To4())
	return p
}

// testLogger sends a component's log to the test's log.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// iptablesSave is the ruleset of a namespace.
func iptablesSave(n ns) (string, error) {
	out, err := exec.Command("ip", "netns", "exec", n.Name, "iptables-save").CombinedOutput()
	if err != nil {
		return "", errors.New(string(out))
	}
	return string(out), nil
}
