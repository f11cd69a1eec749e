package userspace

import (
	"context"
	"net"
)

// Sockets opens the sockets of the mode: its proxy listeners and its connections to
// endpoints. All of them must be in the network namespace whose tables the mode's Runner
// programs.
type Sockets interface {
	Listen(ctx context.Context, network, address string) (net.Listener, error)
	ListenPacket(ctx context.Context, network, address string) (net.PacketConn, error)
	Dial(ctx context.Context, network, address string) (net.Conn, error)
}

// HostSockets opens sockets in the process's own network namespace.
type HostSockets struct{}

// Listen implements Sockets.
func (HostSockets) Listen(ctx context.Context, network, address string) (net.Listener, error) {
	var lc net.ListenConfig
	return lc.Listen(ctx, network, address)
}

// ListenPacket implements Sockets.
func (HostSockets) ListenPacket(ctx context.Context, network, address string) (net.PacketConn, error) {
	var lc net.ListenConfig
	return lc.ListenPacket(ctx, network, address)
}

// Dial implements Sockets.
func (HostSockets) Dial(ctx context.Context, network, address string) (net.Conn, error) {
	var d net.Dialer
	return d.DialContext(ctx, network, address)
}
