package nodeipam

import (
	"errors"
	"fmt"
	"math/big"
	"net/netip"
)

// ErrFull is returned by AllocateNext when every subnet of the range is taken.
var ErrFull = errors.New("CIDR allocation failed; there are no remaining CIDRs left to allocate in the accepted range")

// maxSubnetBits bounds the number of subnets of one range (2^16), as upstream does.
const maxSubnetBits = 16

// CIDRSet hands out the subnets of size maskSize of one cluster range. It is not safe for
// concurrent use; the controller serialises access.
type CIDRSet struct {
	base     netip.Prefix
	maskSize int
	count    int
	used     []bool
	next     int // where the next search starts, so freed ranges are not reused at once
	free     int
}

// NewCIDRSet returns the set of /maskSize subnets of cluster.
func NewCIDRSet(cluster netip.Prefix, maskSize int) (*CIDRSet, error) {
	cluster = cluster.Masked()
	bits := cluster.Addr().BitLen()
	if maskSize < cluster.Bits() || maskSize > bits {
		return nil, fmt.Errorf("node CIDR mask size %d does not fit cluster CIDR %s", maskSize, cluster)
	}
	if maskSize-cluster.Bits() > maxSubnetBits {
		return nil, fmt.Errorf("node CIDR mask size %d is too big for cluster CIDR %s: at most %d bits of subnets", maskSize, cluster, maxSubnetBits)
	}
	n := 1 << (maskSize - cluster.Bits())
	return &CIDRSet{base: cluster, maskSize: maskSize, count: n, used: make([]bool, n), free: n}, nil
}

// Contains reports whether p is one of the set's subnets.
func (s *CIDRSet) Contains(p netip.Prefix) bool {
	_, ok := s.index(p)
	return ok
}

// Free is the number of subnets left.
func (s *CIDRSet) Free() int { return s.free }

// AllocateNext takes the next free subnet.
func (s *CIDRSet) AllocateNext() (netip.Prefix, error) {
	for i := 0; i < s.count; i++ {
		idx := (s.next + i) % s.count
		if !s.used[idx] {
			s.used[idx] = true
			s.free--
			s.next = (idx + 1) % s.count
			return s.prefix(idx), nil
		}
	}
	return netip.Prefix{}, ErrFull
}

// Occupy marks p taken. It reports false when p is not a subnet of the set or is taken
// already.
func (s *CIDRSet) Occupy(p netip.Prefix) bool {
	idx, ok := s.index(p)
	if !ok || s.used[idx] {
		return false
	}
	s.used[idx] = true
	s.free--
	return true
}

// Release gives p back; releasing a free or foreign subnet does nothing.
func (s *CIDRSet) Release(p netip.Prefix) {
	if idx, ok := s.index(p); ok && s.used[idx] {
		s.used[idx] = false
		s.free++
	}
}

func (s *CIDRSet) prefix(idx int) netip.Prefix {
	bits := s.base.Addr().BitLen()
	v := new(big.Int).SetBytes(s.base.Addr().AsSlice())
	v.Or(v, new(big.Int).Lsh(big.NewInt(int64(idx)), uint(bits-s.maskSize)))
	buf := v.FillBytes(make([]byte, bits/8))
	addr, _ := netip.AddrFromSlice(buf)
	return netip.PrefixFrom(addr, s.maskSize)
}

// index is the position of p in the set; false when p is not exactly one of its subnets.
func (s *CIDRSet) index(p netip.Prefix) (int, bool) {
	if p.Bits() != s.maskSize || p.Addr().BitLen() != s.base.Addr().BitLen() || p != p.Masked() || !s.base.Contains(p.Addr()) {
		return 0, false
	}
	bits := s.base.Addr().BitLen()
	v := new(big.Int).SetBytes(p.Addr().AsSlice())
	v.Rsh(v, uint(bits-s.maskSize))
	mask := new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), uint(s.maskSize-s.base.Bits())), big.NewInt(1))
	v.And(v, mask)
	return int(v.Int64()), true
}
