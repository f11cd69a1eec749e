package services

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"capstan/internal/agent"
	"capstan/internal/proxy"
	"capstan/test/e2e/framework"
)

func TestServicesIPTables(t *testing.T) { testServices(t, proxy.ModeIPTables) }

func TestServicesNFTables(t *testing.T) { testServices(t, proxy.ModeNFTables) }

func TestServicesUserspace(t *testing.T) { testServices(t, proxy.ModeUserspace) }

// testServices runs every scenario on one cluster whose proxy runs in mode. They share the
// Deployment web (3 agnhost replicas) and run in order: the last ones scale it away and stop
// the agent.
func testServices(t *testing.T, mode string) {
	c := framework.Start(t, framework.WithClusterDNS(), framework.WithAgent(func(o *agent.Options) { o.ProxyMode = mode }))
	c.CreateDeployment(framework.AgnhostDeployment(app, 3))
	e := &env{mode: mode, c: c,
		client: c.CreatePod(c.AgnhostPod("client", "pause")),
		shell:  c.CreatePod(c.BusyboxPod("shell", "sleep", "3600")),
	}
	c.WaitForClusterDNS()
	e.backends = c.WaitForReadyPods(namespace, app, 3)
	c.WaitForReady(e.client)
	c.WaitForReady(e.shell)

	t.Run("a pod reaches a Deployment behind a ClusterIP by its DNS names", e.byName)
	t.Run("a new Service answers the moment its pod is ready", e.fresh)
	t.Run("every backend answers", e.everyBackend)
	t.Run("a NodePort answers on the node IP", e.nodePort)
	t.Run("ClientIP affinity keeps a client on one backend", e.affinity)
	t.Run("a UDP service answers", e.udp)
	t.Run("an ExternalName resolves to its CNAME", e.externalName)
	t.Run("a headless service resolves to the ready pod IPs", e.headless)
	t.Run("an unready pod leaves the rotation", e.unready)
	t.Run("scaling to zero refuses connections within a second", e.scaleToZero)
	t.Run("the agent leaves no proxy rules when it stops", e.cleanup)
}

// byName: `kubectl expose`, then a pod fetches from every form of the name. (The client
// is agnhost, whose Go resolver follows resolv.conf's search list: the busybox image's
// static glibc wget crashes in getaddrinfo without the libraries it would load.)
func (e *env) byName(t *testing.T) {
	e.expose(t, app, "--port=80", "--target-port=8080", "--protocol=TCP")
	for _, name := range []string{app, app + "." + namespace, app + "." + namespace + ".svc.cluster.local"} {
		e.tally(t, e.ask(t, "http://"+name+"/hostname"))
	}
	// Once it answers, DNS answers every time: no query is lost, e.g. to a conntrack entry
	// that still NATs to the DNS port of an earlier cluster.
	lines, err := e.c.AgnhostClient(e.client, "--count=50", "lookup:"+app)
	if err != nil {
		t.Errorf("50 lookups of %s: %v; answers:\n%s", app, err, strings.Join(lines, "\n"))
	}
}

// fresh: a client asking once, the moment a new Service's only pod is ready, is answered by
// it: neither refused nor sent out by the default route because the proxy still batches
// the Service's changes. After a quiet spell the proxy applies changes at once (a burst of
// two syncs, as upstream), and the changes that change no rule (the slice written before
// the pod is ready) spend none of it: the Service and then its ready endpoint each get one.
func (e *env) fresh(t *testing.T) {
	const name = "fresh"
	c := e.c.For(t)
	quietSpell()
	c.CreateDeployment(framework.AgnhostDeployment(name, 1))
	argv := []string{"expose", "deployment", name, "--port=80", "--target-port=8080"}
	if _, stderr, err := c.Kubectl("", argv...); err != nil {
		t.Fatalf("kubectl %s: %v: %s", strings.Join(argv, " "), err, stderr)
	}
	pod := c.WaitForReadyPods(namespace, name, 1)[0]
	lines, err := c.AgnhostClient(e.client, "--timestamps", "http://"+name+"/hostname")
	if err != nil || len(lines) != 1 || !strings.HasSuffix(lines[0], " "+pod.Name) {
		t.Errorf("asking %s once when its pod %s turned ready (at %s): %v; answer %q", name, pod.Name,
			readySince(&pod).Format(time.RFC3339Nano), err, lines)
	}
}

// everyBackend: 60 requests on new connections reach all three backends.
func (e *env) everyBackend(t *testing.T) {
	counts := e.tally(t, e.ask(t, "--count=60", "http://"+app+"/hostname"))
	if len(counts) != 3 {
		t.Errorf("60 requests reached %v, want all three backends %v", counts, e.backendNames())
	}
	t.Logf("60 requests reached %v", counts)
}

