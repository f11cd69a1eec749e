package cri

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// maxMessageSize is the largest gRPC message accepted from the runtime (image and container
// lists of a busy node), as upstream's kubelet allows.
const maxMessageSize = 16 * 1024 * 1024

// Client holds the connection to a CRI runtime and its two services.
type Client struct {
	Runtime runtimeapi.RuntimeServiceClient
	Images  runtimeapi.ImageServiceClient
	conn    *grpc.ClientConn
}

// SocketPath turns an endpoint ("unix:///run/x.sock" or "/run/x.sock") into a socket path.
func SocketPath(endpoint string) (string, error) {
	switch {
	case strings.HasPrefix(endpoint, "unix://"):
		return strings.TrimPrefix(endpoint, "unix://"), nil
	case strings.HasPrefix(endpoint, "/"):
		return endpoint, nil
	}
	return "", fmt.Errorf("container runtime endpoint %q: only unix sockets are supported", endpoint)
}

// Dial connects to the runtime at endpoint. It does not wait for the runtime to answer:
// use WaitReady for that.
func Dial(endpoint string) (*Client, error) {
	path, err := SocketPath(endpoint)
	if err != nil {
		return nil, err
	}
	conn, err := grpc.NewClient("passthrough:///"+path,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		}),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessageSize), grpc.MaxCallSendMsgSize(maxMessageSize)),
	)
	if err != nil {
		return nil, fmt.Errorf("dialing CRI runtime at %s: %w", path, err)
	}
	return &Client{
		Runtime: runtimeapi.NewRuntimeServiceClient(conn),
		Images:  runtimeapi.NewImageServiceClient(conn),
		conn:    conn,
	}, nil
}

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// WaitReady polls the runtime's Version until it answers or ctx is done, and returns it.
func (c *Client) WaitReady(ctx context.Context) (*runtimeapi.VersionResponse, error) {
	var last error
	for {
		callCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
		v, err := c.Runtime.Version(callCtx, &runtimeapi.VersionRequest{})
		cancel()
		if err == nil {
			return v, nil
		}
		last = err
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("CRI runtime not ready: %w", last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
