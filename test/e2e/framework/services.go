package framework

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"capstan/internal/dns"
	"capstan/internal/network"
	"capstan/internal/server"
)

// WithClusterDNS runs the server's cluster DNS on the node IP, on free ports, behind the
// kube-dns Service (pods reach it through the node's service proxy). Without it the test
// server, on loopback, runs no DNS. Wait for it with WaitForClusterDNS.
func WithClusterDNS() Option {
	return WithServer(func(o *server.Options) {
		ip, _, err := network.DefaultRouteIP()
		if err != nil {
			return // Start skips the test: it needs the same address
		}
		o.DNSListen = net.JoinHostPort(ip.String(), "0")
		o.DNSMetricsListen = net.JoinHostPort(ip.String(), "0")
	})
}

// WaitForClusterDNS waits until a DNS server is a ready endpoint of kube-system/kube-dns.
func (c *Cluster) WaitForClusterDNS() {
	c.t.Helper()
	c.WaitForEndpoints(dns.ServiceNamespace, dns.ServiceName, 30*time.Second, "a DNS server", func(ready []string) bool {
		return len(ready) > 0
	})
}

// Endpoints lists the distinct addresses of the endpoints of the service's EndpointSlices,
// sorted: the ready ones, and all.
func (c *Cluster) Endpoints(namespace, service string) (ready, all []string, err error) {
	list, err := c.Client.DiscoveryV1().EndpointSlices(namespace).List(context.Background(), metav1.ListOptions{
		LabelSelector: discoveryv1.LabelServiceName + "=" + service,
	})
	if err != nil {
		return nil, nil, err
	}
	for _, sl := range list.Items {
		for _, ep := range sl.Endpoints {
			all = append(all, ep.Addresses...)
			if ep.Conditions.Ready == nil || *ep.Conditions.Ready {
				ready = append(ready, ep.Addresses...)
			}
		}
	}
	slices.Sort(ready)
	slices.Sort(all)
	return slices.Compact(ready), slices.Compact(all), nil
}

// WaitForEndpoints polls the service's ready endpoint addresses until cond holds and
// returns them; the test fails after timeout.
func (c *Cluster) WaitForEndpoints(namespace, service string, timeout time.Duration, what string, cond func(ready []string) bool) []string {
	c.t.Helper()
	var ready []string
	Eventually(c.t, timeout, fmt.Sprintf("%s/%s endpoints: %s", namespace, service, what), func() (bool, error) {
		var err error
		ready, _, err = c.Endpoints(namespace, service)
		if err != nil {
			return false, err
		}
		return cond(ready), fmt.Errorf("ready endpoints %v", ready)
	})
	return ready
}

// AgnhostDeployment is a Deployment of replicas agnhost netexec pods labelled app=name,
// in namespace default, Ready while their /readyz answers (probed every second), with a
// one-second grace period.
func AgnhostDeployment(name string, replicas int32) *appsv1.Deployment {
	grace := int64(1)
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					TerminationGracePeriodSeconds: &grace,
					Containers: []corev1.Container{{
						Name: "main", Image: AgnhostImage, ImagePullPolicy: corev1.PullIfNotPresent,
						Ports: []corev1.ContainerPort{
							{Name: "http", ContainerPort: 8080},
							{Name: "udp", ContainerPort: 8081, Protocol: corev1.ProtocolUDP},
						},
						ReadinessProbe: &corev1.Probe{
							ProbeHandler:     corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/readyz", Port: intstr.FromInt32(8080)}},
							PeriodSeconds:    1,
							FailureThreshold: 1,
						},
					}},
				},
			},
		},
	}
}

// CreateDeployment creates d and deletes it when the test ends.
func (c *Cluster) CreateDeployment(d *appsv1.Deployment) *appsv1.Deployment {
	c.t.Helper()
	created, err := c.Client.AppsV1().Deployments(d.Namespace).Create(context.Background(), d, metav1.CreateOptions{})
	if err != nil {
		c.t.Fatalf("creating deployment %s: %v", d.Name, err)
	}
	c.t.Cleanup(func() {
		err := c.Client.AppsV1().Deployments(created.Namespace).Delete(context.Background(), created.Name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			c.t.Logf("deleting deployment %s: %v", created.Name, err)
		}
	})
	return created
}

// ReadyPods lists the Ready pods labelled app=app in namespace, by name.
func (c *Cluster) ReadyPods(namespace, app string) ([]corev1.Pod, error) {
	list, err := c.Client.CoreV1().Pods(namespace).List(context.Background(), metav1.ListOptions{LabelSelector: "app=" + app})
	if err != nil {
		return nil, err
	}
	var out []corev1.Pod
	for _, p := range list.Items {
		if p.DeletionTimestamp == nil && PodReady(&p) {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b corev1.Pod) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// WaitForReadyPods waits until exactly n pods labelled app=app are Ready and returns them.
func (c *Cluster) WaitForReadyPods(namespace, app string, n int) []corev1.Pod {
	c.t.Helper()
	var pods []corev1.Pod
	Eventually(c.t, PodTimeout, fmt.Sprintf("%d ready pods app=%s", n, app), func() (bool, error) {
		var err error
		pods, err = c.ReadyPods(namespace, app)
		return err == nil && len(pods) == n, err
	})
	return pods
}

// AgnhostClient runs `agnhost client args...` in pod (of the agnhost image) and returns
// its output lines; err is kubectl's, with its stderr.
func (c *Cluster) AgnhostClient(pod *corev1.Pod, args ...string) ([]string, error) {
	c.t.Helper()
	argv := append([]string{"exec", "-n", pod.Namespace, pod.Name, "--", "/agnhost", "client"}, args...)
	stdout, stderr, err := c.Kubectl("", argv...)
	lines := strings.Split(strings.TrimRight(stdout, "\n"), "\n")
	if stdout == "" {
		lines = nil
	}
	if err != nil {
		return lines, fmt.Errorf("kubectl %s: %w: %s", strings.Join(argv, " "), err, stderr)
	}
	return lines, nil
}

// StreamAgnhostClient starts `agnhost client args...` in pod and sends its output lines on
// the returned channel, closed when the command ends. The channel holds 4096 lines, so a
// client of fewer lines (--count) never waits for the test to read. It is killed when the
// test ends.
func (c *Cluster) StreamAgnhostClient(pod *corev1.Pod, args ...string) <-chan string {
	c.t.Helper()
	cmd := c.KubectlCommand(append([]string{"exec", "-n", pod.Namespace, pod.Name, "--", "/agnhost", "client"}, args...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		c.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	lines, stop := make(chan string, 4096), make(chan struct{})
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-stop:
			}
		}
		_, _ = io.Copy(io.Discard, out)
		_ = cmd.Wait()
	}()
	c.t.Cleanup(func() {
		close(stop)
		_ = cmd.Process.Kill()
	})
	return lines
}

// StopAgent stops the agent now, with its pods (as at the end of the test): what it
// leaves on the node can be checked.
func (c *Cluster) StopAgent() {
	c.t.Helper()
	c.stopPods.Store(true)
	c.stopAgent()
}
