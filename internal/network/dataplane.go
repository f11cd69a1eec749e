package network

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"capstan/internal/netfilter/jump"
	"capstan/internal/nsenter"
)

// linuxDataplane programs the kernel with netlink, iptables-restore and /proc/sys, in the
// namespace at netns ("" for the process's own).
type linuxDataplane struct {
	netns  string
	runner Runner
}

func newDataplane(o Options) dataplane { return &linuxDataplane{netns: o.NetNS, runner: o.Runner} }

func (d *linuxDataplane) handle() (*netlink.Handle, error) {
	if d.netns == "" {
		return netlink.NewHandle()
	}
	ns, err := netns.GetFromPath(d.netns)
	if err != nil {
		return nil, fmt.Errorf("network namespace %s: %w", d.netns, err)
	}
	defer ns.Close()
	return netlink.NewHandleAt(ns)
}

func (d *linuxDataplane) prepareHost(ctx context.Context, o HostOptions) (changed []SysctlChange, err error) {
	err = nsenter.Do(d.netns, func() error {
		changed, err = PrepareHost(ctx, o)
		return err
	})
	return changed, err
}

func (d *linuxDataplane) writeConflist(dir string, c CNIConfig) (bool, error) {
	return WriteConflist(dir, c)
}

// Run runs a command in the dataplane's network namespace and returns its output.
func (d *linuxDataplane) Run(ctx context.Context, stdin []byte, name string, args ...string) ([]byte, error) {
	var out []byte
	err := nsenter.Do(d.netns, func() error {
		var err error
		out, err = d.runner.Run(ctx, stdin, name, args...)
		return err
	})
	return out, err
}

