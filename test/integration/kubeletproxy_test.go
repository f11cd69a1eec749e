package integration

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"capstan/internal/server"
	capstantesting "capstan/internal/testing"
)

// startKubeletProxyServer is a control plane with one fake node whose kubelet API runs in
// the test, and pods bound to it: default/web (containers app and sidecar, app running
// with a log), default/solo (one container) and default/pending (not scheduled).
func startKubeletProxyServer(t *testing.T) (*capstantesting.Server, *fakeNode) {
	t.Helper()
	s := capstantesting.StartServerWith(t, func(o *server.Options) {
		o.DisableControllerManager = true
		o.DisableScheduler = true
	})
	// No controller manager: the test makes the account its pods run as.
	capstantesting.CreateDefaultServiceAccount(t, s.Client, "default")
	n := startFakeNode(t, s)
	pods := []*corev1.Pod{
		{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"}, Spec: corev1.PodSpec{NodeName: "node1",
			Containers: []corev1.Container{{Name: "app", Image: "busybox", Stdin: true}, {Name: "sidecar", Image: "busybox"}}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "solo", Namespace: "default"}, Spec: corev1.PodSpec{NodeName: "node1",
			Containers: []corev1.Container{{Name: "only", Image: "busybox"}}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "pending", Namespace: "default"}, Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "app", Image: "busybox"}}}},
	}
	for _, p := range pods {
		created, err := s.Client.CoreV1().Pods("default").Create(t.Context(), p, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		created.Status.Phase = corev1.PodRunning
		created.Status.ContainerStatuses = nil
		for _, c := range created.Spec.Containers {
			st := corev1.ContainerStatus{Name: c.Name, Image: c.Image}
			if c.Name == "sidecar" {
				st.State.Waiting = &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}
			} else {
				st.ContainerID = "containerd://c-" + c.Name
				st.State.Running = &corev1.ContainerStateRunning{}
			}
			created.Status.ContainerStatuses = append(created.Status.ContainerStatuses, st)
		}
		if created.Spec.NodeName == "" {
			continue
		}
		updated, err := s.Client.CoreV1().Pods("default").UpdateStatus(t.Context(), created, metav1.UpdateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		n.kubelet.add(updated)
	}
	return s, n
}

