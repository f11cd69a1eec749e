package dns

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// fakeExchanger answers as a table of upstreams says: each upstream maps a question name
// to answer records (zone-file lines), an rcode, or an error.
type fakeExchanger struct {
	mu      sync.Mutex
	answers map[string]map[string][]string // upstream -> lower qname -> records
	rcodes  map[string]int                 // upstream -> rcode for every question
	down    map[string]bool                // upstream -> no answer
	calls   map[string]int                 // upstream -> queries received
}

func (f *fakeExchanger) exchange(_ context.Context, m *dns.Msg, upstream string) (*dns.Msg, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[upstream]++
	if f.down[upstream] {
		return nil, errors.New("i/o timeout")
	}
	r := new(dns.Msg)
	r.SetReply(m)
	if rc, ok := f.rcodes[upstream]; ok {
		r.Rcode = rc
		return r, nil
	}
	recs, ok := f.answers[upstream][m.Question[0].Name]
	if !ok {
		r.Rcode = dns.RcodeNameError
		soa, _ := dns.NewRR(". 60 IN SOA a.root-servers.net. nstld.verisign-grs.com. 1 1800 900 604800 86400")
		r.Ns = []dns.RR{soa}
		return r, nil
	}
	for _, l := range recs {
		rr, err := dns.NewRR(l)
		if err != nil {
			return nil, err
		}
		if rr.Header().Rrtype == m.Question[0].Qtype || rr.Header().Rrtype == dns.TypeCNAME {
			r.Answer = append(r.Answer, rr)
		}
	}
	return r, nil
}

func (f *fakeExchanger) callsTo(u string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[u]
}

func newTestHandler(t *testing.T, ex exchanger, upstreams []string, objs ...any) *handler {
	t.Helper()
	clock := &fakeClock{t: time.Unix(1000, 0)}
	ac := newAnswerCache(100, clock.now)
	m := newMetrics(nil, ac.len)
	return &handler{
		zone:    testZone(t, objs...),
		fwd:     &forwarder{upstreams: upstreams, ex: ex, cache: ac, timeout: time.Second, metrics: m},
		synced:  func() bool { return true },
		metrics: m,
	}
}

func query(name string, qtype uint16) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	return m
}

func TestHandlerForwardsAndCaches(t *testing.T) {
	t.Parallel()
	ex := &fakeExchanger{answers: map[string]map[string][]string{
		"u1:53": {"example.com.": {"example.com. 60 IN A 192.0.2.10"}},
	}}
	h := newTestHandler(t, ex, []string{"u1:53"})
	for i := range 3 {
		resp, source := h.handle(t.Context(), query("example.com.", dns.TypeA), true)
		if resp.Rcode != dns.RcodeSuccess || len(resp.Answer) != 1 || resp.Authoritative {
			t.Fatalf("query %d: %v", i, resp)
		}
		if want := map[bool]string{true: sourceForward, false: sourceCache}[i == 0]; source != want {
			t.Errorf("query %d source = %s, want %s", i, source, want)
		}
		if !resp.RecursionAvailable {
			t.Error("RA not set")
		}
	}
	if n := ex.callsTo("u1:53"); n != 1 {
		t.Errorf("upstream asked %d times, want 1", n)
	}
	resp, _ := h.handle(t.Context(), query("missing.example.", dns.TypeA), true)
	if resp.Rcode != dns.RcodeNameError {
		t.Errorf("forwarded NXDOMAIN came back as %s", dns.RcodeToString[resp.Rcode])
	}
}

