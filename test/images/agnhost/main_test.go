package main

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestServer(t *testing.T) {
	var stdout, stderr bytes.Buffer
	exited := make(chan int, 1)
	s := newServer("pod-a", &stdout, &stderr, func(code int) { exited <- code })
	srv := httptest.NewServer(s)
	defer srv.Close()
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	steps := []struct {
		path     string
		wantCode int
		wantBody string
	}{
		{"/", 200, "pod-a"},
		{"/hostname", 200, "pod-a"},
		{"/nope", 404, "404 page not found\n"},
		{"/healthz", 200, "ok"},
		{"/healthz/fail", 200, "failing"},
		{"/healthz", 503, "unhealthy\n"},
		{"/readyz", 200, "ok"},
		{"/healthz/ok", 200, "ok"},
		{"/healthz", 200, "ok"},
		{"/readyz/fail", 200, "failing"},
		{"/readyz", 503, "unhealthy\n"},
		{"/echo?msg=hi+there", 200, "hi there"},
		{"/sleep?duration=0.01", 200, "slept 10ms"},
		{"/sleep?duration=soon", 400, "\"soon\" is not a duration\n"},
		{"/log?msg=to+stdout", 200, "ok"},
		{"/log?msg=to+stderr&stream=stderr", 200, "ok"},
		{"/exit?code=300", 400, "code must be 0..255\n"},
		{"/exit?code=3", 200, "exiting 3"},
	}
	for _, st := range steps {
		code, body := get(st.path)
		if code != st.wantCode || body != st.wantBody {
			t.Errorf("GET %s = %d %q, want %d %q", st.path, code, body, st.wantCode, st.wantBody)
		}
	}
	select {
	case code := <-exited:
		if code != 3 {
			t.Errorf("exit code %d", code)
		}
	case <-time.After(5 * time.Second):
		t.Error("/exit did not exit")
	}
	if stdout.String() != "to stdout\n" || stderr.String() != "to stderr\n" {
		t.Errorf("stdout %q, stderr %q", stdout.String(), stderr.String())
	}
	t.Setenv("AGNHOST_TEST", "yes")
	if _, body := get("/env"); !strings.Contains(body, "\nAGNHOST_TEST=yes\n") && !strings.HasPrefix(body, "AGNHOST_TEST=yes\n") {
		t.Errorf("env lacks AGNHOST_TEST: %q", body)
	}
}

func TestUDPAnswer(t *testing.T) {
	t.Parallel()
	for msg, want := range map[string]string{
		"hostname\n":   "pod-a",
		"echo hello":   "hello",
		"clientip":     "10.0.0.1:5000",
		"anything":     "anything",
		"echo \r\n":    "",
		"hostname\r\n": "pod-a",
	} {
		if got := udpAnswer(msg, "pod-a", "10.0.0.1:5000"); got != want {
			t.Errorf("udpAnswer(%q) = %q, want %q", msg, got, want)
		}
	}
}

func TestServeUDP(t *testing.T) {
	t.Parallel()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	go serveUDP(pc, "pod-a")
	conn, err := net.Dial("udp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Write([]byte("hostname")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 100)
	n, err := conn.Read(buf)
	if err != nil || string(buf[:n]) != "pod-a" {
		t.Errorf("read %q, %v", buf[:n], err)
	}
}

func TestRunUnknownCommand(t *testing.T) {
	t.Parallel()
	var stderr bytes.Buffer
	if code := run([]string{"frobnicate"}, io.Discard, &stderr); code != 2 || !strings.Contains(stderr.String(), "unknown command") {
		t.Errorf("code %d, stderr %q", code, stderr.String())
	}
}
