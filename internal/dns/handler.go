package dns

import (
	"context"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// maxChase bounds how many CNAMEs an answer follows.
const maxChase = 8

// maxUDPResponse caps the size of UDP responses whatever buffer the client offers.
const maxUDPResponse = 4096

// handler turns queries into responses: cluster names from the zone, everything else
// through the forwarder. It does no socket I/O of its own.
type handler struct {
	zone    *zone
	fwd     *forwarder
	synced  func() bool
	metrics *metrics
	// base is the context queries run under (the server's); nil means Background.
	base context.Context
}

// handle builds the response to req. udp says the response goes back over UDP, where it
// must fit the client's buffer (512 bytes, or its EDNS size) or be truncated.
func (h *handler) handle(ctx context.Context, req *dns.Msg, udp bool) (*dns.Msg, string) {
	resp := new(dns.Msg)
	if req.Response || len(req.Question) != 1 {
		resp.SetRcode(req, dns.RcodeFormatError)
		return resp, sourceError
	}
	if req.Opcode != dns.OpcodeQuery {
		resp.SetRcode(req, dns.RcodeNotImplemented)
		return resp, sourceError
	}
	opt := req.IsEdns0()
	if opt != nil && opt.Version() != 0 {
		resp.SetRcode(req, dns.RcodeBadVers)
		resp.SetEdns0(upstreamUDPSize, false)
		return resp, sourceError
	}
	do := opt != nil && opt.Do()
	resp.SetReply(req)
	resp.RecursionAvailable = true
	source := h.answer(ctx, req.Question[0], do, resp)

	size := dns.MaxMsgSize
	if udp {
		size = dns.MinMsgSize
		if opt != nil {
			size = min(max(int(opt.UDPSize()), dns.MinMsgSize), maxUDPResponse)
		}
	}
	if opt != nil {
		resp.SetEdns0(upstreamUDPSize, do)
	}
	resp.Truncate(size)
	return resp, source
}

// answer fills resp's code and sections for q and says where the answer came from.
func (h *handler) answer(ctx context.Context, q dns.Question, do bool, resp *dns.Msg) string {
	name := strings.ToLower(dns.Fqdn(q.Name))
	if inZone(name, h.zone.origin) {
		if !h.synced() {
			resp.Rcode = dns.RcodeServerFailure
			return sourceError
		}
		if q.Qclass != dns.ClassINET && q.Qclass != dns.ClassANY {
			resp.Rcode = dns.RcodeRefused
			return sourceError
		}
		apply(resp, h.zone.resolve(q))
		h.chase(ctx, q, do, resp)
		return sourceCluster
	}
	if (strings.HasSuffix(name, ".in-addr.arpa.") || strings.HasSuffix(name, ".ip6.arpa.")) && h.synced() {
		if res, ok := h.zone.reverse(q); ok {
			apply(resp, res)
			return sourceCluster
		}
	}
	m, hit, err := h.fwd.forward(ctx, q, do)
	if err != nil {
		resp.Rcode = dns.RcodeServerFailure
		return sourceError
	}
	resp.Rcode = m.Rcode
	resp.Answer, resp.Ns, resp.Extra = m.Answer, m.Ns, withoutOPT(m.Extra)
	resp.AuthenticatedData = m.AuthenticatedData
	if hit {
		return sourceCache
	}
	return sourceForward
}

// chase follows a CNAME that ends the answer (an ExternalName Service) to the records the
// question asked for, as a recursive resolver does: stub resolvers do not follow CNAMEs
// themselves. Targets in the zone are answered locally, others forwarded.
func (h *handler) chase(ctx context.Context, q dns.Question, do bool, resp *dns.Msg) {
	if q.Qtype == dns.TypeCNAME || q.Qtype == dns.TypeANY {
		return
	}
	for range maxChase {
		if len(resp.Answer) == 0 {
			return
		}
		cname, ok := resp.Answer[len(resp.Answer)-1].(*dns.CNAME)
		if !ok {
			return
		}
		next := dns.Question{Name: cname.Target, Qtype: q.Qtype, Qclass: q.Qclass}
		if inZone(strings.ToLower(cname.Target), h.zone.origin) {
			res := h.zone.resolve(next)
			resp.Rcode = res.rcode
			resp.Answer = append(resp.Answer, res.answer...)
			resp.Ns, resp.Extra = res.ns, res.extra
			continue
		}
		m, _, err := h.fwd.forward(ctx, next, do)
		if err != nil {
			resp.Rcode = dns.RcodeServerFailure
			return
		}
		resp.Rcode = m.Rcode
		resp.Answer = append(resp.Answer, m.Answer...)
		resp.Ns, resp.Extra = m.Ns, withoutOPT(m.Extra)
		if len(m.Answer) > 0 {
			resp.Ns = nil
		}
		// The rest of the chain is not the zone's to vouch for.
		resp.Authoritative = false
		return
	}
}

func apply(resp *dns.Msg, res result) {
	resp.Rcode = res.rcode
	resp.Answer, resp.Ns, resp.Extra = res.answer, res.ns, res.extra
	resp.Authoritative = res.authoritative
}

// ServeDNS is the miekg/dns entry point: handle, write, count.
func (h *handler) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	start := time.Now()
	udp := w.LocalAddr().Network() == "udp"
	proto := "tcp"
	if udp {
		proto = "udp"
	}
	qtype := "other"
	if len(req.Question) == 1 {
		qtype = typeLabel(req.Question[0].Qtype)
	}
	h.metrics.requests.WithLabelValues(proto, qtype).Inc()
	base := h.base
	if base == nil {
		base = context.Background()
	}
	ctx, cancel := context.WithTimeout(base, 5*time.Second)
	resp, source := h.handle(ctx, req, udp)
	cancel()
	_ = w.WriteMsg(resp)
	h.metrics.responses.WithLabelValues(source, rcodeLabel(resp.Rcode)).Inc()
	h.metrics.duration.WithLabelValues(source).Observe(time.Since(start).Seconds())
}
