package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// refusedAddr is a loopback TCP address nothing listens on.
func refusedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestClient(t *testing.T) {
	srv := httptest.NewServer(newServer("pod-a", &bytes.Buffer{}, &bytes.Buffer{}, func(int) {}))
	defer srv.Close()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	go serveUDP(pc, "pod-u")
	refused := refusedAddr(t)
	httpAddr := strings.TrimPrefix(srv.URL, "http://")

	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{"an http target prints each body", []string{"--count=2", srv.URL + "/hostname"}, 0, "pod-a\npod-a\n", ""},
		{"an http error status is a failure", []string{srv.URL + "/nope"}, 1, "error: 404 Not Found: \"404 page not found\\n\"\n", ""},
		{"a udp target asks for the hostname by default", []string{"udp://" + pc.LocalAddr().String()}, 0, "pod-u\n", ""},
		{"a udp target sends its path", []string{"udp://" + pc.LocalAddr().String() + "/echo hi"}, 0, "hi\n", ""},
		{"a tcp target connects", []string{"tcp://" + httpAddr}, 0, "connected\n", ""},
		{"a refused connection prints refused", []string{"tcp://" + refused}, 1, "refused\n", ""},
		{"a refused http request prints refused", []string{"http://" + refused + "/"}, 1, "refused\n", ""},
		{"until stops at the first matching line", []string{"--count=0", "--until=pod-a", srv.URL}, 0, "pod-a\n", ""},
		{"until not met fails", []string{"--count=2", "--until=pod-b", srv.URL}, 1, "pod-a\npod-a\n", ""},
		{"no target", nil, 2, "", "want one TARGET"},
		{"two targets", []string{srv.URL, srv.URL}, 2, "", "want one TARGET"},
		{"a negative count", []string{"--count=-1", srv.URL}, 2, "", "--count >= 0"},
		{"a zero timeout", []string{"--timeout=0", srv.URL}, 2, "", "--timeout > 0"},
		{"an unknown scheme", []string{"ftp://host:21"}, 2, "", "scheme must be"},
		{"a target without host", []string{"http:///x"}, 2, "", "has no host"},
		{"an unparsable target", []string{"http://[::1"}, 2, "", "target:"},
		{"a lookup without name", []string{"lookup:"}, 2, "", "needs a name"},
		{"an unknown flag", []string{"--nope", srv.URL}, 2, "", "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := client(t.Context(), tt.args, &stdout, &stderr)
			if code != tt.wantCode || stdout.String() != tt.wantOut || !strings.Contains(stderr.String(), tt.wantErr) {
				t.Errorf("client %q = %d, stdout %q, stderr %q; want %d, %q, stderr with %q",
					tt.args, code, stdout.String(), stderr.String(), tt.wantCode, tt.wantOut, tt.wantErr)
			}
		})
	}
}

func TestClientTimestamps(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("x")) }))
	defer srv.Close()
	var stdout, stderr bytes.Buffer
	before := time.Now()
	if code := client(t.Context(), []string{"--timestamps", srv.URL}, &stdout, &stderr); code != 0 {
		t.Fatalf("client = %d, stderr %q", code, stderr.String())
	}
	stamp, line, ok := strings.Cut(strings.TrimSpace(stdout.String()), " ")
	at, err := time.Parse(time.RFC3339Nano, stamp)
	if !ok || line != "x" || err != nil || at.Before(before.Add(-time.Second)) || at.After(time.Now()) {
		t.Errorf("stdout %q: want \"<time> x\" with a time of the call (parse error %v)", stdout.String(), err)
	}
}

func TestRunClient(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"client"}, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), "want one TARGET") {
		t.Errorf("run client = %d, stderr %q; want 2 and the usage error", code, stderr.String())
	}
}

func TestClientStopsWhenCancelled(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("x")) }))
	defer srv.Close()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	var stdout, stderr bytes.Buffer
	// Forever, an hour apart: only the cancelled context ends it.
	if code := client(ctx, []string{"--count=0", "--interval=1h", srv.URL}, &stdout, &stderr); code != 1 {
		t.Errorf("client = %d, stdout %q; want 1", code, stdout.String())
	}
}
