package discovery

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/validate/content"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/runtime"
	utilvalidation "k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"capstan/internal/apiserver/registry"
)

const (
	maxEndpoints      = 1000
	maxAddresses      = 100
	maxPorts          = 20000
	maxTopologyLabels = 16
	maxZoneHints      = 8
	maxNodeHints      = 8
)

var (
	addressTypes  = []string{string(discoveryv1.AddressTypeFQDN), string(discoveryv1.AddressTypeIPv4), string(discoveryv1.AddressTypeIPv6)}
	portProtocols = []string{string(corev1.ProtocolSCTP), string(corev1.ProtocolTCP), string(corev1.ProtocolUDP)}
)

func endpointSliceResource() registry.Resource {
	doc := discoveryv1.EndpointSlice{}.SwaggerDoc()
	return registry.Resource{
		GVK:        discoveryv1.SchemeGroupVersion.WithKind("EndpointSlice"),
		Plural:     "endpointslices",
		Singular:   "endpointslice",
		Namespaced: true,
		Strategy:   endpointSliceStrategy{},
		Table: &registry.Table{
			Columns: []metav1.TableColumnDefinition{
				registry.NameColumn,
				{Name: "AddressType", Type: "string", Description: doc["addressType"]},
				{Name: "Ports", Type: "string", Description: doc["ports"]},
				{Name: "Endpoints", Type: "string", Description: doc["endpoints"]},
				registry.AgeColumn,
			},
			Row: endpointSliceRow,
		},
	}
}

type endpointSliceStrategy struct{ registry.DefaultStrategy }

// Default gives every port the name "" and protocol TCP.
func (endpointSliceStrategy) Default(obj runtime.Object) {
	eps := obj.(*discoveryv1.EndpointSlice)
	for i := range eps.Ports {
		p := &eps.Ports[i]
		if p.Name == nil {
			p.Name = new(string)
		}
		if p.Protocol == nil {
			tcp := corev1.ProtocolTCP
			p.Protocol = &tcp
		}
	}
}

// PrepareForCreate starts the generation at 1 (a slice has no spec the store could track)
// and drops deprecatedTopology, which the v1 API no longer accepts.
func (endpointSliceStrategy) PrepareForCreate(_ context.Context, obj runtime.Object) {
	eps := obj.(*discoveryv1.EndpointSlice)
	eps.Generation = 1
	dropDeprecatedTopology(eps, nil)
}

// PrepareForUpdate bumps the generation when anything but metadata, or the labels, changed.
func (endpointSliceStrategy) PrepareForUpdate(_ context.Context, obj, old runtime.Object) {
	eps, oldEPS := obj.(*discoveryv1.EndpointSlice), old.(*discoveryv1.EndpointSlice)
	dropDeprecatedTopology(eps, oldEPS)
	eps.Generation = oldEPS.Generation
	if !equality.Semantic.DeepEqual(eps.AddressType, oldEPS.AddressType) ||
		!equality.Semantic.DeepEqual(eps.Endpoints, oldEPS.Endpoints) ||
		!equality.Semantic.DeepEqual(eps.Ports, oldEPS.Ports) ||
		!equality.Semantic.DeepEqual(eps.Labels, oldEPS.Labels) {
		eps.Generation = oldEPS.Generation + 1
	}
}

// dropDeprecatedTopology clears deprecatedTopology of changed endpoints. A node name that
// the stored slice recorded only there (kubernetes.io/hostname) moves to nodeName so a
// partial update keeps it.
func dropDeprecatedTopology(eps, old *discoveryv1.EndpointSlice) {
	if old != nil && equality.Semantic.DeepEqual(eps.Endpoints, old.Endpoints) {
		return
	}
	oldNodes := map[string]bool{}
	if old != nil {
		for _, ep := range old.Endpoints {
			if n, ok := ep.DeprecatedTopology[corev1.LabelHostname]; ok {
				oldNodes[n] = true
			}
		}
	}
	for i := range eps.Endpoints {
		ep := &eps.Endpoints[i]
		n, ok := ep.DeprecatedTopology[corev1.LabelHostname]
		if ep.NodeName == nil && ok && oldNodes[n] && len(apimachineryvalidation.NameIsDNSSubdomain(n, false)) == 0 {
			ep.NodeName = &n
		}
		ep.DeprecatedTopology = nil
	}
}