func (d *linuxDataplane) run(ctx context.Context, stdin []byte, name string, args ...string) error {
	if out, err := d.Run(ctx, stdin, name, args...); err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

func (d *linuxDataplane) applyRules(ctx context.Context, rules string) error {
	if err := d.run(ctx, []byte(rules), "iptables-restore", "-w", "--noflush"); err != nil {
		return err
	}
	for _, j := range jump.Missing(ctx, d, jumps()) {
		add := []string{"-w", "-t", j.Table, "-A", j.Chain}
		if !j.Append {
			// After the service proxy's jumps (KUBE-*) at the head of the chain, which
			// must see pods' traffic before the pod network accepts it (a service without
			// endpoints rejects; accepted, the packet would leave by the default route).
			out, err := d.Run(ctx, nil, "iptables", "-w", "-t", j.Table, "-S", j.Chain)
			if err != nil {
				return fmt.Errorf("iptables -t %s -S %s: %w", j.Table, j.Chain, err)
			}
			add = []string{"-w", "-t", j.Table, "-I", j.Chain, strconv.Itoa(afterProxyJumps(string(out), j.Chain))}
		}
		if err := d.run(ctx, nil, "iptables", append(add, j.Args...)...); err != nil {
			return err
		}
	}
	return nil
}

// afterProxyJumps returns the 1-based position after the leading rules of chain (in
// iptables -S output) that jump to the service proxy's chains.
func afterProxyJumps(rules, chain string) int {
	pos := 1
	for _, line := range strings.Split(rules, "\n") {
		if !strings.HasPrefix(line, "-A "+chain+" ") {
			continue
		}
		if !strings.Contains(line, " -j KUBE-") {
			break
		}
		pos++
	}
	return pos
}

func (d *linuxDataplane) removeRules(ctx context.Context) error {
	jump.Remove(ctx, d, jumps())
	return d.run(ctx, []byte(deleteChainsRules()), "iptables-restore", "-w", "--noflush")
}

func (d *linuxDataplane) underlay(nodeIP netip.Addr) (underlay, error) {
	h, err := d.handle()
	if err != nil {
		return underlay{}, err
	}
	defer h.Close()
	var link netlink.Link
	if !nodeIP.IsValid() {
		link, nodeIP, err = defaultRoute(h)
		if err != nil {
			return underlay{}, err
		}
	} else {
		link, err = linkWithAddr(h, nodeIP)
		if err != nil {
			return underlay{}, err
		}
	}
	addrs, err := h.AddrList(link, netlink.FAMILY_V4)
	if err != nil {
		return underlay{}, err
	}
	u := underlay{IP: nodeIP, Device: link.Attrs().Name, Index: link.Attrs().Index, MTU: link.Attrs().MTU}
	for _, a := range addrs {
		if p, ok := prefixOf(a.IPNet); ok {
			u.Subnets = append(u.Subnets, p.Masked())
		}
	}
	return u, nil
}

// NodeIP is DefaultRouteIP as a net.IP, or 127.0.0.1 on a machine with no default route:
// the node IP is never taken from the host name, which may map to 127.0.0.1.
func NodeIP() net.IP {
	if ip, _, err := DefaultRouteIP(); err == nil {
		return net.IP(ip.AsSlice())
	}
	return net.IPv4(127, 0, 0, 1)
}

// DefaultRouteIP is the node IP as Capstan finds it: the source address of the IPv4 default
// route, or the first global address of its device. It reads the process's namespace.
func DefaultRouteIP() (netip.Addr, string, error) {
	h, err := netlink.NewHandle()
	if err != nil {
		return netip.Addr{}, "", err
	}
	defer h.Close()
	link, ip, err := defaultRoute(h)
	if err != nil {
		return netip.Addr{}, "", err
	}
	return ip, link.Attrs().Name, nil
}

func defaultRoute(h *netlink.Handle) (netlink.Link, netip.Addr, error) {
	routes, err := h.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		return nil, netip.Addr{}, fmt.Errorf("listing routes: %w", err)
	}
	for _, r := range routes {
		if r.Dst != nil && !(r.Dst.IP.Equal(net.IPv4zero) && maskBits(r.Dst) == 0) {
			continue
		}
		if r.LinkIndex == 0 {
			continue
		}
		link, err := h.LinkByIndex(r.LinkIndex)
		if err != nil {
			return nil, netip.Addr{}, err
		}
		if src, ok := netip.AddrFromSlice(r.Src.To4()); ok && r.Src != nil {
			return link, src, nil
		}
		addrs, err := h.AddrList(link, netlink.FAMILY_V4)
		if err != nil {
			return nil, netip.Addr{}, err
		}
		for _, a := range addrs {
			if ip, ok := netip.AddrFromSlice(a.IP.To4()); ok && ip.IsGlobalUnicast() {
				return link, ip, nil
			}
		}
	}
	return nil, netip.Addr{}, errors.New("no IPv4 default route with an address: pass the node IP")
}

func maskBits(n *net.IPNet) int { b, _ := n.Mask.Size(); return b }

func linkWithAddr(h *netlink.Handle, ip netip.Addr) (netlink.Link, error) {
	addrs, err := h.AddrList(nil, netlink.FAMILY_V4)
	if err != nil {
		return nil, fmt.Errorf("listing addresses: %w", err)
	}
	for _, a := range addrs {
		if got, ok := netip.AddrFromSlice(a.IP.To4()); ok && got == ip {
			return h.LinkByIndex(a.LinkIndex)
		}
	}
	return nil, fmt.Errorf("no device has the node IP %s", ip)
}

func prefixOf(n *net.IPNet) (netip.Prefix, bool) {
	if n == nil {
		return netip.Prefix{}, false
	}
	ip, ok := netip.AddrFromSlice(n.IP.To4())
	if !ok {
		return netip.Prefix{}, false
	}
	bits, total := n.Mask.Size()
	if total != 32 {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(ip, bits), true
}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

func (d *linuxDataplane) applyRoutes(want Desired, vx vxlanSpec) error {
	h, err := d.handle()
	if err != nil {
		return err
	}
	defer h.Close()
	var errs []error
	vxIndex := 0
	if want.VXLAN {
		link, err := ensureVXLAN(h, vx)
		if err != nil {
			return fmt.Errorf("overlay device %s: %w", vx.Name, err)
		}
		vxIndex = link.Attrs().Index
		errs = append(errs, syncFDB(h, vxIndex, want.FDB), syncNeighbors(h, vxIndex, want.Neighbors))
	} else if err := deleteVXLAN(h, vx.Name); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, syncRoutes(h, want.Routes))
	return errors.Join(errs...)
}

