package core

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"capstan/internal/apiserver/registry"
)

func endpointsResource() registry.Resource {
	return registry.Resource{
		GVK:        coreGVK("Endpoints"),
		Plural:     "endpoints",
		Singular:   "endpoints",
		Namespaced: true,
		ShortNames: []string{"ep"},
		Strategy:   endpointsStrategy{},
		Table: &registry.Table{
			Columns: []metav1.TableColumnDefinition{
				registry.NameColumn,
				{Name: "Endpoints", Type: "string", Description: corev1.Endpoints{}.SwaggerDoc()["subsets"]},
				registry.AgeColumn,
			},
			Row: endpointsRow,
		},
	}
}

type endpointsStrategy struct{ registry.DefaultStrategy }

// Default sets the protocol of every port to TCP when unset.
func (endpointsStrategy) Default(obj runtime.Object) {
	ep := obj.(*corev1.Endpoints)
	for i := range ep.Subsets {
		for j := range ep.Subsets[i].Ports {
			if ep.Subsets[i].Ports[j].Protocol == "" {
				ep.Subsets[i].Ports[j].Protocol = corev1.ProtocolTCP
			}
		}
	}
}

func (endpointsStrategy) Validate(_ context.Context, obj runtime.Object) field.ErrorList {
	return endpointSubsetsErrs(obj.(*corev1.Endpoints).Subsets, field.NewPath("subsets"))
}

func (s endpointsStrategy) ValidateUpdate(ctx context.Context, obj, _ runtime.Object) field.ErrorList {
	return s.Validate(ctx, obj)
}

// endpointSubsetsErrs checks that every subset has addresses, and that addresses and ports
// are valid.
func endpointSubsetsErrs(subsets []corev1.EndpointSubset, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i := range subsets {
		ss, p := &subsets[i], path.Index(i)
		if len(ss.Addresses) == 0 && len(ss.NotReadyAddresses) == 0 {
			errs = append(errs, field.Required(p, "must specify `addresses` or `notReadyAddresses`"))
		}
		for j := range ss.Addresses {
			errs = append(errs, endpointAddressErrs(&ss.Addresses[j], p.Child("addresses").Index(j))...)
		}
		for j := range ss.NotReadyAddresses {
			errs = append(errs, endpointAddressErrs(&ss.NotReadyAddresses[j], p.Child("notReadyAddresses").Index(j))...)
		}
		for j := range ss.Ports {
			errs = append(errs, endpointPortErrs(&ss.Ports[j], len(ss.Ports) > 1, p.Child("ports").Index(j))...)
		}
	}
	return errs
}

func endpointAddressErrs(addr *corev1.EndpointAddress, path *field.Path) field.ErrorList {
	errs := validation.IsValidIP(path.Child("ip"), addr.IP)
	if addr.Hostname != "" {
		errs = append(errs, dns1123LabelErrs(addr.Hostname, path.Child("hostname"))...)
	}
	if addr.NodeName != nil {
		for _, msg := range apimachineryvalidation.NameIsDNSSubdomain(*addr.NodeName, false) {
			errs = append(errs, field.Invalid(path.Child("nodeName"), *addr.NodeName, msg))
		}
	}
	return append(errs, nonSpecialIPErrs(addr.IP, path.Child("ip"))...)
}

func endpointPortErrs(port *corev1.EndpointPort, requireName bool, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if requireName && port.Name == "" {
		errs = append(errs, field.Required(path.Child("name"), ""))
	} else if port.Name != "" {
		errs = append(errs, dns1123LabelErrs(port.Name, path.Child("name"))...)
	}
	for _, msg := range validation.IsValidPortNum(int(port.Port)) {
		errs = append(errs, field.Invalid(path.Child("port"), port.Port, msg))
	}
	errs = append(errs, portProtocolErrs(port.Protocol, path.Child("protocol"))...)
	if port.AppProtocol != nil {
		errs = append(errs, qualifiedNameFieldErrs(*port.AppProtocol, path.Child("appProtocol"))...)
	}
	return errs
}

// nonSpecialIPErrs rejects addresses that make no sense as service or endpoint targets:
// unspecified, loopback and link-local ones.
func nonSpecialIPErrs(s string, path *field.Path) field.ErrorList {
	ip := net.ParseIP(s)
	if ip == nil {
		return field.ErrorList{field.Invalid(path, s, "must be a valid IP address")}
	}
	var errs field.ErrorList
	if ip.IsUnspecified() {
		errs = append(errs, field.Invalid(path, s, fmt.Sprintf("may not be unspecified (%v)", s)))
	}
	if ip.IsLoopback() {
		errs = append(errs, field.Invalid(path, s, "may not be in the loopback range (127.0.0.0/8, ::1/128)"))
	}
	if ip.IsLinkLocalUnicast() {
		errs = append(errs, field.Invalid(path, s, "may not be in the link-local range (169.254.0.0/16, fe80::/10)"))
	}
	if ip.IsLinkLocalMulticast() {
		errs = append(errs, field.Invalid(path, s, "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"))
	}
	return errs
}

func endpointsRow(obj runtime.Object, now time.Time) []any {
	ep := obj.(*corev1.Endpoints)
	return []any{ep.Name, endpointsString(ep), registry.Age(ep.CreationTimestamp, now)}
}

// endpointsString renders up to three ready endpoints ("10.0.0.1:80,10.0.0.2:80 + 3
// more..."), plain IPs for subsets without ports, and "<none>" without subsets.
func endpointsString(ep *corev1.Endpoints) string {
	if len(ep.Subsets) == 0 {
		return "<none>"
	}
	const max = 3
	var list []string
	count := 0
	add := func(s string) {
		count++
		if len(list) < max {
			list = append(list, s)
		}
	}
	for _, ss := range ep.Subsets {
		if len(ss.Ports) == 0 {
			for _, a := range ss.Addresses {
				add(a.IP)
			}
			continue
		}
		for _, port := range ss.Ports {
			for _, a := range ss.Addresses {
				add(net.JoinHostPort(a.IP, strconv.Itoa(int(port.Port))))
			}
		}
	}
	out := strings.Join(list, ",")
	if count > max {
		return fmt.Sprintf("%s + %d more...", out, count-max)
	}
	return out
}
