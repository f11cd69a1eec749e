package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// renewBefore is how close to expiry a stored certificate may be and still be
// reused by LoadOrIssue.
const renewBefore = 30 * 24 * time.Hour

// CertSpec describes a leaf certificate to issue.
type CertSpec struct {
	// CommonName is the subject CN: the user name for client certificates.
	// Required.
	CommonName string
	// Organization is the subject O: the groups for client certificates.
	Organization []string
	// DNSNames are the DNS subject alternative names.
	DNSNames []string
	// IPs are the IP subject alternative names.
	IPs []net.IP
	// Usages are the extended key usages (ServerAuth, ClientAuth). Required:
	// a certificate without them would be valid for any purpose.
	Usages []x509.ExtKeyUsage
	// Validity is how long the certificate is valid; zero means one year.
	// NotAfter never exceeds the CA's own NotAfter.
	Validity time.Duration
}

// KeyPair is an issued certificate and its private key.
type KeyPair struct {
	// CertPEM is the certificate as PEM.
	CertPEM []byte
	// KeyPEM is the private key as PEM.
	KeyPEM []byte
	// TLS is the pair ready for tls.Config; TLS.Leaf is set.
	TLS tls.Certificate
}

// Issue creates a new key (ECDSA P-256) and a certificate for it, signed by
// ca, without touching the file system.
func (ca *CA) Issue(spec CertSpec) (*KeyPair, error) {
	if spec.CommonName == "" {
		return nil, errors.New("issuing certificate: empty common name")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("issuing certificate %q: generating key: %w", spec.CommonName, err)
	}
	tmpl := &x509.Certificate{
		Subject: pkix.Name{
			CommonName:   spec.CommonName,
			Organization: slices.Clone(spec.Organization),
		},
		DNSNames:    slices.Clone(spec.DNSNames),
		IPAddresses: slices.Clone(spec.IPs),
	}
	der, err := ca.issue(tmpl, key.Public(), spec.Usages, spec.Validity, time.Now())
	if err != nil {
		return nil, fmt.Errorf("issuing certificate %q: %w", spec.CommonName, err)
	}
	keyPEM, err := encodeKeyPEM(key)
	if err != nil {
		return nil, fmt.Errorf("issuing certificate %q: %w", spec.CommonName, err)
	}
	return newKeyPair(encodeCertPEM(der), keyPEM)
}

// LoadOrIssue returns the certificate stored as <dir>/<name>.crt and
// <dir>/<name>.key when it is still good for spec, and otherwise issues a new
// one with Issue and writes it (key 0600, certificate 0644, dir 0700 if
// created).
//
// A stored pair is reused only when the key matches the certificate, the
// certificate is signed by ca, it does not expire within 30 days, and its CN,
// organizations, DNS SANs, IP SANs and extended key usages equal the spec's as
// sets. A missing or mismatched file leads to a new certificate (a crash
// between the two writes leaves a mismatched pair); a file that exists but
// cannot be parsed is an error, since it points at a problem a human should
// see.
func (ca *CA) LoadOrIssue(dir, name string, spec CertSpec) (*KeyPair, error) {
	certPath := filepath.Join(dir, name+".crt")
	keyPath := filepath.Join(dir, name+".key")

	existing, err := loadKeyPair(certPath, keyPath)
	if err != nil {
		return nil, fmt.Errorf("loading certificate %q: %w", name, err)
	}
	if existing != nil && ca.reusable(existing.TLS.Leaf, spec, time.Now()) {
		return existing, nil
	}

	kp, err := ca.Issue(spec)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, pkiDirMode); err != nil {
		return nil, fmt.Errorf("writing certificate %q: %w", name, err)
	}
	if err := writeFileAtomic(keyPath, kp.KeyPEM, keyFileMode); err != nil {
		return nil, fmt.Errorf("writing certificate %q: %w", name, err)
	}
	if err := writeFileAtomic(certPath, kp.CertPEM, certFileMode); err != nil {
		return nil, fmt.Errorf("writing certificate %q: %w", name, err)
	}
	return kp, nil
}

// loadKeyPair reads a stored pair. It returns nil and no error when either
// file is missing or the key does not match the certificate, and an error when
// a file cannot be read or parsed.
func loadKeyPair(certPath, keyPath string) (*KeyPair, error) {
	certPEM, err := os.ReadFile(certPath)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading certificate: %w", err)
	}
	keyPEM, err := os.ReadFile(keyPath)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading private key: %w", err)
	}
	cert, err := parseCertPEM(certPEM)
	if err != nil {
		return nil, fmt.Errorf("certificate %s: %w", certPath, err)
	}
	key, err := parseKeyPEM(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("private key %s: %w", keyPath, err)
	}
	if !samePublicKey(key.Public(), cert.PublicKey) {
		return nil, nil
	}
	return newKeyPair(certPEM, keyPEM)
}