// Validate checks the address type, the endpoints' addresses against it, and the ports.
func (endpointSliceStrategy) Validate(_ context.Context, obj runtime.Object) field.ErrorList {
	eps := obj.(*discoveryv1.EndpointSlice)
	var errs field.ErrorList
	typePath := field.NewPath("addressType")
	if eps.AddressType == "" {
		errs = append(errs, field.Required(typePath, ""))
	} else if !contains(addressTypes, string(eps.AddressType)) {
		errs = append(errs, field.NotSupported(typePath, eps.AddressType, addressTypes))
	}
	errs = append(errs, validateEndpoints(eps.Endpoints, eps.AddressType, field.NewPath("endpoints"))...)
	return append(errs, validatePorts(eps.Ports, field.NewPath("ports"))...)
}

// ValidateUpdate checks the new slice; the address type is immutable.
func (s endpointSliceStrategy) ValidateUpdate(ctx context.Context, obj, old runtime.Object) field.ErrorList {
	errs := s.Validate(ctx, obj)
	return append(errs, apimachineryvalidation.ValidateImmutableField(obj.(*discoveryv1.EndpointSlice).AddressType,
		old.(*discoveryv1.EndpointSlice).AddressType, field.NewPath("addressType"))...)
}

func validateEndpoints(endpoints []discoveryv1.Endpoint, addrType discoveryv1.AddressType, fldPath *field.Path) field.ErrorList {
	if len(endpoints) > maxEndpoints {
		return field.ErrorList{field.TooMany(fldPath, len(endpoints), maxEndpoints)}
	}
	var errs field.ErrorList
	for i := range endpoints {
		ep := &endpoints[i]
		idxPath := fldPath.Index(i)
		addrPath := idxPath.Child("addresses")
		if len(ep.Addresses) == 0 {
			errs = append(errs, field.Required(addrPath, "must contain at least 1 address"))
		} else if len(ep.Addresses) > maxAddresses {
			errs = append(errs, field.TooMany(addrPath, len(ep.Addresses), maxAddresses))
		}
		for j, addr := range ep.Addresses {
			errs = append(errs, validateAddress(addr, addrType, addrPath.Index(j))...)
		}
		if ep.NodeName != nil {
			errs = append(errs, invalidEach(idxPath.Child("nodeName"), *ep.NodeName, apimachineryvalidation.NameIsDNSSubdomain(*ep.NodeName, false))...)
		}
		topoPath := idxPath.Child("deprecatedTopology")
		if len(ep.DeprecatedTopology) > maxTopologyLabels {
			errs = append(errs, field.TooMany(topoPath, len(ep.DeprecatedTopology), maxTopologyLabels))
		}
		errs = append(errs, metav1validation.ValidateLabels(ep.DeprecatedTopology, topoPath)...)
		if ep.Hostname != nil {
			errs = append(errs, invalidEach(idxPath.Child("hostname"), *ep.Hostname, utilvalidation.IsDNS1123Label(*ep.Hostname))...)
		}
		if ep.Hints != nil {
			errs = append(errs, validateHints(ep.Hints, idxPath.Child("hints"))...)
		}
	}
	return errs
}

// validateAddress checks an address against the slice's type; endpoint IPs may not be
// unspecified, loopback or link-local. Unknown types are not checked (the type itself is).
func validateAddress(addr string, addrType discoveryv1.AddressType, fldPath *field.Path) field.ErrorList {
	switch addrType {
	case discoveryv1.AddressTypeIPv4, discoveryv1.AddressTypeIPv6:
		var errs field.ErrorList
		ip := parseIP(addr)
		if ip == nil || (ip.To4() != nil) != (addrType == discoveryv1.AddressTypeIPv4) {
			errs = append(errs, field.Invalid(fldPath, addr, "must be a valid "+string(addrType)+" address"))
		}
		if ip == nil {
			return append(errs, field.Invalid(fldPath, addr, "must be a valid IP address"))
		}
		return append(errs, validateEndpointIP(ip, addr, fldPath)...)
	case discoveryv1.AddressTypeFQDN:
		return utilvalidation.IsFullyQualifiedDomainName(fldPath, addr)
	}
	return nil
}

func validateEndpointIP(ip net.IP, addr string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if ip.IsUnspecified() {
		errs = append(errs, field.Invalid(fldPath, addr, fmt.Sprintf("may not be unspecified (%v)", addr)))
	}
	if ip.IsLoopback() {
		errs = append(errs, field.Invalid(fldPath, addr, "may not be in the loopback range (127.0.0.0/8, ::1/128)"))
	}
	if ip.IsLinkLocalUnicast() {
		errs = append(errs, field.Invalid(fldPath, addr, "may not be in the link-local range (169.254.0.0/16, fe80::/10)"))
	}
	if ip.IsLinkLocalMulticast() {
		errs = append(errs, field.Invalid(fldPath, addr, "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"))
	}
	return errs
}

