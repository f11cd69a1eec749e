package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"capstan/internal/proxy"
	"capstan/internal/proxy/runner"
	"capstan/internal/proxy/userspace"
	capstantesting "capstan/internal/testing"
	"capstan/test/e2e/netnstest"
)

// requireRoot skips the test unless it can make namespaces and run the netfilter tools.
func requireRoot(t *testing.T, tools ...string) {
	t.Helper()
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	if os.Geteuid() != 0 {
		t.Skip("e2e: the service proxy tests need root (network namespaces, iptables, nft, conntrack); skipped as a non-root user")
	}
	for _, tool := range append([]string{"ip", "conntrack"}, tools...) {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("e2e: %s is not installed (hack/setup.sh installs it)", tool)
		}
	}
}

// ns is a network namespace the test made.
type ns = netnstest.NS

// newNS makes a namespace with lo up, deleted when the test ends.
func newNS(t *testing.T, role string) ns { return netnstest.New(t, "capproxy", role) }

// run runs a command on the host (only ever `ip` commands that name a test namespace).
var run = netnstest.Run

// nsSockets opens the userspace mode's sockets inside the namespace: its proxy ports and
// its connections to endpoints.
type nsSockets struct{ n ns }

func (s nsSockets) Listen(ctx context.Context, network, address string) (ln net.Listener, err error) {
	err = s.n.Do(func() (err error) { ln, err = userspace.HostSockets{}.Listen(ctx, network, address); return err })
	return ln, err
}

func (s nsSockets) ListenPacket(ctx context.Context, network, address string) (pc net.PacketConn, err error) {
	err = s.n.Do(func() (err error) { pc, err = userspace.HostSockets{}.ListenPacket(ctx, network, address); return err })
	return pc, err
}

func (s nsSockets) Dial(ctx context.Context, network, address string) (c net.Conn, err error) {
	err = s.n.Do(func() (err error) { c, err = userspace.HostSockets{}.Dial(ctx, network, address); return err })
	return c, err
}

// node is a fake node: a namespace with a bridge of pods and an uplink to a client
// namespace standing for the world outside.
type node struct {
	NS, Client ns
	// IP is the node's address on the uplink.
	IP     string
	pods   int
	bridge string
}

const (
	nodeIP   = "192.168.200.1"
	clientIP = "192.168.200.2"
	podCIDR  = "10.42.0.0/16"
)

func newNode(t *testing.T) *node {
	t.Helper()
	n := &node{NS: newNS(t, "node"), Client: newNS(t, "client"), IP: nodeIP, bridge: "cbr0"}
	run(t, "ip", "link", "add", "eth0", "netns", n.NS.Name, "type", "veth", "peer", "name", "eth0", "netns", n.Client.Name)
	n.NS.Run(t, "ip", "addr", "add", nodeIP+"/24", "dev", "eth0")
	n.NS.Run(t, "ip", "link", "set", "eth0", "up")
	n.Client.Run(t, "ip", "addr", "add", clientIP+"/24", "dev", "eth0")
	n.Client.Run(t, "ip", "link", "set", "eth0", "up")
	// The node's default route leads to the outside, as a real node's does: cluster IPs
	// are routed there until the proxy's DNAT catches them.
	n.NS.Run(t, "ip", "route", "add", "default", "via", clientIP)
	n.NS.Run(t, "ip", "link", "add", n.bridge, "type", "bridge")
	n.NS.Run(t, "ip", "addr", "add", "10.42.0.1/24", "dev", n.bridge)
	n.NS.Run(t, "ip", "link", "set", n.bridge, "up")
	// Both settings are per network namespace: the host's stay as they are.
	n.NS.Run(t, "sh", "-c", "echo 1 > /proc/sys/net/ipv4/ip_forward && echo 1 > /proc/sys/net/bridge/bridge-nf-call-iptables")
	return n
}

// pod is a fake pod on the node's bridge.
type pod struct {
	Name string
	IP   string
	NS   ns
}