func ensureVXLAN(h *netlink.Handle, vx vxlanSpec) (netlink.Link, error) {
	want := &netlink.Vxlan{
		LinkAttrs:    netlink.LinkAttrs{Name: vx.Name, HardwareAddr: vx.MAC, MTU: vx.MTU},
		VxlanId:      vx.VNI,
		VtepDevIndex: vx.ParentIndex,
		SrcAddr:      vx.Local.AsSlice(),
		Port:         vx.Port,
	}
	link, err := h.LinkByName(vx.Name)
	if err == nil {
		if have, ok := link.(*netlink.Vxlan); !ok || !vxlanMatches(have, want) {
			if err := h.LinkDel(link); err != nil {
				return nil, fmt.Errorf("replacing: %w", err)
			}
			link = nil
		}
	} else if !errors.As(err, new(netlink.LinkNotFoundError)) {
		return nil, err
	}
	if link == nil {
		if err := h.LinkAdd(want); err != nil {
			return nil, fmt.Errorf("creating: %w", err)
		}
		if link, err = h.LinkByName(vx.Name); err != nil {
			return nil, err
		}
	}
	if link.Attrs().MTU != vx.MTU && vx.MTU > 0 {
		if err := h.LinkSetMTU(link, vx.MTU); err != nil {
			return nil, err
		}
	}
	if err := syncAddr(h, link, vx.Addr); err != nil {
		return nil, err
	}
	if link.Attrs().Flags&net.FlagUp == 0 {
		if err := h.LinkSetUp(link); err != nil {
			return nil, err
		}
	}
	return link, nil
}

func vxlanMatches(have, want *netlink.Vxlan) bool {
	return have.VxlanId == want.VxlanId && have.VtepDevIndex == want.VtepDevIndex &&
		have.SrcAddr.Equal(want.SrcAddr) && have.Port == want.Port &&
		bytes.Equal(have.HardwareAddr, want.HardwareAddr) && !have.Learning
}

// syncAddr makes addr the only IPv4 address of link.
func syncAddr(h *netlink.Handle, link netlink.Link, addr netip.Prefix) error {
	addrs, err := h.AddrList(link, netlink.FAMILY_V4)
	if err != nil {
		return err
	}
	found := false
	for _, a := range addrs {
		if p, ok := prefixOf(a.IPNet); ok && p == addr {
			found = true
			continue
		}
		if err := h.AddrDel(link, &a); err != nil {
			return fmt.Errorf("removing %s: %w", a.IPNet, err)
		}
	}
	if found || !addr.IsValid() {
		return nil
	}
	return h.AddrAdd(link, &netlink.Addr{IPNet: ipNet(addr)})
}

func deleteVXLAN(h *netlink.Handle, name string) error {
	link, err := h.LinkByName(name)
	if errors.As(err, new(netlink.LinkNotFoundError)) {
		return nil
	}
	if err != nil {
		return err
	}
	if _, ok := link.(*netlink.Vxlan); !ok {
		return nil // not ours
	}
	return h.LinkDel(link)
}

