package apiserver

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/exec"
	"k8s.io/streaming/pkg/httpstream/wsstream"
)

func TestPodLogQuery(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		query         string
		wantContainer string
		wantQuery     string
		wantInvalid   string
		wantBad       bool
	}{
		{name: "no options", query: "", wantQuery: ""},
		{name: "every option passes on", query: "container=app&follow=true&previous=1&timestamps=true&tailLines=10&limitBytes=20&sinceSeconds=30",
			wantContainer: "app", wantQuery: "follow=true&limitBytes=20&previous=true&sinceSeconds=30&tailLines=10&timestamps=true"},
		{name: "false flags are dropped", query: "follow=false&timestamps=0", wantQuery: ""},
		{name: "since a time in UTC", query: "sinceTime=2024-01-01T02:00:00%2B02:00", wantQuery: "sinceTime=2024-01-01T00%3A00%3A00Z"},
		{name: "one stream", query: "stream=Stderr", wantQuery: "stream=Stderr"},
		{name: "all streams is the default", query: "stream=All", wantQuery: ""},
		{name: "the backend TLS option is the API server's business", query: "insecureSkipTLSVerifyBackend=true", wantQuery: ""},
		{name: "negative tail", query: "tailLines=-1", wantInvalid: "tailLines"},
		{name: "zero limit", query: "limitBytes=0", wantInvalid: "limitBytes"},
		{name: "both since options", query: "sinceSeconds=1&sinceTime=2024-01-01T00:00:00Z", wantInvalid: "at most one of"},
		{name: "an unknown stream", query: "stream=Stdin", wantInvalid: "stream"},
		{name: "tail of one stream", query: "stream=Stdout&tailLines=1", wantInvalid: "mutually exclusive"},
		{name: "not a number", query: "tailLines=x", wantBad: true},
		{name: "not a boolean", query: "follow=maybe", wantBad: true},
		{name: "not a time", query: "sinceTime=yesterday", wantBad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, _ := url.ParseQuery(tt.query)
			container, out, err := podLogQuery(q, "web")
			switch {
			case tt.wantInvalid != "":
				if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), tt.wantInvalid) {
					t.Fatalf("err = %v, want Invalid about %q", err, tt.wantInvalid)
				}
				return
			case tt.wantBad:
				if !apierrors.IsBadRequest(err) {
					t.Fatalf("err = %v, want BadRequest", err)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			if container != tt.wantContainer || out.Encode() != tt.wantQuery {
				t.Errorf("got %q %q, want %q %q", container, out.Encode(), tt.wantContainer, tt.wantQuery)
			}
		})
	}
}

func TestPodContainer(t *testing.T) {
	t.Parallel()
	pod := func(containers, inits []string) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web"}}
		for _, c := range containers {
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: c})
		}
		for _, c := range inits {
			p.Spec.InitContainers = append(p.Spec.InitContainers, corev1.Container{Name: c})
		}
		return p
	}
	tests := []struct {
		name    string
		pod     *corev1.Pod
		asked   string
		want    string
		wantErr string
	}{
		{name: "the only container by default", pod: pod([]string{"app"}, nil), want: "app"},
		{name: "a named container", pod: pod([]string{"app", "side"}, nil), asked: "side", want: "side"},
		{name: "an init container by name", pod: pod([]string{"app"}, []string{"setup"}), asked: "setup", want: "setup"},
		{name: "several containers need a name", pod: pod([]string{"app", "side"}, []string{"setup"}),
			wantErr: "a container name must be specified for pod web, choose one of: [app side] or one of the init containers: [setup]"},
		{name: "a container not in the pod", pod: pod([]string{"app"}, nil), asked: "nope",
			wantErr: "container nope is not valid for pod web"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := podContainer(tt.pod, tt.asked)
			if tt.wantErr != "" {
				if !apierrors.IsBadRequest(err) || err.Error() != tt.wantErr {
					t.Fatalf("err = %v, want BadRequest %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %q, %v, want %q", got, err, tt.want)
			}
		})
	}
}