// addPod makes a pod namespace on the bridge and starts TCP and UDP servers on port 8080
// that answer "<pod name> <client address>".
func (n *node) addPod(t *testing.T) pod {
	t.Helper()
	n.pods++
	p := pod{Name: fmt.Sprintf("pod%d", n.pods), IP: fmt.Sprintf("10.42.0.%d", 10+n.pods), NS: newNS(t, "pod")}
	host := fmt.Sprintf("veth%d", n.pods)
	run(t, "ip", "link", "add", "eth0", "netns", p.NS.Name, "type", "veth", "peer", "name", host, "netns", n.NS.Name)
	n.NS.Run(t, "ip", "link", "set", host, "master", n.bridge)
	n.NS.Run(t, "ip", "link", "set", host, "up")
	// What the CNI bridge plugin's hairpinMode does: a pod may reach itself through a
	// service.
	n.NS.Run(t, "bridge", "link", "set", "dev", host, "hairpin", "on")
	p.NS.Run(t, "ip", "addr", "add", p.IP+"/24", "dev", "eth0")
	p.NS.Run(t, "ip", "link", "set", "eth0", "up")
	p.NS.Run(t, "ip", "route", "add", "default", "via", "10.42.0.1")
	serve(t, p)
	return p
}

func serve(t *testing.T, p pod) {
	t.Helper()
	var ln net.Listener
	var pc net.PacketConn
	if err := p.NS.Do(func() (err error) {
		if ln, err = net.Listen("tcp4", ":8080"); err != nil {
			return err
		}
		pc, err = net.ListenPacket("udp4", ":8080")
		return err
	}); err != nil {
		t.Fatalf("servers in %s: %v", p.Name, err)
	}
	t.Cleanup(func() { ln.Close(); pc.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
			fmt.Fprintf(c, "%s %s\n", p.Name, host)
			c.Close()
		}
	}()
	go func() {
		buf := make([]byte, 1500)
		for {
			_, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			host, _, _ := net.SplitHostPort(from.String())
			_, _ = pc.WriteTo([]byte(p.Name+" "+host), from)
		}
	}()
}

// dial connects over TCP from the namespace and returns the pod that answered and the
// client address it saw.
func dial(from ns, addr string, timeout time.Duration) (podName, seen string, err error) {
	var c net.Conn
	if err := from.Do(func() (err error) {
		c, err = net.DialTimeout("tcp4", addr, timeout)
		return err
	}); err != nil {
		return "", "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 100)
	k, err := c.Read(buf)
	if err != nil {
		return "", "", err
	}
	f := strings.Fields(string(buf[:k]))
	if len(f) != 2 {
		return "", "", fmt.Errorf("answer %q", buf[:k])
	}
	return f[0], f[1], nil
}

func refused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }

// udpClient is a UDP socket in a namespace; its source port stays the same, so its flow
// to a service stays one conntrack entry.
type udpClient struct{ conn *net.UDPConn }

