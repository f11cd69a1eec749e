package framework

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"capstan/internal/kubelet"
)

// Kubelet is the running agent's kubelet, for what the API does not show: containers'
// log paths and the container runtime (CRI) behind it.
func (c *Cluster) Kubelet() *kubelet.Kubelet { return c.kubelet }

// ReadLog reads the log of a pod's container (its previous instance with previous)
// straight from the node's CRI log file, not through the API server, and returns its
// lines as the container wrote them.
func (c *Cluster) ReadLog(pod *corev1.Pod, container string, previous bool) string {
	c.t.Helper()
	ref, err := c.kubelet.Container(context.Background(), pod.Namespace, pod.Name, container, previous)
	if err != nil {
		c.t.Fatalf("finding the log of %s/%s: %v", pod.Name, container, err)
	}
	data, err := os.ReadFile(ref.LogPath)
	if err != nil {
		c.t.Fatalf("reading %s: %v", ref.LogPath, err)
	}
	return criLogText(string(data))
}

// criLogText is the text of a CRI log file, whose lines are "<time> <stream> <tag>
// <text>": tag F ends a line, P (partial) goes on in the next entry.
func criLogText(data string) string {
	var out strings.Builder
	for _, line := range strings.Split(data, "\n") {
		parts := strings.SplitN(line, " ", 4)
		if len(parts) == 4 {
			out.WriteString(parts[3])
			if parts[2] == "F" {
				out.WriteByte('\n')
			}
		}
	}
	return out.String()
}

// ExecSync runs cmd in a pod's running container straight through the runtime (CRI
// ExecSync, not the API server's exec), and returns its output (stdout, then stderr) and
// exit code.
func (c *Cluster) ExecSync(pod *corev1.Pod, container string, cmd ...string) (string, int32) {
	c.t.Helper()
	ref, err := c.kubelet.Container(context.Background(), pod.Namespace, pod.Name, container, false)
	if err != nil {
		c.t.Fatalf("exec in %s/%s: %v", pod.Name, container, err)
	}
	resp, err := c.kubelet.Runtime().ExecSync(context.Background(), &runtimeapi.ExecSyncRequest{ContainerId: ref.ContainerID, Cmd: cmd, Timeout: 10})
	if err != nil {
		c.t.Fatalf("exec %v in %s/%s: %v", cmd, pod.Name, container, err)
	}
	return string(resp.Stdout) + string(resp.Stderr), resp.ExitCode
}

// WaitForLog waits until the log of a pod's running container (ReadLog) is want.
func (c *Cluster) WaitForLog(pod *corev1.Pod, container, want string) {
	c.t.Helper()
	Eventually(c.t, 30*time.Second, fmt.Sprintf("the log of %s/%s to be %q", pod.Name, container, want), func() (bool, error) {
		return c.ReadLog(pod, container, false) == want, nil
	})
}
