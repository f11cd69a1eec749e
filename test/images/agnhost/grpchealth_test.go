package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// TestGRPCHealthWithAGRPCClient asks the server as the kubelet's grpc probe does, with
// grpc-go's client.
func TestGRPCHealthWithAGRPCClient(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := newHealthServer("db")
	srv := serveGRPC(l, h)
	defer srv.Close()
	conn, err := grpc.NewClient(l.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := healthpb.NewHealthClient(conn)
	check := func(service string) (healthpb.HealthCheckResponse_ServingStatus, codes.Code) {
		t.Helper()
		resp, err := client.Check(t.Context(), &healthpb.HealthCheckRequest{Service: service})
		return resp.GetStatus(), status.Code(err)
	}
	steps := []struct {
		name       string
		service    string
		failing    bool
		wantStatus healthpb.HealthCheckResponse_ServingStatus
		wantCode   codes.Code
	}{
		{"the overall health is SERVING", "", false, healthpb.HealthCheckResponse_SERVING, codes.OK},
		{"the named service is SERVING", "db", false, healthpb.HealthCheckResponse_SERVING, codes.OK},
		{"another service is not found", "cache", false, healthpb.HealthCheckResponse_UNKNOWN, codes.NotFound},
		{"the overall health turns NOT_SERVING", "", true, healthpb.HealthCheckResponse_NOT_SERVING, codes.OK},
		{"the named service turns NOT_SERVING", "db", true, healthpb.HealthCheckResponse_NOT_SERVING, codes.OK},
	}
	for _, st := range steps {
		h.serving.Store(!st.failing)
		if got, code := check(st.service); got != st.wantStatus || code != st.wantCode {
			t.Errorf("%s: Check(%q) = %v, %v; want %v, %v", st.name, st.service, got, code, st.wantStatus, st.wantCode)
		}
	}
	watch, err := client.Watch(t.Context(), &healthpb.HealthCheckRequest{})
	if err == nil {
		_, err = watch.Recv()
	}
	if status.Code(err) != codes.Unimplemented {
		t.Errorf("Watch: %v; want Unimplemented", err)
	}
}

// TestGRPCHealthBadRequests covers what no well-behaved client sends.
func TestGRPCHealthBadRequests(t *testing.T) {
	t.Parallel()
	frame := func(flag byte, msg ...byte) []byte {
		return append([]byte{flag, 0, 0, 0, byte(len(msg))}, msg...)
	}
	for _, tc := range []struct {
		name, method, path, contentType string
		body                            []byte
		wantHTTP                        int
		wantGRPC, wantMessage           string
	}{
		{"a GET is refused", http.MethodGet, healthCheckPath, "application/grpc", nil, 405, "", ""},
		{"a JSON body is refused", http.MethodPost, healthCheckPath, "application/json", frame(0), 415, "", ""},
		{"a bad content type is refused", http.MethodPost, healthCheckPath, "application/grpc; x", frame(0), 415, "", ""},
		{"another method is unimplemented", http.MethodPost, "/grpc.health.v1.Health/List", "application/grpc", frame(0), 200, "12", "unknown method"},
		{"an empty body has no message", http.MethodPost, healthCheckPath, "application/grpc", nil, 200, "13", "the request has no complete message"},
		{"a short prefix has no message", http.MethodPost, healthCheckPath, "application/grpc", []byte{0, 0, 0}, 200, "13", "the request has no complete message"},
		{"a compressed message is not supported", http.MethodPost, healthCheckPath, "application/grpc", frame(1, 0x0a, 0), 200, "13", "compressed messages are not supported"},
		{"a length beyond the body is refused", http.MethodPost, healthCheckPath, "application/grpc", []byte{0, 0, 0, 0, 9, 0x0a, 0}, 200, "13", "the request is not one message of its stated length"},
		{"two messages are refused", http.MethodPost, healthCheckPath, "application/grpc", append(frame(0), frame(0)...), 200, "13", "the request is not one message of its stated length"},
		{"a truncated service name is malformed", http.MethodPost, healthCheckPath, "application/grpc", frame(0, 0x0a, 5, 'a'), 200, "13", "malformed HealthCheckRequest"},
		{"a service name of the wrong wire type is malformed", http.MethodPost, healthCheckPath, "application/grpc", frame(0, 0x08, 1), 200, "13", "malformed HealthCheckRequest"},
		{"field number 0 is malformed", http.MethodPost, healthCheckPath, "application/grpc", frame(0, 0x02, 0), 200, "13", "malformed HealthCheckRequest"},
		{"a truncated 64-bit field is malformed", http.MethodPost, healthCheckPath, "application/grpc", frame(0, 0x11, 1, 2), 200, "13", "malformed HealthCheckRequest"},
		{"a group wire type is malformed", http.MethodPost, healthCheckPath, "application/grpc", frame(0, 0x13), 200, "13", "malformed HealthCheckRequest"},
		{"a truncated varint is malformed", http.MethodPost, healthCheckPath, "application/grpc", frame(0, 0x10, 0x80), 200, "13", "malformed HealthCheckRequest"},
		{"an unknown service is not found", http.MethodPost, healthCheckPath, "application/grpc", frame(0, 0x0a, 1, 'x'), 200, "5", "unknown service"},
		{"unknown fields are skipped", http.MethodPost, healthCheckPath, "application/grpc+proto", frame(0, 0x10, 7, 0x1d, 1, 2, 3, 4, 0x21, 1, 2, 3, 4, 5, 6, 7, 8), 200, "0", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequestWithContext(context.Background(), tc.method, tc.path, bytes.NewReader(tc.body))
			req.Header.Set("Content-Type", tc.contentType)
			rec := httptest.NewRecorder()
			newHealthServer("").ServeHTTP(rec, req)
			if rec.Code != tc.wantHTTP {
				t.Fatalf("HTTP status %d, want %d (body %q)", rec.Code, tc.wantHTTP, rec.Body)
			}
			if got := rec.Header().Get("Grpc-Status"); got != tc.wantGRPC {
				t.Errorf("grpc-status %q, want %q", got, tc.wantGRPC)
			}
			if got := rec.Header().Get("Grpc-Message"); got != tc.wantMessage {
				t.Errorf("grpc-message %q, want %q", got, tc.wantMessage)
			}
			if tc.wantGRPC == "0" && !bytes.Equal(rec.Body.Bytes(), []byte{0, 0, 0, 0, 2, 0x08, healthServing}) {
				t.Errorf("body %v, want a SERVING response", rec.Body.Bytes())
			}
		})
	}
}

func TestGRPCHealthCommand(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"an unknown flag is a usage error", []string{"--nope"}, "flag provided but not defined"},
		{"a bad duration is a usage error", []string{"--fail-health-after=soon"}, "invalid value"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			if code := grpcHealth(t.Context(), tc.args, &bytes.Buffer{}, &stderr); code != 2 || !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("code %d, stderr %q; want 2 and %q", code, stderr.String(), tc.want)
			}
		})
	}
	t.Run("a taken port fails", func(t *testing.T) {
		l, err := net.Listen("tcp", ":0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
		var stderr bytes.Buffer
		if code := grpcHealth(t.Context(), []string{"--port=" + port}, &bytes.Buffer{}, &stderr); code != 1 || !strings.Contains(stderr.String(), "address already in use") {
			t.Errorf("code %d, stderr %q; want 1 and address already in use", code, stderr.String())
		}
	})
	t.Run("it runs until cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		var stdout bytes.Buffer
		if code := grpcHealth(ctx, []string{"--port=0"}, &stdout, &bytes.Buffer{}); code != 0 || !strings.Contains(stdout.String(), "terminating") {
			t.Errorf("code %d, stdout %q; want 0 and terminating", code, stdout.String())
		}
	})
}
