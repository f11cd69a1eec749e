package main

// grpc-health serves the gRPC health checking protocol, the way a grpc liveness or
// readiness probe asks it (grpc.health.v1.Health/Check over HTTP/2 without TLS):
//
//	agnhost grpc-health [--port=9090] [--service=NAME] [--fail-health-after=D]
//
// It reports SERVING for the overall health ("") and for --service, NOT_SERVING for both
// once --fail-health-after has passed, and the status NOT_FOUND for any other service.
// SIGTERM ends it with code 0.
//
// It needs nothing but the standard library: a unary call is one length-prefixed
// protobuf message each way, and the call's status travels in the grpc-status trailer.

import (
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// gRPC status codes the health server answers with.
const (
	grpcOK            = 0
	grpcNotFound      = 5
	grpcUnimplemented = 12
	grpcInternal      = 13
)

// Values of grpc.health.v1.HealthCheckResponse.ServingStatus.
const (
	healthServing    = 1
	healthNotServing = 2
)

// healthCheckPath is the one method served: grpc.health.v1.Health/Check.
const healthCheckPath = "/grpc.health.v1.Health/Check"

func grpcHealth(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("grpc-health", flag.ContinueOnError)
	fs.SetOutput(stderr)
	port := fs.Int("port", 9090, "gRPC port")
	service := fs.String("service", "", "a service name to report besides the overall health")
	failAfter := fs.Duration("fail-health-after", 0, "report NOT_SERVING after this long; 0 never")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	h := newHealthServer(*service)
	if *failAfter > 0 {
		time.AfterFunc(*failAfter, func() {
			h.serving.Store(false)
			fmt.Fprintln(stdout, "agnhost: now NOT_SERVING")
		})
	}
	l, err := net.Listen("tcp", ":"+strconv.Itoa(*port))
	if err != nil {
		fmt.Fprintf(stderr, "agnhost: %v\n", err)
		return 1
	}
	srv := serveGRPC(l, h)
	defer srv.Close()
	fmt.Fprintf(stdout, "agnhost grpc-health serving on :%d\n", *port)
	<-ctx.Done()
	fmt.Fprintln(stdout, "agnhost: terminating")
	return 0
}

// serveGRPC serves h on l over HTTP/2 with prior knowledge, as gRPC clients without TLS
// speak it.
func serveGRPC(l net.Listener, h http.Handler) *http.Server {
	var protocols http.Protocols
	protocols.SetUnencryptedHTTP2(true)
	srv := &http.Server{Handler: h, Protocols: &protocols, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	return srv
}

// healthServer answers grpc.health.v1.Health/Check.
type healthServer struct {
	services map[string]bool
	serving  atomic.Bool
}

func newHealthServer(service string) *healthServer {
	h := &healthServer{services: map[string]bool{"": true, service: true}}
	h.serving.Store(true)
	return h
}

func (h *healthServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "gRPC calls are POST requests", http.StatusMethodNotAllowed)
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || (mt != "application/grpc" && mt != "application/grpc+proto") {
		http.Error(w, "the content type must be application/grpc", http.StatusUnsupportedMediaType)
		return
	}
	w.Header().Set("Content-Type", "application/grpc")
	if r.URL.Path != healthCheckPath {
		grpcError(w, grpcUnimplemented, "unknown method")
		return
	}
	msg, err := readGRPCMessage(r.Body)
	if err != nil {
		grpcError(w, grpcInternal, err.Error())
		return
	}
	service, err := healthCheckService(msg)
	if err != nil {
		grpcError(w, grpcInternal, err.Error())
		return
	}
	if !h.services[service] {
		grpcError(w, grpcNotFound, "unknown service")
		return
	}
	status := byte(healthServing)
	if !h.serving.Load() {
		status = healthNotServing
	}
	w.Header().Set("Trailer", "Grpc-Status")
	w.WriteHeader(http.StatusOK)
	// One uncompressed message of 2 bytes: key 0x08 (field 1, a varint), the status.
	_, _ = w.Write([]byte{0, 0, 0, 0, 2, 0x08, status})
	w.Header().Set("Grpc-Status", strconv.Itoa(grpcOK))
}

// grpcError answers a call with a status and no message ("trailers only"). msg must be
// printable ASCII without '%', which grpc-message would have to escape.
func grpcError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Grpc-Status", strconv.Itoa(code))
	w.Header().Set("Grpc-Message", msg)
	w.WriteHeader(http.StatusOK)
}

// readGRPCMessage reads the one message of a unary call: a flag byte (0: not
// compressed), a big-endian 32-bit length, and that many bytes.
func readGRPCMessage(body io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(body, 64<<10))
	if err != nil {
		return nil, errors.New("reading the request failed")
	}
	if len(data) < 5 {
		return nil, errors.New("the request has no complete message")
	}
	if data[0] != 0 {
		return nil, errors.New("compressed messages are not supported")
	}
	if n := binary.BigEndian.Uint32(data[1:5]); uint64(n) != uint64(len(data)-5) {
		return nil, errors.New("the request is not one message of its stated length")
	}
	return data[5:], nil
}

// healthCheckService reads a HealthCheckRequest: field 1, the service name, a string;
// other fields are skipped as protobuf allows.
func healthCheckService(msg []byte) (string, error) {
	malformed := errors.New("malformed HealthCheckRequest")
	service := ""
	for len(msg) > 0 {
		key, n := binary.Uvarint(msg)
		if n <= 0 || key>>3 == 0 {
			return "", malformed
		}
		msg = msg[n:]
		var size uint64
		switch key & 7 {
		case 0: // varint
			if _, n = binary.Uvarint(msg); n <= 0 {
				return "", malformed
			}
			size = uint64(n)
		case 1: // 64-bit
			size = 8
		case 2: // length-delimited
			l, n := binary.Uvarint(msg)
			if n <= 0 || l > uint64(len(msg)-n) {
				return "", malformed
			}
			if key>>3 == 1 {
				service = string(msg[n : n+int(l)])
			}
			size = uint64(n) + l
		case 5: // 32-bit
			size = 4
		default:
			return "", malformed
		}
		if size > uint64(len(msg)) || (key>>3 == 1 && key&7 != 2) {
			return "", malformed
		}
		msg = msg[size:]
	}
	return service, nil
}
