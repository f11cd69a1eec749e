package userspace

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// maxDatagram is the largest UDP payload.
const maxDatagram = 65535

// udpPortal forwards datagrams: each client address gets a session, a socket connected to
// one endpoint, whose replies go back to the client from the address the client sent to.
type udpPortal struct {
	conn   *net.UDPConn
	choose chooser
	f      *forwarder

	mu       sync.Mutex
	sessions map[netip.AddrPort]*udpSession
	done     bool
}

type udpSession struct {
	client netip.AddrPort
	// local is where the client's datagrams arrived (after the REDIRECT): replies leave
	// from it, so conntrack maps them back to the service address the client sent to.
	local   netip.Addr
	ep      string
	backend net.Conn
}

func (f *forwarder) openUDP(ctx context.Context, choose chooser) (*udpPortal, error) {
	pc, err := f.sockets.ListenPacket(ctx, "udp4", ":0")
	if err != nil {
		return nil, fmt.Errorf("opening a UDP proxy port: %w", err)
	}
	conn, ok := pc.(*net.UDPConn)
	if !ok {
		pc.Close()
		return nil, fmt.Errorf("opening a UDP proxy port: got a %T, want a *net.UDPConn", pc)
	}
	if err := setPktInfo(conn); err != nil {
		conn.Close()
		return nil, fmt.Errorf("opening a UDP proxy port: IP_PKTINFO: %w", err)
	}
	u := &udpPortal{conn: conn, choose: choose, f: f, sessions: map[netip.AddrPort]*udpSession{}}
	go u.serve()
	return u, nil
}

func setPktInfo(c *net.UDPConn) error {
	raw, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_PKTINFO, 1)
	}); err != nil {
		return err
	}
	return serr
}

// pktInfoDst is the destination address in an IP_PKTINFO control message; invalid when
// there is none.
func pktInfoDst(oob []byte) netip.Addr {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return netip.Addr{}
	}
	for _, m := range msgs {
		// struct in_pktinfo: ifindex (4 bytes), spec_dst (4), addr (4, the header's
		// destination).
		if m.Header.Level == unix.IPPROTO_IP && m.Header.Type == unix.IP_PKTINFO && len(m.Data) >= unix.SizeofInet4Pktinfo {
			return netip.AddrFrom4([4]byte(m.Data[8:12]))
		}
	}
	return netip.Addr{}
}

func (u *udpPortal) port() int { return u.conn.LocalAddr().(*net.UDPAddr).Port }

func (u *udpPortal) serve() {
	buf := make([]byte, maxDatagram)
	oob := make([]byte, 128)
	for {
		n, oobn, _, from, err := u.conn.ReadMsgUDPAddrPort(buf, oob)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			continue
		}
		from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		s := u.session(from, pktInfoDst(oob[:oobn]))
		if s == nil {
			continue // no endpoint: the datagram is dropped
		}
		_ = s.backend.SetReadDeadline(time.Now().Add(u.f.udpIdle))
		if _, err := s.backend.Write(buf[:n]); err != nil {
			u.end(s)
		}
	}
}

// session returns the client's session, opening one to the next endpoint if it has none.
// Only serve calls it.
func (u *udpPortal) session(client netip.AddrPort, local netip.Addr) *udpSession {
	u.mu.Lock()
	s := u.sessions[client]
	u.mu.Unlock()
	if s != nil {
		return s
	}
	ep, ok := u.choose(client.Addr(), local).pick(client.Addr(), false)
	if !ok {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	c, err := u.f.sockets.Dial(ctx, "udp4", ep)
	if err != nil {
		u.f.log.Debug("Opening a UDP session failed", "port", u.port(), "endpoint", ep, "err", err)
		return nil
	}
	s = &udpSession{client: client, local: local, ep: ep, backend: c}
	u.mu.Lock()
	if u.done {
		u.mu.Unlock()
		c.Close()
		return nil
	}
	u.sessions[client] = s
	u.mu.Unlock()
	go u.replies(s)
	return s
}

// replies sends the endpoint's datagrams to the client until the session is idle for the
// idle timeout or closed.
func (u *udpPortal) replies(s *udpSession) {
	defer u.end(s)
	buf := make([]byte, maxDatagram)
	var oob []byte
	if s.local.Is4() {
		oob = unix.PktInfo4(&unix.Inet4Pktinfo{Spec_dst: s.local.As4()})
	}
	for {
		_ = s.backend.SetReadDeadline(time.Now().Add(u.f.udpIdle))
		n, err := s.backend.Read(buf)
		if err != nil {
			return
		}
		if _, _, err := u.conn.WriteMsgUDPAddrPort(buf[:n], oob, s.client); err != nil {
			u.f.log.Debug("Answering a UDP client failed", "port", u.port(), "client", s.client, "err", err)
		}
	}
}

// end forgets the session (unless a newer one took its client) and closes it.
func (u *udpPortal) end(s *udpSession) {
	u.mu.Lock()
	if u.sessions[s.client] == s {
		delete(u.sessions, s.client)
	}
	u.mu.Unlock()
	s.backend.Close()
}

// endpointsGone ends the sessions to the given endpoints, so their clients' next
// datagrams go to endpoints still there (what flushing conntrack entries does in the
// other modes).
func (u *udpPortal) endpointsGone(eps map[string]bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for client, s := range u.sessions {
		if eps[s.ep] {
			delete(u.sessions, client)
			s.backend.Close()
		}
	}
}

// sessionCount is the number of open sessions.
func (u *udpPortal) sessionCount() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.sessions)
}

func (u *udpPortal) close() {
	u.conn.Close()
	u.mu.Lock()
	defer u.mu.Unlock()
	u.done = true
	for client, s := range u.sessions {
		delete(u.sessions, client)
		s.backend.Close()
	}
}
