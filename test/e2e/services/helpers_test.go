package services

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"capstan/test/e2e/framework"
)

// env is one cluster of a proxy mode with its test pods.
type env struct {
	mode string
	c    *framework.Cluster
	// client is an agnhost pod asking with `agnhost client`; shell a busybox pod.
	client, shell *corev1.Pod
	// backends are the Deployment web's pods, by name.
	backends []corev1.Pod
}

const (
	// namespace of everything the tests make; app names the Deployment.
	namespace = "default"
	app       = "web"
	// reachTimeout is how long a new Service may take to answer: the proxy's sync (batched
	// by a second) and, for names, DNS.
	reachTimeout = 30 * time.Second
)

// quietSpell waits long enough for the proxy's rate limit to allow a burst again: as
// upstream's, it applies the first two changes after a quiet spell at once and then one a
// --min-sync-period (1 s). The timed scenarios start with one, so that what ran before
// them (its syncs) does not count against their limit.
func quietSpell() { time.Sleep(2 * time.Second) }

// expose runs `kubectl expose deployment web --name=name args...` and returns the Service.
// Services stay for the later scenarios (and go with the cluster).
func (e *env) expose(t *testing.T, name string, args ...string) *corev1.Service {
	t.Helper()
	argv := append([]string{"expose", "deployment", app, "--name=" + name}, args...)
	if _, stderr, err := e.c.Kubectl("", argv...); err != nil {
		t.Fatalf("kubectl %s: %v: %s", strings.Join(argv, " "), err, stderr)
	}
	svc, err := e.c.Client.CoreV1().Services(namespace).Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// ask runs `agnhost client args...` in the client pod until it succeeds (the Service may not
// be programmed yet) and returns its lines.
func (e *env) ask(t *testing.T, args ...string) []string {
	t.Helper()
	var lines []string
	framework.Eventually(t, reachTimeout, fmt.Sprintf("agnhost client %s", strings.Join(args, " ")), func() (bool, error) {
		var err error
		lines, err = e.c.AgnhostClient(e.client, args...)
		return err == nil, fmt.Errorf("%w; output %q", err, lines)
	})
	return lines
}

// backendNames are the names of the backends, which they answer /hostname with.
func (e *env) backendNames() []string {
	var out []string
	for _, p := range e.backends {
		out = append(out, p.Name)
	}
	return out
}

// tally counts the answers per backend and fails on an answer from no backend.
func (e *env) tally(t *testing.T, answers []string) map[string]int {
	t.Helper()
	names := e.backendNames()
	counts := map[string]int{}
	for _, a := range answers {
		if !slices.Contains(names, a) {
			t.Fatalf("answer %q is not one of the backends %v (all answers: %q)", a, names, answers)
		}
		counts[a]++
	}
	return counts
}

// hostGet is a GET from the test process (the host) on a new connection; it returns the
// body of a 200 answer.
func hostGet(url string) (string, error) {
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s: %q", url, resp.Status, body)
	}
	return string(body), nil
}

// proxyRules is what the node's netfilter holds of the service proxy: iptables lines
// naming a KUBE-* chain (the iptables and userspace modes' chains and the jumps to them)
// and nftables tables named kube-proxy.
func proxyRules(t *testing.T) []string {
	t.Helper()
	var out []string
	save, err := exec.Command("iptables-save").CombinedOutput()
	if err != nil {
		t.Fatalf("iptables-save: %v: %s", err, save)
	}
	for _, l := range strings.Split(string(save), "\n") {
		if strings.Contains(l, "KUBE-") {
			out = append(out, "iptables: "+l)
		}
	}
	tables, err := exec.Command("nft", "list", "tables").CombinedOutput()
	if err != nil {
		t.Fatalf("nft list tables: %v: %s", err, tables)
	}
	for _, l := range strings.Split(string(tables), "\n") {
		if strings.HasSuffix(strings.TrimSpace(l), " kube-proxy") {
			out = append(out, "nftables "+strings.TrimSpace(l))
		}
	}
	return out
}

// bridgePorts are the interfaces on the pods' bridge cni0: one per running pod.
func bridgePorts(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir("/sys/class/net/cni0/brif")
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// readySince is when pod's Ready condition last changed; zero without one.
func readySince(pod *corev1.Pod) time.Time {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.LastTransitionTime.Time
		}
	}
	return time.Time{}
}
