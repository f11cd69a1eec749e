// Command grpchealth is a test program of the node e2e tests: it serves the gRPC health
// checking protocol on -port, reporting SERVING for -healthy-for and NOT_SERVING after.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

func main() {
	port := flag.Int("port", 9090, "port to serve on")
	healthyFor := flag.Duration("healthy-for", time.Hour, "how long to report SERVING")
	flag.Parse()
	l, err := net.Listen("tcp", fmt.Sprintf(":%d", *port))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	s := grpc.NewServer()
	h := health.NewServer()
	healthpb.RegisterHealthServer(s, h)
	h.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	go func() {
		time.Sleep(*healthyFor)
		h.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
		fmt.Println("now NOT_SERVING")
	}()
	fmt.Println("serving gRPC health on", l.Addr())
	if err := s.Serve(l); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
