package dns

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/sync/singleflight"
)

// exchanger sends one query to one upstream and returns its answer.
type exchanger interface {
	exchange(ctx context.Context, m *dns.Msg, upstream string) (*dns.Msg, error)
}

// netExchanger asks over UDP and repeats the question over TCP when the answer comes back
// truncated.
type netExchanger struct {
	udp, tcp *dns.Client
}

func newNetExchanger(timeout time.Duration) *netExchanger {
	return &netExchanger{
		udp: &dns.Client{Net: "udp", Timeout: timeout, UDPSize: upstreamUDPSize},
		tcp: &dns.Client{Net: "tcp", Timeout: timeout},
	}
}

func (e *netExchanger) exchange(ctx context.Context, m *dns.Msg, upstream string) (*dns.Msg, error) {
	r, _, err := e.udp.ExchangeContext(ctx, m, upstream)
	if err != nil || !r.Truncated {
		return r, err
	}
	r, _, err = e.tcp.ExchangeContext(ctx, m, upstream)
	return r, err
}

// upstreamUDPSize is the EDNS buffer size offered to upstreams: the size that avoids IP
// fragmentation on common paths (DNS flag day 2020).
const upstreamUDPSize = 1232

// forwarder answers names outside the cluster from the host's resolvers, through a cache,
// with concurrent identical questions sharing one upstream query.
type forwarder struct {
	upstreams []string
	ex        exchanger
	cache     *answerCache
	timeout   time.Duration
	group     singleflight.Group
	metrics   *metrics
}

var errNoUpstreams = errors.New("no upstream resolvers")

// forward answers q; the message returned is the caller's to change. hit reports whether
// it came from the cache.
func (f *forwarder) forward(ctx context.Context, q dns.Question, do bool) (msg *dns.Msg, hit bool, err error) {
	key := keyOf(q, do)
	if m, ok := f.cache.get(key); ok {
		f.metrics.cacheHits.Inc()
		return m, true, nil
	}
	f.metrics.cacheMisses.Inc()
	if len(f.upstreams) == 0 {
		return nil, false, errNoUpstreams
	}
	flightKey := key.name + "/" + strconv.Itoa(int(key.qtype)) + "/" + strconv.Itoa(int(key.qclass)) + "/" + strconv.FormatBool(do)
	v, err, _ := f.group.Do(flightKey, func() (any, error) {
		// The query outlives a caller that gives up: the others sharing it still want it.
		qctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), f.timeout*time.Duration(len(f.upstreams)))
		defer cancel()
		m, err := f.ask(qctx, q, do)
		if err != nil {
			return nil, err
		}
		f.cache.put(key, m)
		return m, nil
	})
	if err != nil {
		return nil, false, err
	}
	return v.(*dns.Msg).Copy(), false, nil
}

// ask tries the upstreams in order until one gives an answer other than SERVFAIL or
// REFUSED; with none, it returns the last such answer or the last error.
func (f *forwarder) ask(ctx context.Context, q dns.Question, do bool) (*dns.Msg, error) {
	req := new(dns.Msg)
	req.SetQuestion(q.Name, q.Qtype)
	req.Question[0].Qclass = q.Qclass
	req.RecursionDesired = true
	req.SetEdns0(upstreamUDPSize, do)
	var last *dns.Msg
	var lastErr error
	for _, u := range f.upstreams {
		uctx, cancel := context.WithTimeout(ctx, f.timeout)
		start := time.Now()
		r, err := f.ex.exchange(uctx, req, u)
		cancel()
		f.metrics.forwardDuration.Observe(time.Since(start).Seconds())
		if err != nil {
			f.metrics.forwardErrors.Inc()
			lastErr = fmt.Errorf("asking %s: %w", u, err)
			continue
		}
		if r.Id != req.Id {
			lastErr = fmt.Errorf("asking %s: answer id mismatch", u)
			continue
		}
		if r.Rcode == dns.RcodeServerFailure || r.Rcode == dns.RcodeRefused {
			last = r
			continue
		}
		return r, nil
	}
	if last != nil {
		return last, nil
	}
	return nil, lastErr
}