// newKeyPair builds a KeyPair from PEM, parsing the leaf.
func newKeyPair(certPEM, keyPEM []byte) (*KeyPair, error) {
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("building TLS key pair: %w", err)
	}
	// Go 1.23+ fills Leaf; parse it ourselves if an older behaviour returns.
	if pair.Leaf == nil {
		if pair.Leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return nil, fmt.Errorf("parsing certificate: %w", err)
		}
	}
	return &KeyPair{CertPEM: certPEM, KeyPEM: keyPEM, TLS: pair}, nil
}

// reusable reports whether the stored cert can stand for spec at now.
func (ca *CA) reusable(cert *x509.Certificate, spec CertSpec, now time.Time) bool {
	if cert.CheckSignatureFrom(ca.Cert) != nil {
		return false
	}
	if now.Add(renewBefore).After(cert.NotAfter) || now.Before(cert.NotBefore) {
		return false
	}
	return cert.Subject.CommonName == spec.CommonName &&
		sameSet(cert.Subject.Organization, spec.Organization, func(s string) string { return s }) &&
		sameSet(cert.DNSNames, spec.DNSNames, strings.ToLower) &&
		sameSet(cert.IPAddresses, spec.IPs, ipKey) &&
		sameSet(cert.ExtKeyUsage, spec.Usages, func(u x509.ExtKeyUsage) x509.ExtKeyUsage { return u })
}

// sameSet reports whether a and b hold the same elements, ignoring order and
// repeats, after mapping each through key.
func sameSet[T any, K comparable](a, b []T, key func(T) K) bool {
	set := func(s []T) map[K]struct{} {
		m := make(map[K]struct{}, len(s))
		for _, v := range s {
			m[key(v)] = struct{}{}
		}
		return m
	}
	sa, sb := set(a), set(b)
	if len(sa) != len(sb) {
		return false
	}
	for k := range sa {
		if _, ok := sb[k]; !ok {
			return false
		}
	}
	return true
}

// ipKey is a comparable form of ip in which the 4- and 16-byte forms of an
// IPv4 address are equal. Invalid input maps to the zero Addr.
func ipKey(ip net.IP) netip.Addr {
	a, _ := netip.AddrFromSlice(ip)
	return a.Unmap()
}

// ServingCertSpec returns the spec of the API server's serving certificate:
// CN kube-apiserver, usage ServerAuth, DNS names kubernetes,
// kubernetes.default, kubernetes.default.svc,
// kubernetes.default.svc.cluster.local, localhost and hostname, IPs 127.0.0.1,
// serviceIP (the first address of the service CIDR, 10.43.0.1 by default) and
// nodeIPs, plus extraSANs, each of which goes to the IPs when it parses as an
// IP address. Empty or nil entries are skipped and duplicates removed (DNS
// names case-insensitively); order is kept.
func ServingCertSpec(hostname string, nodeIPs []net.IP, extraSANs []string, serviceIP net.IP) CertSpec {
	var (
		dns     []string
		ips     []net.IP
		seenDNS = map[string]bool{}
		seenIP  = map[netip.Addr]bool{}
	)
	addDNS := func(name string) {
		name = strings.TrimSpace(name)
		if name == "" || seenDNS[strings.ToLower(name)] {
			return
		}
		seenDNS[strings.ToLower(name)] = true
		dns = append(dns, name)
	}
	addIP := func(ip net.IP) {
		k := ipKey(ip)
		if !k.IsValid() || seenIP[k] {
			return
		}
		seenIP[k] = true
		ips = append(ips, net.IP(k.AsSlice()))
	}

	for _, n := range []string{
		"kubernetes",
		"kubernetes.default",
		"kubernetes.default.svc",
		"kubernetes.default.svc.cluster.local",
		"localhost",
		hostname,
	} {
		addDNS(n)
	}
	addIP(net.IPv4(127, 0, 0, 1))
	addIP(serviceIP)
	for _, ip := range nodeIPs {
		addIP(ip)
	}
	for _, san := range extraSANs {
		if ip := net.ParseIP(strings.TrimSpace(san)); ip != nil {
			addIP(ip)
		} else {
			addDNS(san)
		}
	}
	return CertSpec{
		CommonName: "kube-apiserver",
		DNSNames:   dns,
		IPs:        ips,
		Usages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
}