func TestHandlerFailsOverBetweenUpstreams(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		ex    *fakeExchanger
		rcode int
	}{
		{"a dead first upstream is skipped", &fakeExchanger{down: map[string]bool{"u1:53": true},
			answers: map[string]map[string][]string{"u2:53": {"example.com.": {"example.com. 60 IN A 192.0.2.10"}}}}, dns.RcodeSuccess},
		{"a SERVFAIL from the first upstream is skipped", &fakeExchanger{rcodes: map[string]int{"u1:53": dns.RcodeServerFailure},
			answers: map[string]map[string][]string{"u2:53": {"example.com.": {"example.com. 60 IN A 192.0.2.10"}}}}, dns.RcodeSuccess},
		{"all upstreams dead is SERVFAIL", &fakeExchanger{down: map[string]bool{"u1:53": true, "u2:53": true}}, dns.RcodeServerFailure},
		{"all upstreams refusing passes the refusal on", &fakeExchanger{rcodes: map[string]int{"u1:53": dns.RcodeRefused, "u2:53": dns.RcodeRefused}}, dns.RcodeRefused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newTestHandler(t, tt.ex, []string{"u1:53", "u2:53"})
			resp, _ := h.handle(t.Context(), query("example.com.", dns.TypeA), true)
			if resp.Rcode != tt.rcode {
				t.Errorf("rcode = %s, want %s", dns.RcodeToString[resp.Rcode], dns.RcodeToString[tt.rcode])
			}
		})
	}
}

func TestHandlerNoUpstreamsIsServfail(t *testing.T) {
	t.Parallel()
	h := newTestHandler(t, &fakeExchanger{}, nil)
	if resp, _ := h.handle(t.Context(), query("example.com.", dns.TypeA), true); resp.Rcode != dns.RcodeServerFailure {
		t.Errorf("rcode = %s", dns.RcodeToString[resp.Rcode])
	}
}

func TestHandlerChasesExternalName(t *testing.T) {
	t.Parallel()
	ex := &fakeExchanger{answers: map[string]map[string][]string{
		"u1:53": {"example.com.": {"example.com. 60 IN A 192.0.2.10"}},
	}}
	h := newTestHandler(t, ex, []string{"u1:53"}, fixtures()...)
	tests := []struct {
		name   string
		qname  string
		qtype  uint16
		answer []string
	}{
		{"an external target is resolved upstream", "ext.default.svc.cluster.local.", dns.TypeA,
			[]string{"ext.default.svc.cluster.local. 30 IN CNAME example.com.", "example.com. 60 IN A 192.0.2.10"}},
		{"a target in the zone is resolved locally", "alias.default.svc.cluster.local.", dns.TypeA,
			[]string{"alias.default.svc.cluster.local. 30 IN CNAME web.default.svc.cluster.local.", "web.default.svc.cluster.local. 30 IN A 10.43.0.20"}},
		{"a CNAME question is not chased", "ext.default.svc.cluster.local.", dns.TypeCNAME,
			[]string{"ext.default.svc.cluster.local. 30 IN CNAME example.com."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, _ := h.handle(t.Context(), query(tt.qname, tt.qtype), true)
			if got, want := texts(resp.Answer), canon(t, tt.answer...); !equalTexts(got, want) {
				t.Errorf("answer:\n got %q\nwant %q", got, want)
			}
		})
	}
}

func TestHandlerTruncatesLargeUDPAnswers(t *testing.T) {
	t.Parallel()
	objs := []any{headlessService("default", "big")}
	var eps []ep
	for i := range 100 {
		eps = append(eps, ep{ip: fmt.Sprintf("10.42.%d.%d", i/200, i%200+1)})
	}
	objs = append(objs, slice("default", "big", "big-a", discoveryv1.AddressTypeIPv4, nil, eps...))
	h := newTestHandler(t, &fakeExchanger{}, nil, objs...)
	const name = "big.default.svc.cluster.local."

	resp, _ := h.handle(t.Context(), query(name, dns.TypeA), true)
	if !resp.Truncated || len(resp.Answer) >= 100 {
		t.Errorf("plain UDP: TC=%v with %d answers, want TC and fewer than 100", resp.Truncated, len(resp.Answer))
	}
	if packed, err := resp.Pack(); err != nil || len(packed) > 512 {
		t.Errorf("plain UDP response is %d bytes (err %v), want at most 512", len(packed), err)
	}

	big := query(name, dns.TypeA)
	big.SetEdns0(4096, false)
	resp, _ = h.handle(t.Context(), big, true)
	if resp.Truncated || len(resp.Answer) != 100 || resp.IsEdns0() == nil {
		t.Errorf("EDNS 4096: TC=%v with %d answers, OPT %v; want all 100 with OPT", resp.Truncated, len(resp.Answer), resp.IsEdns0())
	}

	resp, _ = h.handle(t.Context(), query(name, dns.TypeA), false)
	if resp.Truncated || len(resp.Answer) != 100 {
		t.Errorf("TCP: TC=%v with %d answers, want all 100", resp.Truncated, len(resp.Answer))
	}
}

