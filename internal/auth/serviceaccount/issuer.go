package serviceaccount

import (
	"crypto"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/utils/clock"

	"capstan/internal/auth/jwt"
)

// IssuerOptions configures an Issuer.
type IssuerOptions struct {
	// Issuer is the iss claim of bound tokens. Default DefaultIssuer.
	Issuer string
	// Key signs the tokens: RSA (RS256) or ECDSA (ES256/384/512). Required.
	Key crypto.Signer
	// Clock. Default real.
	Clock clock.PassiveClock
}

// Issuer signs service-account tokens.
type Issuer struct {
	iss    string
	signer *jwt.Signer
	clock  clock.PassiveClock
}

// NewIssuer returns an Issuer.
func NewIssuer(opts IssuerOptions) (*Issuer, error) {
	if opts.Issuer == "" {
		opts.Issuer = DefaultIssuer
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	signer, err := jwt.NewSigner(opts.Key)
	if err != nil {
		return nil, fmt.Errorf("service-account token issuer: %w", err)
	}
	return &Issuer{iss: opts.Issuer, signer: signer, clock: opts.Clock}, nil
}

// PublicKey is the key that verifies the issuer's tokens.
func (i *Issuer) PublicKey() jwt.PublicKey { return i.signer.PublicKey() }

// BoundToken is what a bound token says.
type BoundToken struct {
	// ServiceAccount the token identifies. Required.
	ServiceAccount *corev1.ServiceAccount
	// Audiences of the token. Required.
	Audiences []string
	// Lifetime of the token. Required.
	Lifetime time.Duration
	// WarnAfter, when positive, is written as the warnafter claim (now + WarnAfter).
	WarnAfter time.Duration
	// Pod, Secret and Node the token is bound to, if any. A pod-bound token may name the
	// pod's node too.
	Pod, Secret, Node *Ref
}

// IssueBound signs a bound token; it returns the token and its issue time.
func (i *Issuer) IssueBound(b BoundToken) (string, time.Time, error) {
	sa := b.ServiceAccount
	if sa == nil || len(b.Audiences) == 0 || b.Lifetime <= 0 {
		return "", time.Time{}, errors.New("service-account token: service account, audiences and lifetime are required")
	}
	now := i.clock.Now()
	k := &kubernetesClaims{
		Namespace:      sa.Namespace,
		ServiceAccount: Ref{Name: sa.Name, UID: string(sa.UID)},
		Pod:            b.Pod, Secret: b.Secret, Node: b.Node,
	}
	if b.WarnAfter > 0 {
		k.WarnAfter = jwt.NewNumericDate(now.Add(b.WarnAfter))
	}
	c := claims{
		Audience: b.Audiences,
		TimeClaims: jwt.TimeClaims{
			Expiry: jwt.NewNumericDate(now.Add(b.Lifetime)), IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now),
		},
		Issuer:     i.iss,
		ID:         string(uuid.NewUUID()),
		Kubernetes: k,
		Subject:    MakeUsername(sa.Namespace, sa.Name),
	}
	tok, err := i.signer.Sign(c)
	if err != nil {
		return "", time.Time{}, err
	}
	return tok, now, nil
}

// IssueLegacy signs the token of a Secret of type kubernetes.io/service-account-token:
// issuer "kubernetes/serviceaccount", no audience, no expiry.
func (i *Issuer) IssueLegacy(sa *corev1.ServiceAccount, secretName string) (string, error) {
	return i.signer.Sign(claims{
		Issuer: LegacyIssuer,
		legacyClaims: legacyClaims{
			Namespace: sa.Namespace, SecretName: secretName,
			ServiceAccountName: sa.Name, ServiceAccountUID: string(sa.UID),
		},
		Subject: MakeUsername(sa.Namespace, sa.Name),
	})
}