// parseIP parses an IP leniently, accepting IPv4 octets with leading zeros as the legacy
// address fields always have.
func parseIP(s string) net.IP {
	if ip := net.ParseIP(s); ip != nil {
		return ip
	}
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return nil
	}
	for i, p := range parts {
		n, err := strconv.ParseUint(p, 10, 8)
		if err != nil {
			return nil
		}
		parts[i] = strconv.FormatUint(n, 10)
	}
	return net.ParseIP(strings.Join(parts, "."))
}

func validateHints(hints *discoveryv1.EndpointHints, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	zonesPath := fldPath.Child("forZones")
	if len(hints.ForZones) > maxZoneHints {
		return field.ErrorList{field.TooMany(zonesPath, len(hints.ForZones), maxZoneHints)}
	}
	zones := map[string]bool{}
	for i, z := range hints.ForZones {
		namePath := zonesPath.Index(i).Child("name")
		if zones[z.Name] {
			errs = append(errs, field.Duplicate(namePath, z.Name))
		}
		zones[z.Name] = true
		errs = append(errs, invalidEach(namePath, z.Name, content.IsLabelValue(z.Name))...)
	}
	nodesPath := fldPath.Child("forNodes")
	if len(hints.ForNodes) > maxNodeHints {
		return append(errs, field.TooMany(nodesPath, len(hints.ForNodes), maxNodeHints))
	}
	nodes := map[string]bool{}
	for i, n := range hints.ForNodes {
		namePath := nodesPath.Index(i).Child("name")
		if nodes[n.Name] {
			errs = append(errs, field.Duplicate(namePath, n.Name))
		}
		nodes[n.Name] = true
		errs = append(errs, invalidEach(namePath, n.Name, apimachineryvalidation.NameIsDNSSubdomain(n.Name, false))...)
	}
	return errs
}

// validatePorts checks names (DNS labels, unique), protocols, numbers and appProtocols.
func validatePorts(ports []discoveryv1.EndpointPort, fldPath *field.Path) field.ErrorList {
	if len(ports) > maxPorts {
		return field.ErrorList{field.TooMany(fldPath, len(ports), maxPorts)}
	}
	var errs field.ErrorList
	names := map[string]bool{}
	for i, p := range ports {
		idxPath := fldPath.Index(i)
		name := ""
		if p.Name != nil {
			name = *p.Name
		}
		if name != "" {
			errs = append(errs, invalidEach(idxPath.Child("name"), name, utilvalidation.IsDNS1123Label(name))...)
		}
		if names[name] {
			errs = append(errs, field.Duplicate(idxPath.Child("name"), name))
		}
		names[name] = true
		if p.Protocol == nil {
			errs = append(errs, field.Required(idxPath.Child("protocol"), ""))
		} else if !contains(portProtocols, string(*p.Protocol)) {
			errs = append(errs, field.NotSupported(idxPath.Child("protocol"), *p.Protocol, portProtocols))
		}
		if p.Port != nil {
			for _, msg := range utilvalidation.IsValidPortNum(int(*p.Port)) {
				errs = append(errs, field.Invalid(idxPath.Child("port"), *p.Port, msg))
			}
		}
		if p.AppProtocol != nil {
			errs = append(errs, invalidEach(idxPath.Child("appProtocol"), *p.AppProtocol, content.IsLabelKey(*p.AppProtocol))...)
		}
	}
	return errs
}

func invalidEach(fldPath *field.Path, value string, msgs []string) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range msgs {
		errs = append(errs, field.Invalid(fldPath, value, msg))
	}
	return errs
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// endpointSliceRow lists up to three ports (number, else name, else "*") and three
// addresses, "<unset>" when there are none.
func endpointSliceRow(obj runtime.Object, now time.Time) []any {
	eps := obj.(*discoveryv1.EndpointSlice)
	var ports []string
	for _, p := range eps.Ports {
		switch {
		case p.Port != nil:
			ports = append(ports, strconv.Itoa(int(*p.Port)))
		case p.Name != nil:
			ports = append(ports, *p.Name)
		default:
			ports = append(ports, "*")
		}
	}
	var addrs []string
	for _, ep := range eps.Endpoints {
		addrs = append(addrs, ep.Addresses...)
	}
	return []any{eps.Name, string(eps.AddressType), firstThree(ports), firstThree(addrs), registry.Age(eps.CreationTimestamp, now)}
}

func firstThree(list []string) string {
	const max = 3
	s := strings.Join(list, ",")
	if len(list) > max {
		return fmt.Sprintf("%s + %d more...", strings.Join(list[:max], ","), len(list)-max)
	}
	if s == "" {
		return "<unset>"
	}
	return s
}
