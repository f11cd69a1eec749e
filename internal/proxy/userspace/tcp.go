package userspace

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"time"
)

// dialTimeouts are the tries to reach an endpoint for one connection, each with the next
// endpoint of the rotation: a dead endpoint costs a connection a short wait, not a failure.
var dialTimeouts = []time.Duration{250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second}

// chooser returns the pool for a connection from client that arrived on the local address.
type chooser func(client, local netip.Addr) *pool

// portal is a proxy socket of a service port.
type portal interface {
	// port is the local port it listens on.
	port() int
	// endpointsGone ends what is tied to endpoints no longer used (UDP sessions).
	endpointsGone(eps map[string]bool)
	close()
}

// tcpPortal accepts connections and splices each to an endpoint.
type tcpPortal struct {
	ln     net.Listener
	choose chooser
	f      *forwarder

	mu    sync.Mutex
	conns map[net.Conn]struct{} // both ends of every open connection
	done  bool
}

func (f *forwarder) openTCP(ctx context.Context, choose chooser) (*tcpPortal, error) {
	ln, err := f.sockets.Listen(ctx, "tcp4", ":0")
	if err != nil {
		return nil, fmt.Errorf("opening a TCP proxy port: %w", err)
	}
	t := &tcpPortal{ln: ln, choose: choose, f: f, conns: map[net.Conn]struct{}{}}
	go t.serve()
	return t, nil
}

func (t *tcpPortal) port() int { return t.ln.Addr().(*net.TCPAddr).Port }

func (t *tcpPortal) endpointsGone(map[string]bool) {}

// close stops accepting and ends the open connections.
func (t *tcpPortal) close() {
	t.ln.Close()
	t.mu.Lock()
	t.done = true
	for c := range t.conns {
		c.Close()
	}
	t.mu.Unlock()
}

func (t *tcpPortal) serve() {
	for {
		c, err := t.ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			// Out of file descriptors and the like: the connection waits in the backlog.
			t.f.log.Warn("Accepting a proxied connection failed", "port", t.port(), "err", err)
			time.Sleep(50 * time.Millisecond)
			continue
		}
		go t.forward(c)
	}
}

// track adds (or with add false removes) open connections; it refuses to add once closed.
func (t *tcpPortal) track(add bool, cs ...net.Conn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if add && t.done {
		return false
	}
	for _, c := range cs {
		if add {
			t.conns[c] = struct{}{}
		} else {
			delete(t.conns, c)
		}
	}
	return true
}

func (t *tcpPortal) forward(c net.Conn) {
	defer c.Close()
	client, local := addrOf(c.RemoteAddr()), addrOf(c.LocalAddr())
	p := t.choose(client, local)
	backend, err := t.f.dialEndpoint(p, client)
	if err != nil {
		t.f.log.Debug("No endpoint for a proxied connection", "port", t.port(), "client", client, "err", err)
		return
	}
	defer backend.Close()
	if !t.track(true, c, backend) {
		return
	}
	defer t.track(false, c, backend)
	splice(c, backend)
}

// dialEndpoint connects to an endpoint of p for client, trying the next ones when it fails.
func (f *forwarder) dialEndpoint(p *pool, client netip.Addr) (net.Conn, error) {
	var last error
	for i, timeout := range dialTimeouts {
		ep, ok := p.pick(client, i > 0)
		if !ok {
			return nil, errors.New("no endpoints")
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		c, err := f.sockets.Dial(ctx, "tcp4", ep)
		cancel()
		if err == nil {
			return c, nil
		}
		last = err
	}
	return nil, last
}

// errNoHalfClose ends a splice whose connections cannot pass a half close on.
var errNoHalfClose = errors.New("connection cannot half close")

// splice copies both ways until both sides are done; a side that ends its sending is
// passed on as a half close, an error ends both.
func splice(a, b net.Conn) {
	errc := make(chan error, 2)
	cp := func(dst, src net.Conn) {
		_, err := io.Copy(dst, src)
		if err == nil {
			err = errNoHalfClose
			if cw, ok := dst.(interface{ CloseWrite() error }); ok {
				err = cw.CloseWrite()
			}
		}
		errc <- err
	}
	go cp(a, b)
	go cp(b, a)
	for range 2 {
		if err := <-errc; err != nil {
			break
		}
	}
	// The callers close both; an error stops the other copy through that.
}

// addrOf is the IP of a socket address (IPv4-mapped ones unmapped); invalid when unknown.
func addrOf(a net.Addr) netip.Addr {
	switch a := a.(type) {
	case *net.TCPAddr:
		ip, _ := netip.AddrFromSlice(a.IP)
		return ip.Unmap()
	case *net.UDPAddr:
		ip, _ := netip.AddrFromSlice(a.IP)
		return ip.Unmap()
	}
	return netip.Addr{}
}
