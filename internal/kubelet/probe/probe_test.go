package probe

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	testingclock "k8s.io/utils/clock/testing"
)

func hostPort(t *testing.T, raw string) (string, int) {
	t.Helper()
	u, _ := url.Parse(raw)
	host, port, _ := net.SplitHostPort(u.Host)
	p, _ := strconv.Atoi(port)
	return host, p
}

func TestHTTPGet(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			if r.Header.Get("X-Probe") != "yes" || !strings.HasPrefix(r.UserAgent(), "kube-probe/") {
				w.WriteHeader(http.StatusBadRequest)
			}
		case "/redirect":
			http.Redirect(w, r, "/ok", http.StatusFound)
		default:
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	host, port := hostPort(t, srv.URL)
	c := &corev1.Container{Ports: []corev1.ContainerPort{{Name: "web", ContainerPort: int32(port)}}}
	headers := []corev1.HTTPHeader{{Name: "X-Probe", Value: "yes"}}
	for _, tc := range []struct {
		path string
		port intstr.IntOrString
		want Result
		msg  string
	}{
		{"/ok", intstr.FromString("web"), Success, ""},
		{"/redirect", intstr.FromInt32(int32(port)), Success, ""}, // followed within the host, headers kept
		{"/fail", intstr.FromInt32(int32(port)), Failure, "HTTP probe failed with statuscode: 500"},
		{"/ok", intstr.FromString("nope"), Failure, "couldn't find port"},
	} {
		res, out, err := HTTPGet(context.Background(), &corev1.HTTPGetAction{Path: tc.path, Port: tc.port, HTTPHeaders: headers}, host, c, nil)
		if err != nil || res != tc.want || !strings.Contains(out, tc.msg) {
			t.Errorf("GET %s = %v %q %v; want %v %q", tc.path, res, out, err, tc.want, tc.msg)
		}
	}
}

func TestTCP(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if res, _, _ := TCP(context.Background(), "127.0.0.1", port); res != Success {
		t.Fatal("a listening port fails the probe")
	}
	l.Close()
	if res, out, _ := TCP(context.Background(), "127.0.0.1", port); res != Failure || !strings.Contains(out, "refused") {
		t.Fatalf("a closed port: %v %q", res, out)
	}
}

type fakeExec struct {
	mu   sync.Mutex
	code int32
	runs int
}

func (f *fakeExec) ExecSync(_ context.Context, in *runtimeapi.ExecSyncRequest, _ ...grpc.CallOption) (*runtimeapi.ExecSyncResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.runs++
	return &runtimeapi.ExecSyncResponse{ExitCode: f.code, Stdout: []byte("out:" + strings.Join(in.Cmd, " "))}, nil
}

func (f *fakeExec) set(code int32) {
	f.mu.Lock()
	f.code = code
	f.mu.Unlock()
}

func TestExec(t *testing.T) {
	t.Parallel()
	f := &fakeExec{}
	if res, out, _ := Exec(context.Background(), f, "c1", []string{"true"}); res != Success || out != "out:true" {
		t.Fatalf("exit 0: %v %q", res, out)
	}
	f.set(1)
	if res, _, _ := Exec(context.Background(), f, "c1", []string{"false"}); res != Failure {
		t.Fatalf("exit 1: %v", res)
	}
}

// TestManagerThresholds drives an exec liveness and a readiness probe with a fake clock.
func TestManagerThresholds(t *testing.T) {
	t.Parallel()
	clk := testingclock.NewFakeClock(time.Now())
	f := &fakeExec{}
	changes := make(chan types.UID, 100)
	m := NewManager(Options{Runtime: f, Clock: clk, OnChange: func(uid types.UID) { changes <- uid }})
	defer m.Stop()
	exec := corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"check"}}}
	pod := &corev1.Pod{ObjectMeta: metav1ObjectMeta("p", "uid"), Spec: corev1.PodSpec{Containers: []corev1.Container{{
		Name:           "c",
		LivenessProbe:  &corev1.Probe{ProbeHandler: exec, PeriodSeconds: 1, FailureThreshold: 2},
		ReadinessProbe: &corev1.Probe{ProbeHandler: exec, PeriodSeconds: 1, SuccessThreshold: 1, FailureThreshold: 1},
	}}}}
	m.Sync(pod, map[string]string{"c": "id1"})
	if r := m.Results("uid")["id1"]; !r.Started || r.Ready || r.LivenessFailed {
		t.Fatalf("initial results = %+v; want started, not ready, alive", r)
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("never: %s (results %+v)", what, m.Results("uid"))
			}
			clk.Step(time.Second)
			select {
			case <-changes:
			case <-time.After(5 * time.Millisecond):
			}
		}
	}
	waitFor("ready after a passing readiness probe", func() bool { return m.Results("uid")["id1"].Ready })
	f.set(1)
	waitFor("liveness failed after two failures", func() bool { return m.Results("uid")["id1"].LivenessFailed })
	if m.Results("uid")["id1"].Ready {
		t.Fatal("still ready after a failed readiness probe")
	}
	m.Sync(pod, map[string]string{"c": "id2"})
	if _, ok := m.Results("uid")["id1"]; ok {
		t.Fatal("results of a gone instance remain")
	}
	m.Forget("uid")
	if len(m.Results("uid")) != 0 {
		t.Fatal("results remain after Forget")
	}
}