// nodePort: the host reaches the Service on the node IP and its node port.
func (e *env) nodePort(t *testing.T) {
	svc := e.expose(t, app+"-nodeport", "--type=NodePort", "--port=80", "--target-port=8080", "--protocol=TCP")
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].NodePort == 0 {
		t.Fatalf("service ports %+v: want one with a node port", svc.Spec.Ports)
	}
	url := "http://" + net.JoinHostPort(e.c.NodeIP.String(), strconv.Itoa(int(svc.Spec.Ports[0].NodePort))) + "/hostname"
	framework.Eventually(t, reachTimeout, "GET "+url+" from the host", func() (bool, error) {
		_, err := hostGet(url)
		return err == nil, err
	})
	var answers []string
	for range 30 {
		body, err := hostGet(url)
		if err != nil {
			t.Fatal(err)
		}
		answers = append(answers, body)
	}
	if counts := e.tally(t, answers); len(counts) < 2 {
		t.Errorf("30 requests to the node port reached only %v", counts)
	}
}

// affinity: with ClientIP affinity one client's requests all reach one backend.
func (e *env) affinity(t *testing.T) {
	e.expose(t, app+"-sticky", "--port=80", "--target-port=8080", "--protocol=TCP", "--session-affinity=ClientIP")
	e.ask(t, "http://"+app+"-sticky/hostname")
	counts := e.tally(t, e.ask(t, "--count=30", "http://"+app+"-sticky/hostname"))
	if len(counts) != 1 {
		t.Errorf("30 requests of one client reached %v, want one backend", counts)
	}
}

// udp: a UDP Service forwards datagrams and their answers.
func (e *env) udp(t *testing.T) {
	e.expose(t, app+"-udp", "--port=8081", "--target-port=8081", "--protocol=UDP")
	e.tally(t, e.ask(t, "--timeout=1s", "udp://"+app+"-udp:8081"))
	lines := e.ask(t, "--timeout=1s", "udp://"+app+"-udp."+namespace+":8081/echo over udp")
	if len(lines) != 1 || lines[0] != "over udp" {
		t.Errorf("echo over the UDP service answered %q, want \"over udp\"", lines)
	}
}

