package dns

import (
	"testing"
	"time"

	"github.com/miekg/dns"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func msgWith(t *testing.T, rcode int, answer []string, ns []string) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion("example.com.", dns.TypeA)
	m.Response = true
	m.Rcode = rcode
	for _, l := range answer {
		rr, err := dns.NewRR(l)
		if err != nil {
			t.Fatal(err)
		}
		m.Answer = append(m.Answer, rr)
	}
	for _, l := range ns {
		rr, err := dns.NewRR(l)
		if err != nil {
			t.Fatal(err)
		}
		m.Ns = append(m.Ns, rr)
	}
	return m
}

const soa300min10 = "example.com. 300 IN SOA ns.example.com. h.example.com. 1 2 3 4 10"

func TestCacheTTL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		msg  func(t *testing.T) *dns.Msg
		want time.Duration
	}{
		{"a positive answer lives as long as its shortest TTL", func(t *testing.T) *dns.Msg {
			return msgWith(t, dns.RcodeSuccess, []string{"example.com. 60 IN A 192.0.2.1", "example.com. 40 IN A 192.0.2.2"}, nil)
		}, 40 * time.Second},
		{"long TTLs are capped at an hour", func(t *testing.T) *dns.Msg {
			return msgWith(t, dns.RcodeSuccess, []string{"example.com. 86400 IN A 192.0.2.1"}, nil)
		}, time.Hour},
		{"TTL 0 is not cached", func(t *testing.T) *dns.Msg {
			return msgWith(t, dns.RcodeSuccess, []string{"example.com. 0 IN A 192.0.2.1"}, nil)
		}, 0},
		{"NXDOMAIN lives min(SOA TTL, SOA minimum)", func(t *testing.T) *dns.Msg {
			return msgWith(t, dns.RcodeNameError, nil, []string{soa300min10})
		}, 10 * time.Second},
		{"NODATA lives min(SOA TTL, SOA minimum)", func(t *testing.T) *dns.Msg {
			return msgWith(t, dns.RcodeSuccess, nil, []string{"example.com. 7 IN SOA ns.example.com. h.example.com. 1 2 3 4 3600"})
		}, 7 * time.Second},
		{"a negative answer without SOA lives the default negative TTL", func(t *testing.T) *dns.Msg {
			return msgWith(t, dns.RcodeNameError, nil, nil)
		}, 5 * time.Second},
		{"SERVFAIL is not cached", func(t *testing.T) *dns.Msg {
			return msgWith(t, dns.RcodeServerFailure, nil, nil)
		}, 0},
		{"a truncated answer is not cached", func(t *testing.T) *dns.Msg {
			m := msgWith(t, dns.RcodeSuccess, []string{"example.com. 60 IN A 192.0.2.1"}, nil)
			m.Truncated = true
			return m
		}, 0},
		{"the OPT record does not count", func(t *testing.T) *dns.Msg {
			m := msgWith(t, dns.RcodeSuccess, []string{"example.com. 60 IN A 192.0.2.1"}, nil)
			m.SetEdns0(1232, false)
			return m
		}, 60 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := cacheTTL(tt.msg(t), time.Hour, 30*time.Minute, 5*time.Second); got != tt.want {
				t.Errorf("cacheTTL = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCacheAgesTTLsAndExpires(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{t: time.Unix(1000, 0)}
	c := newAnswerCache(10, clock.now)
	q := dns.Question{Name: "Example.COM.", Qtype: dns.TypeA, Qclass: dns.ClassINET}
	m := msgWith(t, dns.RcodeSuccess, []string{"example.com. 60 IN A 192.0.2.1"}, nil)
	m.SetEdns0(1232, false)
	c.put(keyOf(q, false), m)

	clock.advance(25 * time.Second)
	got, ok := c.get(keyOf(dns.Question{Name: "example.com.", Qtype: dns.TypeA, Qclass: dns.ClassINET}, false))
	if !ok {
		t.Fatal("miss after 25s of 60")
	}
	if ttl := got.Answer[0].Header().Ttl; ttl != 35 {
		t.Errorf("TTL after 25s = %d, want 35", ttl)
	}
	if got.IsEdns0() != nil {
		t.Error("the cached answer kept the upstream's OPT record")
	}
	got.Answer[0].Header().Ttl = 999 // the copy is the caller's
	if again, _ := c.get(keyOf(q, false)); again.Answer[0].Header().Ttl != 35 {
		t.Error("changing a returned answer changed the cache")
	}
	if _, ok := c.get(keyOf(q, true)); ok {
		t.Error("a DO query was answered from a non-DO entry")
	}
	clock.advance(35 * time.Second)
	if _, ok := c.get(keyOf(q, false)); ok {
		t.Error("hit after the TTL ran out")
	}
	if c.len() != 0 {
		t.Errorf("expired entry kept, len = %d", c.len())
	}
}

func TestCacheStaysWithinItsSize(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{t: time.Unix(1000, 0)}
	c := newAnswerCache(3, clock.now)
	for i, name := range []string{"a.", "b.", "c.", "d.", "e."} {
		m := msgWith(t, dns.RcodeSuccess, []string{name + " 60 IN A 192.0.2.1"}, nil)
		c.put(keyOf(dns.Question{Name: name, Qtype: dns.TypeA, Qclass: dns.ClassINET}, false), m)
		if want := min(i+1, 3); c.len() != want {
			t.Fatalf("after %d puts len = %d, want %d", i+1, c.len(), want)
		}
	}
	if _, ok := c.get(keyOf(dns.Question{Name: "e.", Qtype: dns.TypeA, Qclass: dns.ClassINET}, false)); !ok {
		t.Error("the newest entry was evicted")
	}
}
