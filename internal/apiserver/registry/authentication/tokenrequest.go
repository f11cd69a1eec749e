package authentication

import (
	"fmt"
	"slices"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"capstan/internal/auth/serviceaccount"
)

// TokenRequestGVK is the kind the serviceaccounts/token subresource takes and returns.
var TokenRequestGVK = authenticationv1.SchemeGroupVersion.WithKind("TokenRequest")

// tokenRequestGR is how upstream names TokenRequest in conflicts.
var tokenRequestGR = schema.GroupResource{Group: authenticationv1.GroupName, Resource: "TokenRequest"}

const (
	// DefaultExpirationSeconds is a token's lifetime when the request names none.
	DefaultExpirationSeconds = 60 * 60
	// MinExpirationSeconds and MaxExpirationSeconds bound the lifetime a request may ask.
	MinExpirationSeconds = 10 * 60
	MaxExpirationSeconds = 1 << 32
)

// PrepareTokenRequest checks the request's name and namespace against the URL's (they may
// be empty) and defaults expirationSeconds, as upstream's v1 defaults do.
func PrepareTokenRequest(tr *authenticationv1.TokenRequest, name, namespace string) error {
	if tr.Name != "" && tr.Name != name {
		return apierrors.NewInvalid(TokenRequestGVK.GroupKind(), name, field.ErrorList{
			field.Invalid(field.NewPath("metadata", "name"), tr.Name, "must match the service account name if specified")})
	}
	if tr.Namespace != "" && tr.Namespace != namespace {
		return apierrors.NewInvalid(TokenRequestGVK.GroupKind(), name, field.ErrorList{
			field.Invalid(field.NewPath("metadata", "namespace"), tr.Namespace, "must match the service account namespace if specified")})
	}
	if tr.Spec.ExpirationSeconds == nil {
		exp := int64(DefaultExpirationSeconds)
		tr.Spec.ExpirationSeconds = &exp
	}
	return nil
}

// CheckServiceAccountUID refuses a request for another incarnation of the service account
// (a request UID that is not the account's), upstream's TokenRequestServiceAccountUIDValidation.
func CheckServiceAccountUID(tr *authenticationv1.TokenRequest, name string, uid types.UID) error {
	if tr.UID != "" && tr.UID != uid {
		return apierrors.NewConflict(tokenRequestGR, name, fmt.Errorf("the UID in the token request (%s) does not match the UID of the service account (%s)", tr.UID, uid))
	}
	return nil
}

// ValidateTokenRequest is upstream's validation: a lifetime between 10 minutes and 2^32
// seconds, and no attestations (they belong to webhook-bound tokens, which are not served).
func ValidateTokenRequest(tr *authenticationv1.TokenRequest) field.ErrorList {
	var errs field.ErrorList
	spec := field.NewPath("spec")
	var exp int64
	if tr.Spec.ExpirationSeconds != nil {
		exp = *tr.Spec.ExpirationSeconds
	}
	if exp < MinExpirationSeconds {
		errs = append(errs, field.Invalid(spec.Child("expirationSeconds"), exp, "may not specify a duration less than 10 minutes"))
	}
	if exp > MaxExpirationSeconds {
		errs = append(errs, field.Invalid(spec.Child("expirationSeconds"), exp, "may not specify a duration larger than 2^32 seconds"))
	}
	if len(tr.Spec.Attestations) != 0 {
		errs = append(errs, field.Invalid(spec.Child("attestations"), tr.Spec.Attestations, "attestations may only be specified with a webhook bound object reference"))
	}
	return errs
}

// BoundKind returns the kind (Pod, Secret or Node) of the object a token is to be bound
// to; any other kind is a 400.
func BoundKind(ref *authenticationv1.BoundObjectReference) (string, error) {
	gvk := schema.FromAPIVersionAndKind(ref.APIVersion, ref.Kind)
	if gvk.Group == "" {
		switch gvk.Kind {
		case "Pod", "Secret", "Node":
			return gvk.Kind, nil
		}
	}
	return "", apierrors.NewBadRequest(fmt.Sprintf("cannot bind token to object of type %s", gvk.String()))
}

// CheckBoundUID refuses a reference whose UID is not the object's (it was recreated).
func CheckBoundUID(ref *authenticationv1.BoundObjectReference, uid types.UID) error {
	if ref.UID != "" && ref.UID != uid {
		gvk := schema.FromAPIVersionAndKind(ref.APIVersion, ref.Kind)
		return apierrors.NewConflict(schema.GroupResource{Group: gvk.Group, Resource: gvk.Kind}, ref.Name,
			fmt.Errorf("the UID in the bound object reference (%s) does not match the UID in record. The object might have been deleted and then recreated", ref.UID))
	}
	return nil
}

// CheckPodServiceAccount refuses to bind a token of one service account to a pod running
// as another.
func CheckPodServiceAccount(account, podAccount string) error {
	if account != podAccount {
		return apierrors.NewBadRequest(fmt.Sprintf("cannot bind token for serviceaccount %q to pod running with different serviceaccount name.", account))
	}
	return nil
}

// Lifetime is what a request's expirationSeconds grants.
type Lifetime struct {
	// Granted is the lifetime the client is told (spec.expirationSeconds and the status's
	// expirationTimestamp of the answer).
	Granted time.Duration
	// Token is the lifetime written into the token (exp).
	Token time.Duration
	// WarnAfter, when positive, is written as the token's warnafter claim.
	WarnAfter time.Duration
	// Warning for the client when the request was shortened.
	Warning string
}

// TokenLifetime decides a token's lifetime. A maximum (when positive) shortens the request,
// with a warning. Pod-bound tokens for the API server that ask for the kubelet's
// WarnOnlyExpirationSeconds live a year when extend is set, warning after the granted time
// (upstream's --service-account-extend-token-expiration).
func TokenLifetime(expirationSeconds int64, max time.Duration, extend, podBound bool, audiences, apiAudiences []string) Lifetime {
	var l Lifetime
	if max > 0 && time.Duration(expirationSeconds)*time.Second > max {
		l.Warning = fmt.Sprintf("requested expiration of %d seconds shortened to %d seconds", expirationSeconds, int64(max/time.Second))
		expirationSeconds = int64(max / time.Second)
	}
	l.Granted = time.Duration(expirationSeconds) * time.Second
	l.Token = l.Granted
	if extend && podBound && expirationSeconds == serviceaccount.WarnOnlyExpirationSeconds && subset(audiences, apiAudiences) {
		l.Token, l.WarnAfter = serviceaccount.ExtendedExpirationSeconds*time.Second, l.Granted
	}
	return l
}

func subset(a, of []string) bool {
	for _, x := range a {
		if !slices.Contains(of, x) {
			return false
		}
	}
	return true
}