func TestKubeletHostPort(t *testing.T) {
	t.Parallel()
	node := func(port int32, addrs ...corev1.NodeAddress) *corev1.Node {
		n := &corev1.Node{}
		n.Status.Addresses = addrs
		n.Status.DaemonEndpoints.KubeletEndpoint.Port = port
		return n
	}
	internal := corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: "10.0.0.5"}
	host := corev1.NodeAddress{Type: corev1.NodeHostName, Address: "node1"}
	external := corev1.NodeAddress{Type: corev1.NodeExternalIP, Address: "203.0.113.9"}
	tests := []struct {
		name      string
		node      *corev1.Node
		preferred []corev1.NodeAddressType
		want      string
		wantErr   bool
	}{
		{name: "the internal IP before the hostname", node: node(10250, host, internal), want: "10.0.0.5:10250"},
		{name: "the external IP when there is no internal one", node: node(10250, host, external), want: "203.0.113.9:10250"},
		{name: "the reported port", node: node(12345, internal), want: "10.0.0.5:12345"},
		{name: "the default port when none is reported", node: node(0, internal), want: "10.0.0.5:10250"},
		{name: "a configured preference", node: node(10250, internal, host), preferred: []corev1.NodeAddressType{corev1.NodeHostName}, want: "node1:10250"},
		{name: "an IPv6 address", node: node(10250, corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: "fd00::5"}), want: "[fd00::5]:10250"},
		{name: "no address", node: node(10250), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := kubeletHostPort(tt.node, tt.preferred, 10250)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("got %q, %v, want %q (error %v)", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestNodeProxyTarget(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name               string
		scheme, node, port string
		wantErr            bool
	}{
		{name: "node1", node: "node1"},
		{name: "node1:10255", node: "node1", port: "10255"},
		{name: "https:node1", scheme: "https", node: "node1"},
		{name: "http:node1:10255", scheme: "http", node: "node1", port: "10255"},
		{name: ":node1:10250", node: "node1", port: "10250"},
		{name: "ftp:node1:21", wantErr: true},
		{name: "a:b:c:d", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			scheme, node, port, err := nodeProxyTarget(tt.name)
			if (err != nil) != tt.wantErr || scheme != tt.scheme || node != tt.node || port != tt.port {
				t.Errorf("got %q %q %q %v", scheme, node, port, err)
			}
		})
	}
	for path, want := range map[string]string{
		"/api/v1/nodes/n/proxy":                 "/",
		"/api/v1/nodes/n/proxy/":                "/",
		"/api/v1/nodes/n/proxy/stats/summary":   "/stats/summary",
		"/api/v1/nodes/n:10250/proxy/pods":      "/pods",
		"/api/v1/nodes/n/proxy/logs/x/proxy/y/": "/logs/x/proxy/y/",
	} {
		if got := nodeProxyPath(path); got != want {
			t.Errorf("nodeProxyPath(%q) = %q, want %q", path, got, want)
		}
	}
}

func TestStreamOptions(t *testing.T) {
	t.Parallel()
	q, _ := url.ParseQuery("command=sh&command=-c&command=ls /&stdin=true&stdout=1&stderr=true&tty=false&container=x")
	o := parseStreamOptions(q, true)
	if got := o.query().Encode(); got != "command=sh&command=-c&command=ls+%2F&stderr=1&stdin=1&stdout=1" {
		t.Errorf("query %s", got)
	}
	if got := fmt.Sprint(o.v5Channels()); got != fmt.Sprint([]wsstream.ChannelType{
		wsstream.ReadChannel, wsstream.WriteChannel, wsstream.WriteChannel, wsstream.WriteChannel, wsstream.IgnoreChannel}) {
		t.Errorf("channels without a TTY %s", got)
	}
	tty := parseStreamOptions(url.Values{"stdout": {"1"}, "stderr": {"1"}, "tty": {"1"}, "command": {"x"}}, false)
	if len(tty.command) != 0 {
		t.Errorf("attach took a command: %v", tty.command)
	}
	if got := fmt.Sprint(tty.v5Channels()); got != fmt.Sprint([]wsstream.ChannelType{
		wsstream.IgnoreChannel, wsstream.WriteChannel, wsstream.IgnoreChannel, wsstream.WriteChannel, wsstream.ReadChannel}) {
		t.Errorf("channels with a TTY %s: stderr joins stdout, resize is read", got)
	}
}

func TestRemoteCommandStatus(t *testing.T) {
	t.Parallel()
	if st := remoteCommandStatus(nil); st.Status != metav1.StatusSuccess {
		t.Errorf("success: %+v", st)
	}
	st := remoteCommandStatus(fmt.Errorf("wrapped: %w", exec.CodeExitError{Err: errors.New("command terminated with exit code 7"), Code: 7}))
	if st.Status != metav1.StatusFailure || st.Reason != "NonZeroExitCode" || st.Details == nil ||
		len(st.Details.Causes) != 1 || st.Details.Causes[0].Type != "ExitCode" || st.Details.Causes[0].Message != "7" {
		t.Errorf("exit code: %+v", st)
	}
	st = remoteCommandStatus(errors.New("unable to upgrade connection: container not found (\"x\")"))
	if st.Status != metav1.StatusFailure || st.Reason != "" || st.Message != "unable to upgrade connection: container not found (\"x\")" {
		t.Errorf("other error: %+v", st)
	}
}
