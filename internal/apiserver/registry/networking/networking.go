package networking

import (
	"net"
	"strings"

	"k8s.io/apimachinery/pkg/api/validate/content"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"capstan/internal/apiserver/registry"
)

// Resources returns every served networking.k8s.io/v1 resource.
func Resources() []registry.Resource {
	return []registry.Resource{
		ingressResource(),
		ingressClassResource(),
		networkPolicyResource(),
	}
}

// invalidEach turns the messages of a string check into Invalid errors at fldPath.
func invalidEach(fldPath *field.Path, value string, msgs []string) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range msgs {
		errs = append(errs, field.Invalid(fldPath, value, msg))
	}
	return errs
}

// validateLocalRef checks the apiGroup, kind and name of a reference to another object, the
// shape shared by ingress resource backends and ingress class parameters.
func validateLocalRef(apiGroup *string, kind, name string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if apiGroup != nil {
		errs = append(errs, invalidEach(fldPath.Child("apiGroup"), *apiGroup, utilvalidation.IsDNS1123Subdomain(*apiGroup))...)
	}
	if kind == "" {
		errs = append(errs, field.Required(fldPath.Child("kind"), ""))
	} else {
		errs = append(errs, invalidEach(fldPath.Child("kind"), kind, content.IsPathSegmentName(kind))...)
	}
	if name == "" {
		errs = append(errs, field.Required(fldPath.Child("name"), ""))
	} else {
		errs = append(errs, invalidEach(fldPath.Child("name"), name, content.IsPathSegmentName(name))...)
	}
	return errs
}

// isIP reports whether s parses as an IP address, accepting IPv4 octets with leading zeros
// as upstream's lenient parser does, so "010.0.0.1" is not mistaken for a host name.
func isIP(s string) bool {
	if net.ParseIP(s) != nil {
		return true
	}
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return false
	}
	for i, p := range parts {
		if p == "" || strings.Trim(p, "0123456789") != "" {
			return false
		}
		if trimmed := strings.TrimLeft(p, "0"); trimmed != "" {
			parts[i] = trimmed
		} else {
			parts[i] = "0"
		}
	}
	return net.ParseIP(strings.Join(parts, ".")) != nil
}
