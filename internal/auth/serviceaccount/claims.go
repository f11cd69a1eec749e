package serviceaccount

import (
	"encoding/json"
	"fmt"
	"strings"

	"capstan/internal/auth/jwt"
)

const (
	// DefaultIssuer is the issuer of bound tokens unless configured otherwise.
	DefaultIssuer = "https://kubernetes.default.svc.cluster.local"
	// LegacyIssuer is the issuer of Secret-based tokens.
	LegacyIssuer = "kubernetes/serviceaccount"

	// AllServiceAccountsGroup holds every service account.
	AllServiceAccountsGroup = "system:serviceaccounts"
	// usernamePrefix starts every service account's user name.
	usernamePrefix = "system:serviceaccount:"

	// The user extra keys of a token's bound objects and its ID, as upstream.
	PodNameKey      = "authentication.kubernetes.io/pod-name"
	PodUIDKey       = "authentication.kubernetes.io/pod-uid"
	NodeNameKey     = "authentication.kubernetes.io/node-name"
	NodeUIDKey      = "authentication.kubernetes.io/node-uid"
	CredentialIDKey = "authentication.kubernetes.io/credential-id"

	// WarnOnlyExpirationSeconds is the lifetime the kubelet asks for in its projected
	// kube-api-access volumes; such pod-bound tokens for the API server are issued for
	// ExtendedExpirationSeconds instead, with a warnafter claim at the asked-for time, so
	// clients that never reread the file keep working (upstream's
	// --service-account-extend-token-expiration).
	WarnOnlyExpirationSeconds = 3607
	ExtendedExpirationSeconds = 365 * 24 * 60 * 60
)

// MakeUsername is the user name of a service account.
func MakeUsername(namespace, name string) string {
	return usernamePrefix + namespace + ":" + name
}

// SplitUsername returns the namespace and name of a service-account user name.
func SplitUsername(username string) (string, string, error) {
	rest, ok := strings.CutPrefix(username, usernamePrefix)
	ns, name, ok2 := strings.Cut(rest, ":")
	if !ok || !ok2 || ns == "" || name == "" || strings.Contains(name, ":") {
		return "", "", fmt.Errorf("username %q is not a service account", username)
	}
	return ns, name, nil
}

// Groups are the groups of every service account of namespace.
func Groups(namespace string) []string {
	return []string{AllServiceAccountsGroup, AllServiceAccountsGroup + ":" + namespace}
}

// Ref names an object a token is bound to.
type Ref struct {
	Name string `json:"name,omitempty"`
	UID  string `json:"uid,omitempty"`
}

// kubernetesClaims is the private "kubernetes.io" claim of bound tokens.
type kubernetesClaims struct {
	Namespace      string           `json:"namespace,omitempty"`
	Node           *Ref             `json:"node,omitempty"`
	Pod            *Ref             `json:"pod,omitempty"`
	Secret         *Ref             `json:"secret,omitempty"`
	ServiceAccount Ref              `json:"serviceaccount"`
	WarnAfter      *jwt.NumericDate `json:"warnafter,omitempty"`
}

// claims is every claim either kind of token carries; the JSON keys sort like upstream's.
type claims struct {
	Audience audience `json:"aud,omitempty"`
	jwt.TimeClaims
	Issuer     string            `json:"iss"`
	ID         string            `json:"jti,omitempty"`
	Kubernetes *kubernetesClaims `json:"kubernetes.io,omitempty"`
	legacyClaims
	Subject string `json:"sub"`
}

// legacyClaims are the private claims of Secret-based tokens.
type legacyClaims struct {
	Namespace          string `json:"kubernetes.io/serviceaccount/namespace,omitempty"`
	SecretName         string `json:"kubernetes.io/serviceaccount/secret.name,omitempty"`
	ServiceAccountName string `json:"kubernetes.io/serviceaccount/service-account.name,omitempty"`
	ServiceAccountUID  string `json:"kubernetes.io/serviceaccount/service-account.uid,omitempty"`
}

// audience is the aud claim: a list, also read from a single string (RFC 7519).
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = audience{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("aud claim: %w", err)
	}
	*a = many
	return nil
}