func TestHandlerProtocolErrors(t *testing.T) {
	t.Parallel()
	h := newTestHandler(t, &fakeExchanger{}, nil, fixtures()...)
	two := query("web.default.svc.cluster.local.", dns.TypeA)
	two.Question = append(two.Question, two.Question[0])
	notify := query("web.default.svc.cluster.local.", dns.TypeA)
	notify.Opcode = dns.OpcodeNotify
	v1 := query("web.default.svc.cluster.local.", dns.TypeA)
	v1.SetEdns0(1232, false)
	v1.IsEdns0().SetVersion(1)
	chaos := query("web.default.svc.cluster.local.", dns.TypeA)
	chaos.Question[0].Qclass = dns.ClassCHAOS
	tests := []struct {
		name  string
		req   *dns.Msg
		rcode int
	}{
		{"two questions are a format error", two, dns.RcodeFormatError},
		{"NOTIFY is not implemented", notify, dns.RcodeNotImplemented},
		{"EDNS version 1 is BADVERS", v1, dns.RcodeBadVers},
		{"a cluster name in class CHAOS is refused", chaos, dns.RcodeRefused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, _ := h.handle(t.Context(), tt.req, true)
			if resp.Rcode != tt.rcode {
				t.Errorf("rcode = %s, want %s", dns.RcodeToString[resp.Rcode], dns.RcodeToString[tt.rcode])
			}
			if resp.Id != tt.req.Id {
				t.Error("response id differs from the query's")
			}
		})
	}
}

func TestHandlerBeforeSync(t *testing.T) {
	t.Parallel()
	ex := &fakeExchanger{answers: map[string]map[string][]string{
		"u1:53": {"example.com.": {"example.com. 60 IN A 192.0.2.10"}},
	}}
	h := newTestHandler(t, ex, []string{"u1:53"}, fixtures()...)
	h.synced = func() bool { return false }
	// Answering NXDOMAIN from an empty cache would be cached by clients as the truth.
	if resp, _ := h.handle(t.Context(), query("web.default.svc.cluster.local.", dns.TypeA), true); resp.Rcode != dns.RcodeServerFailure {
		t.Errorf("cluster name before sync: %s, want SERVFAIL", dns.RcodeToString[resp.Rcode])
	}
	if resp, _ := h.handle(t.Context(), query("example.com.", dns.TypeA), true); resp.Rcode != dns.RcodeSuccess {
		t.Errorf("forwarded name before sync: %s, want NOERROR", dns.RcodeToString[resp.Rcode])
	}
}

func TestHandlerAnswersReverseOrForwards(t *testing.T) {
	t.Parallel()
	ex := &fakeExchanger{answers: map[string]map[string][]string{
		"u1:53": {"1.2.0.192.in-addr.arpa.": {"1.2.0.192.in-addr.arpa. 60 IN PTR host.example."}},
	}}
	h := newTestHandler(t, ex, []string{"u1:53"}, append(fixtures(), pod("default", "p2", "10.42.0.99", false, corev1.PodRunning))...)
	resp, source := h.handle(t.Context(), query("99.0.42.10.in-addr.arpa.", dns.TypePTR), true)
	if source != sourceCluster || len(resp.Answer) != 1 || !resp.Authoritative {
		t.Errorf("pod PTR: source %s, %v", source, resp)
	}
	resp, source = h.handle(t.Context(), query("1.2.0.192.in-addr.arpa.", dns.TypePTR), true)
	if source != sourceForward || len(resp.Answer) != 1 {
		t.Errorf("foreign PTR: source %s, %v", source, resp)
	}
}
