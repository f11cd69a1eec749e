package serviceaccount

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/clock"

	"capstan/internal/auth/authn"
	"capstan/internal/auth/jwt"
)

// Getter reads the objects tokens name. Implementations read caches first; a missing
// object is an apierrors NotFound.
type Getter interface {
	GetServiceAccount(ctx context.Context, namespace, name string) (*corev1.ServiceAccount, error)
	GetPod(ctx context.Context, namespace, name string) (*corev1.Pod, error)
	GetSecret(ctx context.Context, namespace, name string) (*corev1.Secret, error)
	GetNode(ctx context.Context, name string) (*corev1.Node, error)
}

// AuthenticatorOptions configures an Authenticator.
type AuthenticatorOptions struct {
	// Issuers accepted on bound tokens. Default [DefaultIssuer]. Legacy tokens
	// (LegacyIssuer) are always accepted.
	Issuers []string
	// Keys verify signatures. Required.
	Keys []jwt.PublicKey
	// APIAudiences are the audiences of requests to the API server, and of legacy
	// tokens. Default: Issuers.
	APIAudiences []string
	// Getter reads the service accounts and bound objects. Required.
	Getter Getter
	// Clock. Default real.
	Clock clock.PassiveClock
}

// Authenticator authenticates service-account tokens (authn.Token).
type Authenticator struct {
	opts AuthenticatorOptions
}