// externalName: the Service's name is a CNAME of its external name, which resolves.
func (e *env) externalName(t *testing.T) {
	target := app + "." + namespace + ".svc.cluster.local"
	if _, stderr, err := e.c.Kubectl("", "create", "service", "externalname", "alias", "--external-name", target); err != nil {
		t.Fatalf("kubectl create service externalname: %v: %s", err, stderr)
	}
	svc, err := e.c.Client.CoreV1().Services(namespace).Get(t.Context(), app, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := target + ". " + svc.Spec.ClusterIP
	framework.Eventually(t, reachTimeout, "lookup of alias", func() (bool, error) {
		lines, err := e.c.AgnhostClient(e.client, "lookup:alias")
		return err == nil && slices.Equal(lines, []string{want}), fmt.Errorf("%q, %v; want %q", lines, err, want)
	})
	// busybox's nslookup asks for the CNAME itself.
	framework.Eventually(t, reachTimeout, "nslookup -type=CNAME from busybox", func() (bool, error) {
		out, stderr, err := e.c.Kubectl("", "exec", e.shell.Name, "--", "nslookup", "-type=CNAME", "alias."+namespace+".svc.cluster.local")
		return err == nil && strings.Contains(out, "canonical name = "+target), fmt.Errorf("%v: %s%s", err, out, stderr)
	})
}

// headless: the name of a headless Service resolves to the ready pods' IPs.
func (e *env) headless(t *testing.T) {
	e.expose(t, app+"-headless", "--cluster-ip=None", "--port=8080", "--protocol=TCP")
	var ips []string
	for _, p := range e.backends {
		ips = append(ips, p.Status.PodIP)
	}
	slices.Sort(ips)
	e.waitLookup(t, app+"-headless", ips)
}

// waitLookup waits until the client pod resolves name to exactly ips (sorted).
func (e *env) waitLookup(t *testing.T, name string, ips []string) {
	t.Helper()
	want := strings.Join(append([]string{name + "." + namespace + ".svc.cluster.local."}, ips...), " ")
	framework.Eventually(t, reachTimeout, "lookup of "+name, func() (bool, error) {
		lines, err := e.c.AgnhostClient(e.client, "lookup:"+name)
		return err == nil && slices.Equal(lines, []string{want}), fmt.Errorf("%q, %v; want %q", lines, err, want)
	})
}

// unready: a backend whose readiness fails gets no more requests, and is back once ready.
func (e *env) unready(t *testing.T) {
	sick := e.backends[0]
	if _, err := hostGet("http://" + net.JoinHostPort(sick.Status.PodIP, "8080") + "/readyz/fail"); err != nil {
		t.Fatal(err)
	}
	e.c.WaitForEndpoints(namespace, app, reachTimeout, sick.Name+" not ready", func(ready []string) bool {
		return len(ready) == 2 && !slices.Contains(ready, sick.Status.PodIP)
	})
	framework.Eventually(t, reachTimeout, "30 requests avoiding "+sick.Name, func() (bool, error) {
		lines, err := e.c.AgnhostClient(e.client, "--count=30", "http://"+app+"/hostname")
		if err != nil {
			return false, err
		}
		counts := e.tally(t, lines)
		return counts[sick.Name] == 0 && len(counts) == 2, fmt.Errorf("answers %v", counts)
	})
	var others []string
	for _, p := range e.backends[1:] {
		others = append(others, p.Status.PodIP)
	}
	slices.Sort(others)
	e.waitLookup(t, app+"-headless", others)

	if _, err := hostGet("http://" + net.JoinHostPort(sick.Status.PodIP, "8080") + "/readyz/ok"); err != nil {
		t.Fatal(err)
	}
	e.c.WaitForEndpoints(namespace, app, reachTimeout, sick.Name+" ready again", func(ready []string) bool { return len(ready) == 3 })
}

// scaleToZero: once the Service has no endpoints left, a connection is refused within a
// second (after a quiet spell, as the proxy's rate limit allows). A client pod connects to the cluster IP every 20ms, with timestamps, until
// refused; the test notes when the EndpointSlices have emptied.
func (e *env) scaleToZero(t *testing.T) {
	svc, err := e.c.Client.CoreV1().Services(namespace).Get(t.Context(), app, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	target := "http://" + net.JoinHostPort(svc.Spec.ClusterIP, "80") + "/hostname"
	lines := e.c.StreamAgnhostClient(e.client, "--count=3000", "--interval=20ms", "--timeout=200ms", "--timestamps", "--until=refused", target)
	first := nextLine(t, lines, 30*time.Second)
	if _, answer, _ := strings.Cut(first, " "); !slices.Contains(e.backendNames(), answer) {
		t.Fatalf("first answer %q is not from a backend", first)
	}
	quietSpell()
	if _, stderr, err := e.c.Kubectl("", "scale", "deployment", app, "--replicas=0"); err != nil {
		t.Fatalf("kubectl scale: %v: %s", err, stderr)
	}
	var emptied time.Time
	deadline := time.Now().Add(framework.PodTimeout)
	for emptied.IsZero() {
		_, all, err := e.c.Endpoints(namespace, app)
		if err == nil && len(all) == 0 {
			emptied = time.Now()
		} else if time.Now().After(deadline) {
			t.Fatalf("the endpoints of %s did not empty in %s: %v, %v", app, framework.PodTimeout, all, err)
		} else {
			time.Sleep(20 * time.Millisecond)
		}
	}
	var refused time.Time
	var seen []string
	for refused.IsZero() {
		line := nextLine(t, lines, 30*time.Second)
		seen = append(seen, line)
		stamp, answer, _ := strings.Cut(line, " ")
		if answer == "refused" {
			if refused, err = time.Parse(time.RFC3339Nano, stamp); err != nil {
				t.Fatalf("line %q: %v", line, err)
			}
		}
	}
	if took := refused.Sub(emptied); took > time.Second {
		t.Errorf("connections refused %s after the endpoints emptied at %s, want within a second; the client saw:\n%s",
			took, emptied.UTC().Format(time.RFC3339Nano), strings.Join(seen, "\n"))
	} else {
		t.Logf("connections refused %s after the endpoints emptied", took)
	}
}

// nextLine is the next line of a streaming client; the test fails when it ends or stays
// silent for timeout.
func nextLine(t *testing.T, lines <-chan string, timeout time.Duration) string {
	t.Helper()
	select {
	case l, ok := <-lines:
		if !ok {
			t.Fatal("the client ended early")
		}
		return l
	case <-time.After(timeout):
		t.Fatalf("no line from the client in %s", timeout)
	}
	return ""
}

// cleanup: the mode's rules and the pods are there while the agent runs and gone once it
// stopped.
func (e *env) cleanup(t *testing.T) {
	kind := "iptables: " // the userspace mode's REDIRECT rules too
	if e.mode == proxy.ModeNFTables {
		kind = "nftables "
	}
	rules := proxyRules(t)
	if !slices.ContainsFunc(rules, func(r string) bool { return strings.HasPrefix(r, kind) }) {
		t.Fatalf("no %srules while the agent runs in mode %s; the node has %q", kind, e.mode, rules)
	}
	if ports := bridgePorts(t); len(ports) == 0 {
		t.Fatal("no pod is on the bridge while the agent runs")
	}
	e.c.StopAgent()
	if rules := proxyRules(t); len(rules) > 0 {
		t.Errorf("left after the agent stopped: %v", rules)
	}
	if ports := bridgePorts(t); len(ports) > 0 {
		t.Errorf("pods' interfaces left on the bridge after the agent stopped: %v", ports)
	}
}