func newUDPClient(t *testing.T, from ns) *udpClient {
	t.Helper()
	var c *net.UDPConn
	if err := from.Do(func() (err error) {
		c, err = net.ListenUDP("udp4", &net.UDPAddr{})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &udpClient{conn: c}
}

// ask sends one datagram and returns the answering pod, or an error after timeout.
func (u *udpClient) ask(addr string, timeout time.Duration) (string, error) {
	ua, err := net.ResolveUDPAddr("udp4", addr)
	if err != nil {
		return "", err
	}
	if _, err := u.conn.WriteToUDP([]byte("hi"), ua); err != nil {
		return "", err
	}
	_ = u.conn.SetReadDeadline(time.Now().Add(timeout))
	buf := make([]byte, 100)
	k, from, err := u.conn.ReadFromUDP(buf)
	if err != nil {
		return "", err
	}
	// The answer must come from the address asked, or a connected socket would drop it.
	if from.String() != ua.String() {
		return "", fmt.Errorf("answer from %s, want from %s", from, ua)
	}
	name, _, _ := strings.Cut(string(buf[:k]), " ")
	return name, nil
}

// cluster is an API server and a proxy programming a fake node.
type cluster struct {
	t      *testing.T
	server *capstantesting.Server
	node   *node
	stop   func()
}

const nodeName = "e2e-node"

func startCluster(t *testing.T, mode string) *cluster {
	t.Helper()
	c := &cluster{t: t, server: capstantesting.StartServer(t), node: newNode(t)}
	c.startProxy(t, mode)
	return c
}

// startProxy runs a proxy in the given mode for the node until c.stop.
func (c *cluster) startProxy(t *testing.T, mode string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- proxy.Run(ctx, proxy.Options{
			Config: c.server.Config, NodeName: nodeName, Mode: mode,
			MinSyncPeriod: 20 * time.Millisecond, ClusterCIDR: podCIDR,
			Runner:  runner.Exec{Prefix: []string{"ip", "netns", "exec", c.node.NS.Name}},
			Sockets: nsSockets{c.node.NS},
			Logger:  slog.Default().With("test", t.Name()),
		})
	}()
	var once sync.Once
	c.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("proxy: %v", err)
			}
		})
	}
	t.Cleanup(c.stop)
}

type ep struct {
	pod   pod
	ready bool
	// node the endpoint claims to run on; default this node.
	node string
}

// service creates a selector-less service with one port named p (8080 on the pods) and
// returns it after the API filled in its cluster IP and node port.
func (c *cluster) service(name string, proto corev1.Protocol, mutate func(*corev1.Service)) *corev1.Service {
	c.t.Helper()
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "p", Port: 80, Protocol: proto}}},
	}
	if mutate != nil {
		mutate(svc)
	}
	out, err := c.server.Client.CoreV1().Services("default").Create(c.t.Context(), svc, metav1.CreateOptions{})
	if err != nil {
		c.t.Fatal(err)
	}
	return out
}

// endpoints writes the service's one EndpointSlice.
func (c *cluster) endpoints(svc *corev1.Service, eps ...ep) {
	c.t.Helper()
	proto := svc.Spec.Ports[0].Protocol
	sl := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: svc.Name + "-e2e", Namespace: svc.Namespace, Labels: map[string]string{discoveryv1.LabelServiceName: svc.Name}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To("p"), Port: ptr.To[int32](8080), Protocol: &proto}},
		Endpoints:   []discoveryv1.Endpoint{},
	}
	for _, e := range eps {
		node := e.node
		if node == "" {
			node = nodeName
		}
		sl.Endpoints = append(sl.Endpoints, discoveryv1.Endpoint{
			Addresses: []string{e.pod.IP}, NodeName: ptr.To(node),
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(e.ready), Serving: ptr.To(e.ready)},
		})
	}
	client := c.server.Client.DiscoveryV1().EndpointSlices(svc.Namespace)
	cur, err := client.Get(c.t.Context(), sl.Name, metav1.GetOptions{})
	if err == nil {
		sl.ResourceVersion = cur.ResourceVersion
		_, err = client.Update(c.t.Context(), sl, metav1.UpdateOptions{})
	} else {
		_, err = client.Create(c.t.Context(), sl, metav1.CreateOptions{})
	}
	if err != nil {
		c.t.Fatal(err)
	}
}

// eventually polls cond until it holds or 15 s pass.
func eventually(t *testing.T, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func clusterAddr(svc *corev1.Service) string {
	return net.JoinHostPort(svc.Spec.ClusterIP, strconv.Itoa(int(svc.Spec.Ports[0].Port)))
}

// waitReachable waits until a TCP connection from the namespace to addr is answered. Until
// the proxy has programmed the address, connections go nowhere, so each try is short.
func waitReachable(t *testing.T, from ns, addr string) {
	t.Helper()
	eventually(t, "reaching "+addr, func() error { _, _, err := dial(from, addr, 200*time.Millisecond); return err })
}
