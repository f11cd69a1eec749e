package server

import (
	"crypto"
	"fmt"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spf13/pflag"

	"capstan/internal/apiserver"
	"capstan/internal/pki"
)

// ServiceAccountOptions configure service-account tokens, with upstream's flags.
type ServiceAccountOptions struct {
	// SigningKeyFile holds the private key that signs tokens (--service-account-signing-key-file).
	// Default <data-dir>/server/tls/service.key, created (RSA 2048) when missing; a named
	// file must exist.
	SigningKeyFile string
	// KeyFiles hold more keys that verify tokens, e.g. one being rotated out
	// (--service-account-key-file).
	KeyFiles []string
	// Issuers: the first is the iss of new tokens, all are accepted
	// (--service-account-issuer). Default https://kubernetes.default.svc.cluster.local.
	Issuers []string
	// JWKSURI overrides the jwks_uri of the discovery document (--service-account-jwks-uri).
	JWKSURI string
	// APIAudiences are the audiences of tokens for the API server (--api-audiences).
	// Default: Issuers.
	APIAudiences []string
	// MaxTokenExpiration caps requested lifetimes (--service-account-max-token-expiration);
	// 0: none.
	MaxTokenExpiration time.Duration
	// DisableTokenExtension stops extending the kubelet's pod tokens to a year
	// (--service-account-extend-token-expiration=false).
	DisableTokenExtension bool
}

// addServiceAccountFlags adds upstream's service-account flags of kube-apiserver.
func addServiceAccountFlags(f *pflag.FlagSet, o *ServiceAccountOptions) {
	f.StringVar(&o.SigningKeyFile, "service-account-signing-key-file", "", "PEM private key that signs service-account tokens (default: <data-dir>/server/tls/service.key, created when missing)")
	f.StringSliceVar(&o.KeyFiles, "service-account-key-file", nil, "PEM files with more keys that verify service-account tokens (repeatable)")
	f.StringSliceVar(&o.Issuers, "service-account-issuer", nil, "Issuer of service-account tokens; the first issues, all are accepted (default https://kubernetes.default.svc.cluster.local)")
	f.StringVar(&o.JWKSURI, "service-account-jwks-uri", "", "jwks_uri of /.well-known/openid-configuration (default: https://<advertise address>:<port>/openid/v1/jwks)")
	f.StringSliceVar(&o.APIAudiences, "api-audiences", nil, "Audiences of tokens for the API server (default: the issuers)")
	f.DurationVar(&o.MaxTokenExpiration, "service-account-max-token-expiration", 0, "Longest lifetime of a requested token (0: no limit)")
	extend := true
	f.Var(invertedBool{&o.DisableTokenExtension, &extend}, "service-account-extend-token-expiration", "Issue the kubelet's pod tokens for a year, warning after the requested time")
	f.Lookup("service-account-extend-token-expiration").NoOptDefVal = "true"
}

// serviceAccountKeys are the loaded keys.
type serviceAccountKeys struct {
	key        crypto.Signer
	publicKeys []crypto.PublicKey
}

// load reads (or creates) the signing key and reads the verification keys.
func (o ServiceAccountOptions) load(tlsDir string) (serviceAccountKeys, error) {
	var out serviceAccountKeys
	var err error
	if o.SigningKeyFile == "" {
		out.key, err = pki.LoadOrCreateServiceAccountKey(filepath.Join(tlsDir, "service.key"))
	} else {
		out.key, err = pki.LoadServiceAccountKey(o.SigningKeyFile)
	}
	if err != nil {
		return out, fmt.Errorf("--service-account-signing-key-file: %w", err)
	}
	for _, f := range o.KeyFiles {
		keys, err := pki.LoadServiceAccountPublicKeys(f)
		if err != nil {
			return out, fmt.Errorf("--service-account-key-file: %w", err)
		}
		out.publicKeys = append(out.publicKeys, keys...)
	}
	return out, nil
}

// apply sets the API server's service-account options.
func (o ServiceAccountOptions) apply(a *apiserver.Options, keys serviceAccountKeys) {
	a.ServiceAccountKey, a.ServiceAccountPublicKeys = keys.key, keys.publicKeys
	a.ServiceAccountIssuers, a.ServiceAccountJWKSURI, a.APIAudiences = o.Issuers, o.JWKSURI, o.APIAudiences
	a.ServiceAccountMaxTokenExpiration = o.MaxTokenExpiration
	a.DisableServiceAccountTokenExtension = o.DisableTokenExtension
}

// invertedBool is a boolean flag stored negated (the Options' zero value is the default).
type invertedBool struct {
	negated *bool
	value   *bool
}

func (b invertedBool) String() string {
	if b.value == nil {
		return "true"
	}
	return fmt.Sprint(*b.value)
}

func (b invertedBool) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Errorf("must be true or false, got %q", s)
	}
	*b.value, *b.negated = v, !v
	return nil
}

func (b invertedBool) Type() string { return "bool" }
