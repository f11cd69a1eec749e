package agent

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"os"
	"time"
)

// servingIdentity returns the kubelet API's serving certificate and the pool its clients
// are verified against: the given ones, or a self-signed certificate for the node and the
// CA of the agent's client configuration.
func servingIdentity(opts Options) (*tls.Certificate, *x509.CertPool, error) {
	pool := opts.ClientCA
	if pool == nil {
		pool = x509.NewCertPool()
		caData := opts.Config.TLSClientConfig.CAData
		if len(caData) == 0 && opts.Config.TLSClientConfig.CAFile != "" {
			var err error
			if caData, err = os.ReadFile(opts.Config.TLSClientConfig.CAFile); err != nil {
				return nil, nil, err
			}
		}
		if !pool.AppendCertsFromPEM(caData) {
			return nil, nil, errors.New("agent: the client configuration has no CA to verify the kubelet API's clients")
		}
	}
	if opts.KubeletServingCert != nil {
		return opts.KubeletServingCert, pool, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: opts.NodeName + "@" + time.Now().Format("20060102150405")},
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     time.Now().AddDate(1, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{opts.NodeName},
		IPAddresses:  []net.IP{net.ParseIP(opts.NodeIP)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool, nil
}