func TestIntegrationKubeletProxyLogs(t *testing.T) {
	s, _ := startKubeletProxyServer(t)
	for _, tt := range []struct {
		name       string
		args       []string
		wantOut    string
		wantErrOut string
	}{
		{name: "a container's log", args: []string{"logs", "web", "-c", "app"}, wantOut: "hello\nworld\n"},
		{name: "tail and timestamps", args: []string{"logs", "web", "-c", "app", "--tail=1", "--timestamps"},
			wantOut: "2024-01-01T00:00:02.000000000Z world\n"},
		{name: "follow of a stopped container ends", args: []string{"logs", "-f", "solo"}, wantOut: "hello\nworld\n"},
		{name: "a byte limit", args: []string{"logs", "solo", "--limit-bytes=3"}, wantOut: "hel"},
		{name: "a waiting container", args: []string{"logs", "web", "-c", "sidecar"},
			wantErrOut: `Error from server (BadRequest): container "sidecar" in pod "web" is waiting to start: ContainerCreating`},
		{name: "previous without one", args: []string{"logs", "web", "-c", "app", "--previous"},
			wantErrOut: `Error from server (BadRequest): previous terminated container "app" in pod "web" not found`},
		{name: "an unscheduled pod has no log", args: []string{"logs", "pending"}, wantOut: ""},
		{name: "an unknown pod", args: []string{"logs", "nope"},
			wantErrOut: `error: error from server (NotFound): pods "nope" not found in namespace "default"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, err := s.Kubectl("", tt.args...)
			if tt.wantErrOut != "" {
				if err == nil || strings.TrimSpace(errOut) != tt.wantErrOut {
					t.Errorf("got err %v, stderr %q, want %q", err, errOut, tt.wantErrOut)
				}
				return
			}
			if err != nil || out != tt.wantOut {
				t.Errorf("got %q (stderr %q, %v), want %q", out, errOut, err, tt.wantOut)
			}
		})
	}
	t.Run("the API server names the containers when none is given", func(t *testing.T) {
		err := s.Client.CoreV1().Pods("default").GetLogs("web", &corev1.PodLogOptions{}).Do(t.Context()).Error()
		want := "a container name must be specified for pod web, choose one of: [app sidecar]"
		if !apierrors.IsBadRequest(err) || err.Error() != want {
			t.Errorf("got %v, want BadRequest %q", err, want)
		}
	})
	t.Run("the API server checks the container is in the pod", func(t *testing.T) {
		err := s.Client.CoreV1().Pods("default").GetLogs("web", &corev1.PodLogOptions{Container: "nope"}).Do(t.Context()).Error()
		want := "container nope is not valid for pod web"
		if !apierrors.IsBadRequest(err) || err.Error() != want {
			t.Errorf("got %v, want BadRequest %q", err, want)
		}
	})
	t.Run("bad options are invalid", func(t *testing.T) {
		neg := int64(-1)
		err := s.Client.CoreV1().Pods("default").GetLogs("solo", &corev1.PodLogOptions{TailLines: &neg}).Do(t.Context()).Error()
		if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "tailLines") {
			t.Errorf("got %v, want Invalid tailLines", err)
		}
	})
}

func TestIntegrationKubeletProxyExec(t *testing.T) {
	s, n := startKubeletProxyServer(t)
	// kubectl speaks websocket (v5, translated to SPDY by the API server) unless told not
	// to; then SPDY is proxied as it is.
	for _, mode := range []struct {
		name string
		env  []string
	}{
		{"over websocket", nil},
		{"over SPDY", []string{"KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false"}},
	} {
		t.Run(mode.name, func(t *testing.T) {
			out, errOut, err := s.KubectlWithEnv(mode.env, "", "exec", "web", "-c", "app", "--", "echo", "hi", "there")
			if err != nil || out != "hi there\n" {
				t.Errorf("echo: got %q (stderr %q, %v)", out, errOut, err)
			}
			out, errOut, err = s.KubectlWithEnv(mode.env, "some\ninput", "exec", "-i", "solo", "--", "cat")
			if err != nil || out != "some\ninput" {
				t.Errorf("cat: got %q (stderr %q, %v); stdin must reach the command and end", out, errOut, err)
			}
			_, errOut, err = s.KubectlWithEnv(mode.env, "", "exec", "solo", "--", "fail", "oops")
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 3 || !strings.Contains(errOut, "oops") ||
				!strings.Contains(errOut, "command terminated with exit code 3") {
				t.Errorf("fail: got %v, stderr %q; want exit code 3", err, errOut)
			}
			_, errOut, err = s.KubectlWithEnv(mode.env, "", "exec", "pending", "--", "echo")
			if err == nil || !strings.Contains(errOut, "pod pending does not have a host assigned") {
				t.Errorf("unscheduled: got %v, stderr %q", err, errOut)
			}
		})
	}
	n.streams.mu.Lock()
	defer n.streams.mu.Unlock()
	var sawEcho bool
	for _, e := range n.streams.execs {
		if e.ContainerId == "c-app" && strings.Join(e.Cmd, " ") == "echo hi there" && e.Stdout && e.Stderr && !e.Stdin && !e.Tty {
			sawEcho = true
		}
	}
	if !sawEcho {
		t.Errorf("the runtime saw no exec of echo in c-app with stdout and stderr: %v", n.streams.execs)
	}
}

func TestIntegrationKubeletProxyAttach(t *testing.T) {
	s, _ := startKubeletProxyServer(t)
	out, errOut, err := s.Kubectl("through attach", "attach", "-i", "web", "-c", "app")
	if err != nil || !strings.Contains(out, "through attach") {
		t.Errorf("got %q (stderr %q, %v)", out, errOut, err)
	}
}

// portForward runs kubectl port-forward to remote port 8080 of pod web and returns the
// local address it listens on.
func portForward(t *testing.T, s *capstantesting.Server, env []string) string {
	t.Helper()
	cmd := exec.Command(capstantesting.Binary(t), "kubectl", "port-forward", "pod/web", "--address=127.0.0.1", ":8080")
	cmd.Env = append(append(os.Environ(), "KUBECONFIG="+s.Kubeconfig), env...)
	return capstantesting.StartPortForward(t, cmd)
}

func TestIntegrationKubeletProxyPortForward(t *testing.T) {
	s, n := startKubeletProxyServer(t)
	for _, mode := range []struct {
		name string
		env  []string
	}{
		{"tunnelled over websocket", nil},
		{"over SPDY", []string{"KUBECTL_PORT_FORWARD_WEBSOCKETS=false"}},
	} {
		t.Run(mode.name, func(t *testing.T) {
			addr := portForward(t, s, mode.env)
			for i := range 2 {
				conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
				if err != nil {
					t.Fatal(err)
				}
				_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
				msg := "ping " + string(rune('a'+i))
				if _, err := conn.Write([]byte(msg)); err != nil {
					t.Fatal(err)
				}
				buf := make([]byte, len(msg))
				if _, err := io.ReadFull(conn, buf); err != nil || string(buf) != msg {
					t.Errorf("connection %d: read %q, %v", i, buf, err)
				}
				conn.Close()
			}
		})
	}
	n.streams.mu.Lock()
	defer n.streams.mu.Unlock()
	for _, f := range n.streams.forwards {
		if f.PodSandboxId != "sandbox-web" {
			t.Errorf("port forward to sandbox %q, want sandbox-web", f.PodSandboxId)
		}
	}
}

func TestIntegrationKubeletProxyNodeProxy(t *testing.T) {
	s, _ := startKubeletProxyServer(t)
	out, errOut, err := s.Kubectl("", "get", "--raw", "/api/v1/nodes/node1/proxy/healthz")
	if err != nil || out != "ok" {
		t.Errorf("healthz: got %q (stderr %q, %v)", out, errOut, err)
	}
	out, errOut, err = s.Kubectl("", "get", "--raw", "/api/v1/nodes/node1/proxy/pods")
	var list corev1.PodList
	if err != nil || json.Unmarshal([]byte(out), &list) != nil || len(list.Items) != 2 {
		t.Errorf("pods: got %q (stderr %q, %v)", out, errOut, err)
	}
	out, errOut, err = s.Kubectl("", "get", "--raw", "/api/v1/nodes/node1/proxy/stats/summary")
	if err != nil || !strings.Contains(out, `"nodeName":"node1"`) || !strings.Contains(out, `"usageCoreNanoSeconds":42`) {
		t.Errorf("summary: got %q (stderr %q, %v)", out, errOut, err)
	}
	_, errOut, err = s.Kubectl("", "get", "--raw", "/api/v1/nodes/nope/proxy/healthz")
	if err == nil || !strings.Contains(errOut, `nodes "nope" not found`) {
		t.Errorf("unknown node: got %v, stderr %q", err, errOut)
	}
}

func TestIntegrationKubeletProxyDiscovery(t *testing.T) {
	s := capstantesting.StartServer(t)
	res, err := s.Client.Discovery().ServerResourcesForGroupVersion("v1")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"pods/log": "get", "pods/exec": "create,get", "pods/attach": "create,get",
		"pods/portforward": "create,get", "nodes/proxy": "create,delete,get,patch,update"}
	for _, r := range res.APIResources {
		if verbs, ok := want[r.Name]; ok {
			if strings.Join(r.Verbs, ",") != verbs {
				t.Errorf("%s verbs %v, want %s", r.Name, r.Verbs, verbs)
			}
			delete(want, r.Name)
		}
	}
	if len(want) > 0 {
		t.Errorf("missing from discovery: %v", want)
	}
}