// NewAuthenticator returns an Authenticator.
func NewAuthenticator(opts AuthenticatorOptions) (*Authenticator, error) {
	if len(opts.Issuers) == 0 {
		opts.Issuers = []string{DefaultIssuer}
	}
	if len(opts.APIAudiences) == 0 {
		opts.APIAudiences = opts.Issuers
	}
	if len(opts.Keys) == 0 || opts.Getter == nil {
		return nil, errors.New("service-account authenticator: keys and a getter are required")
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	return &Authenticator{opts: opts}, nil
}

// Errors of tokens whose objects are gone, as upstream words them.
var (
	errInvalidated       = errors.New("service account token has been invalidated")
	errLegacyInvalidated = errors.New("Token has been invalidated")
)

// legacyInvalidSinceLabel marks a legacy token Secret as no longer usable.
const legacyInvalidSinceLabel = "kubernetes.io/legacy-token-invalid-since"

// AuthenticateToken implements authn.Token. Tokens of other issuers, and strings that are
// not JWTs, are not its business (ok=false, no error).
func (a *Authenticator) AuthenticateToken(ctx context.Context, token string) (*authn.Response, bool, error) {
	iss, ok := unverifiedIssuer(token)
	if !ok || (iss != LegacyIssuer && !slices.Contains(a.opts.Issuers, iss)) {
		return nil, false, nil
	}
	tok, err := jwt.Parse(token)
	if err != nil {
		return nil, false, nil
	}
	if err := tok.Verify(a.opts.Keys); err != nil {
		return nil, false, err
	}
	var c claims
	if err := json.Unmarshal(tok.Payload, &c); err != nil {
		return nil, false, fmt.Errorf("service account token claims could not be decoded: %w", err)
	}
	tokenAuds := []string(c.Audience)
	if len(tokenAuds) == 0 {
		// Legacy tokens carry no audience: they are for the API server only.
		tokenAuds = a.opts.APIAudiences
	}
	requested, ok := authn.AudiencesFrom(ctx)
	if !ok {
		requested = a.opts.APIAudiences
	}
	auds := authn.Intersect(tokenAuds, requested)
	if len(auds) == 0 {
		return nil, false, fmt.Errorf("token audiences %q is invalid for the target audiences %q", tokenAuds, requested)
	}
	var info *info
	if c.Issuer == LegacyIssuer {
		info, err = a.validateLegacy(ctx, token, &c)
	} else {
		info, err = a.validateBound(ctx, &c)
	}
	if err != nil {
		return nil, false, err
	}
	return &authn.Response{User: info.user(), Audiences: auds}, true, nil
}

// unverifiedIssuer reads iss from a JWT's payload without checking anything.
func unverifiedIssuer(token string) (string, bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 || strings.HasPrefix(strings.TrimSpace(token), "{") {
		return "", false
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", false
	}
	var c struct {
		Issuer string `json:"iss"`
	}
	if json.Unmarshal(payload, &c) != nil {
		return "", false
	}
	return c.Issuer, true
}

// info is who a valid token identifies.
type info struct {
	namespace, name, uid      string
	podName, podUID           string
	nodeName, nodeUID, credID string
}

func (i *info) user() authn.User {
	u := authn.User{Name: MakeUsername(i.namespace, i.name), UID: i.uid, Groups: Groups(i.namespace)}
	extra := map[string][]string{}
	add := func(k, v string) {
		if v != "" {
			extra[k] = []string{v}
		}
	}
	add(PodNameKey, i.podName)
	add(PodUIDKey, i.podUID)
	add(NodeNameKey, i.nodeName)
	add(NodeUIDKey, i.nodeUID)
	add(CredentialIDKey, i.credID)
	if len(extra) > 0 {
		u.Extra = extra
	}
	return u
}

// validateBound is upstream's bound-token validator: times, then the service account and
// the bound pod, secret or node must exist with the UIDs of the token. Objects deleted
// (deletionTimestamp) more than the leeway ago no longer count.
func (a *Authenticator) validateBound(ctx context.Context, c *claims) (*info, error) {
	now := a.opts.Clock.Now()
	switch err := jwt.ValidateTime(c.TimeClaims, now, jwt.DefaultLeeway); {
	case errors.Is(err, jwt.ErrExpired):
		return nil, errors.New("service account token has expired")
	case errors.Is(err, jwt.ErrNotValidYet):
		return nil, errors.New("service account token is not valid yet")
	case err != nil:
		return nil, errors.New("service account token claims could not be validated due to unexpected validation error")
	}
	k := c.Kubernetes
	if k == nil || k.Namespace == "" || k.ServiceAccount.Name == "" {
		return nil, errors.New("service account token claims could not be validated: the kubernetes.io claim is missing")
	}
	deletedBefore := now.Add(-jwt.DefaultLeeway)
	sa, err := a.opts.Getter.GetServiceAccount(ctx, k.Namespace, k.ServiceAccount.Name)
	if err != nil {
		return nil, err
	}
	if gone(sa.DeletionTimestamp, deletedBefore) {
		return nil, fmt.Errorf("service account %s/%s has been deleted", k.Namespace, k.ServiceAccount.Name)
	}
	if string(sa.UID) != k.ServiceAccount.UID {
		return nil, fmt.Errorf("service account UID (%s) does not match claim (%s)", sa.UID, k.ServiceAccount.UID)
	}
	if k.Secret != nil {
		s, err := a.opts.Getter.GetSecret(ctx, k.Namespace, k.Secret.Name)
		if err := boundObjectErr(s, err, "secret", k.Secret, deletedBefore); err != nil {
			return nil, err
		}
	}
	if k.Pod != nil {
		p, err := a.opts.Getter.GetPod(ctx, k.Namespace, k.Pod.Name)
		if err := boundObjectErr(p, err, "pod", k.Pod, deletedBefore); err != nil {
			return nil, err
		}
	}
	if k.Node != nil && k.Pod == nil {
		// A pod-bound token names its node for information; a node-bound one depends on it.
		n, err := a.opts.Getter.GetNode(ctx, k.Node.Name)
		if err := boundObjectErr(n, err, "node", k.Node, deletedBefore); err != nil {
			return nil, err
		}
	}
	i := &info{namespace: k.Namespace, name: k.ServiceAccount.Name, uid: k.ServiceAccount.UID}
	if k.Pod != nil {
		i.podName, i.podUID = k.Pod.Name, k.Pod.UID
	}
	if k.Node != nil {
		i.nodeName, i.nodeUID = k.Node.Name, k.Node.UID
	}
	if c.ID != "" {
		i.credID = "JTI=" + c.ID
	}
	return i, nil
}

// boundObjectErr checks a bound object read with err: it must exist, not be deleted
// before deletedBefore, and have the token's UID.
func boundObjectErr[T metav1.Object](obj T, err error, kind string, ref *Ref, deletedBefore time.Time) error {
	if err != nil {
		return errInvalidated
	}
	if gone(obj.GetDeletionTimestamp(), deletedBefore) {
		return errInvalidated
	}
	if string(obj.GetUID()) != ref.UID {
		return fmt.Errorf("%s UID (%s) does not match service account %s ref claim (%s)", kind, obj.GetUID(), kind, ref.UID)
	}
	return nil
}

func gone(deletion *metav1.Time, before time.Time) bool {
	return deletion != nil && deletion.Time.Before(before)
}

// validateLegacy is upstream's legacy validator: the claims must be complete and agree with
// sub, the Secret must still hold exactly this token, and the service account must exist
// with the UID of the token.
func (a *Authenticator) validateLegacy(ctx context.Context, token string, c *claims) (*info, error) {
	l := c.legacyClaims
	switch {
	case c.Subject == "":
		return nil, errors.New("sub claim is missing")
	case l.Namespace == "":
		return nil, errors.New("namespace claim is missing")
	case l.SecretName == "":
		return nil, errors.New("secretName claim is missing")
	case l.ServiceAccountName == "":
		return nil, errors.New("serviceAccountName claim is missing")
	case l.ServiceAccountUID == "":
		return nil, errors.New("serviceAccountUID claim is missing")
	}
	if ns, name, err := SplitUsername(c.Subject); err != nil || ns != l.Namespace || name != l.ServiceAccountName {
		return nil, errors.New("sub claim is invalid")
	}
	secret, err := a.opts.Getter.GetSecret(ctx, l.Namespace, l.SecretName)
	if err != nil || secret.DeletionTimestamp != nil || secret.Labels[legacyInvalidSinceLabel] != "" {
		return nil, errLegacyInvalidated
	}
	if string(secret.Data[corev1.ServiceAccountTokenKey]) != token {
		return nil, errors.New("Token does not match server's copy")
	}
	sa, err := a.opts.Getter.GetServiceAccount(ctx, l.Namespace, l.ServiceAccountName)
	if err != nil {
		return nil, err
	}
	if sa.DeletionTimestamp != nil {
		return nil, fmt.Errorf("ServiceAccount %s/%s has been deleted", l.Namespace, l.ServiceAccountName)
	}
	if string(sa.UID) != l.ServiceAccountUID {
		return nil, fmt.Errorf("ServiceAccount UID (%s) does not match claim (%s)", sa.UID, l.ServiceAccountUID)
	}
	return &info{namespace: l.Namespace, name: l.ServiceAccountName, uid: l.ServiceAccountUID}, nil
}