func syncFDB(h *netlink.Handle, index int, want []FDB) error {
	have, err := h.NeighList(index, unix.AF_BRIDGE)
	if err != nil {
		return fmt.Errorf("listing FDB: %w", err)
	}
	wanted := map[string]bool{}
	var errs []error
	for _, f := range want {
		wanted[f.MAC+"/"+f.Dst.String()] = true
		mac, _ := net.ParseMAC(f.MAC)
		n := &netlink.Neigh{LinkIndex: index, Family: unix.AF_BRIDGE, State: netlink.NUD_PERMANENT,
			Flags: netlink.NTF_SELF, IP: f.Dst.AsSlice(), HardwareAddr: mac}
		if err := h.NeighSet(n); err != nil {
			errs = append(errs, fmt.Errorf("FDB %s -> %s: %w", f.MAC, f.Dst, err))
		}
	}
	for _, n := range have {
		if n.State&netlink.NUD_PERMANENT == 0 || n.IP == nil {
			continue
		}
		ip, _ := netip.AddrFromSlice(n.IP.To4())
		if wanted[n.HardwareAddr.String()+"/"+ip.String()] {
			continue
		}
		n.Flags |= netlink.NTF_SELF
		if err := h.NeighDel(&n); err != nil {
			errs = append(errs, fmt.Errorf("removing FDB %s -> %s: %w", n.HardwareAddr, n.IP, err))
		}
	}
	return errors.Join(errs...)
}

func syncNeighbors(h *netlink.Handle, index int, want []Neighbor) error {
	have, err := h.NeighList(index, netlink.FAMILY_V4)
	if err != nil {
		return fmt.Errorf("listing neighbours: %w", err)
	}
	wanted := map[netip.Addr]bool{}
	var errs []error
	for _, w := range want {
		wanted[w.IP] = true
		mac, _ := net.ParseMAC(w.MAC)
		n := &netlink.Neigh{LinkIndex: index, Family: netlink.FAMILY_V4, State: netlink.NUD_PERMANENT,
			IP: w.IP.AsSlice(), HardwareAddr: mac}
		if err := h.NeighSet(n); err != nil {
			errs = append(errs, fmt.Errorf("neighbour %s -> %s: %w", w.IP, w.MAC, err))
		}
	}
	for _, n := range have {
		ip, ok := netip.AddrFromSlice(n.IP.To4())
		if !ok || wanted[ip] {
			continue
		}
		if err := h.NeighDel(&n); err != nil {
			errs = append(errs, fmt.Errorf("removing neighbour %s: %w", ip, err))
		}
	}
	return errors.Join(errs...)
}

// syncRoutes makes the main table's routes marked RouteProtocol equal to want.
func syncRoutes(h *netlink.Handle, want []Route) error {
	have, err := h.RouteListFiltered(netlink.FAMILY_V4,
		&netlink.Route{Protocol: RouteProtocol, Table: unix.RT_TABLE_MAIN},
		netlink.RT_FILTER_PROTOCOL|netlink.RT_FILTER_TABLE)
	if err != nil {
		return fmt.Errorf("listing routes: %w", err)
	}
	wanted := map[netip.Prefix]bool{}
	var errs []error
	for _, r := range want {
		wanted[r.Dst] = true
		link, err := h.LinkByName(r.Device)
		if err != nil {
			errs = append(errs, fmt.Errorf("route to %s: device %s: %w", r.Dst, r.Device, err))
			continue
		}
		nr := &netlink.Route{
			LinkIndex: link.Attrs().Index,
			Dst:       ipNet(r.Dst),
			Gw:        r.Via.AsSlice(),
			Protocol:  RouteProtocol,
			Table:     unix.RT_TABLE_MAIN,
		}
		if r.OnLink {
			nr.Flags = int(netlink.FLAG_ONLINK)
		}
		if err := h.RouteReplace(nr); err != nil {
			errs = append(errs, fmt.Errorf("route to %s via %s dev %s: %w", r.Dst, r.Via, r.Device, err))
		}
	}
	for _, r := range have {
		p, ok := prefixOf(r.Dst)
		if ok && wanted[p] {
			continue
		}
		if err := h.RouteDel(&r); err != nil && !errors.Is(err, unix.ESRCH) {
			errs = append(errs, fmt.Errorf("removing route to %v: %w", r.Dst, err))
		}
	}
	return errors.Join(errs...)
}
