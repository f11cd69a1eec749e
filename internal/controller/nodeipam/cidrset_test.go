package nodeipam

import (
	"errors"
	"net/netip"
	"slices"
	"testing"
)

func TestCIDRSet(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, cluster string
		mask          int
		want          []string // successive AllocateNext results
		full          bool     // the allocation after want fails
	}{
		{name: "a /16 gives /24s in order", cluster: "10.42.0.0/16", mask: 24, want: []string{"10.42.0.0/24", "10.42.1.0/24", "10.42.2.0/24"}},
		{name: "a /30 in /31s runs out after two", cluster: "10.0.0.0/30", mask: 31, want: []string{"10.0.0.0/31", "10.0.0.2/31"}, full: true},
		{name: "the cluster range is masked first", cluster: "10.42.7.9/16", mask: 24, want: []string{"10.42.0.0/24"}},
		{name: "IPv6 ranges work", cluster: "fd00:42::/56", mask: 64, want: []string{"fd00:42::/64", "fd00:42:0:1::/64"}},
		{name: "the mask may equal the range", cluster: "10.1.0.0/24", mask: 24, want: []string{"10.1.0.0/24"}, full: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewCIDRSet(netip.MustParsePrefix(tt.cluster), tt.mask)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				got, err := s.AllocateNext()
				if err != nil || got.String() != w {
					t.Fatalf("AllocateNext = %v, %v; want %s", got, err, w)
				}
			}
			if _, err := s.AllocateNext(); tt.full != errors.Is(err, ErrFull) {
				t.Errorf("after %d allocations: err %v, want full=%v", len(tt.want), err, tt.full)
			}
		})
	}
}

func TestCIDRSetRejectsBadMasks(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		cluster string
		mask    int
	}{{"10.42.0.0/16", 8}, {"10.42.0.0/16", 33}, {"10.0.0.0/8", 25}} {
		if _, err := NewCIDRSet(netip.MustParsePrefix(tt.cluster), tt.mask); err == nil {
			t.Errorf("NewCIDRSet(%s, %d) succeeded", tt.cluster, tt.mask)
		}
	}
}

func TestCIDRSetOccupyAndRelease(t *testing.T) {
	t.Parallel()
	s, _ := NewCIDRSet(netip.MustParsePrefix("10.42.0.0/22"), 24)
	if !s.Occupy(netip.MustParsePrefix("10.42.0.0/24")) {
		t.Fatal("occupying a free subnet failed")
	}
	if s.Occupy(netip.MustParsePrefix("10.42.0.0/24")) {
		t.Error("a subnet was occupied twice")
	}
	for _, foreign := range []string{"10.43.0.0/24", "10.42.0.0/25", "10.42.0.128/24"} {
		if s.Occupy(netip.MustParsePrefix(foreign)) {
			t.Errorf("occupied %s, which is not a subnet of the set", foreign)
		}
	}
	got, _ := s.AllocateNext()
	if got.String() != "10.42.1.0/24" {
		t.Errorf("allocation skipped no occupied subnet: got %s", got)
	}
	s.Release(netip.MustParsePrefix("10.42.0.0/24"))
	if s.Free() != 3 {
		t.Errorf("free = %d after a release, want 3", s.Free())
	}
	// A released subnet is handed out only after the ones never used.
	var order []string
	for s.Free() > 0 {
		p, _ := s.AllocateNext()
		order = append(order, p.String())
	}
	if want := []string{"10.42.2.0/24", "10.42.3.0/24", "10.42.0.0/24"}; !slices.Equal(order, want) {
		t.Errorf("allocation order %v, want %v", order, want)
	}
}

func TestAllocator(t *testing.T) {
	t.Parallel()
	a, err := NewAllocator("10.42.0.0/23, fd00::/63", 24)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Occupy("old", []string{"10.42.0.0/24", "fd00::/64"}); err != nil {
		t.Fatal(err)
	}
	got, err := a.Allocate("new")
	if err != nil || len(got) != 2 || got[0].String() != "10.42.1.0/24" || got[1].String() != "fd00:0:0:1::/64" {
		t.Fatalf("Allocate(new) = %v, %v; want the free IPv4 and IPv6 subnets", got, err)
	}
	again, _ := a.Allocate("new")
	if !slices.Equal(again, got) {
		t.Errorf("a second Allocate for the same node changed its subnets: %v, then %v", got, again)
	}
	if _, err := a.Allocate("third"); !errors.Is(err, ErrFull) {
		t.Errorf("Allocate on a full range: %v, want ErrFull", err)
	}
	if err := a.Occupy("dup", []string{"10.42.1.0/24"}); err == nil {
		t.Error("occupying another node's subnet succeeded")
	}
	a.Release("old")
	if got, err := a.Allocate("third"); err != nil || got[0].String() != "10.42.0.0/24" {
		t.Errorf("after releasing a node: Allocate = %v, %v; want its old subnets", got, err)
	}
}
