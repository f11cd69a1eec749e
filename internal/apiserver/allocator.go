package apiserver

import (
	"context"
	"fmt"
	"math/big"
	"math/rand/v2"
	"net"
	"strconv"

	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Claims on service IPs and node ports are etcd keys owned by one service each. A claim is
// taken with a transaction that succeeds only if the key is absent (or already ours), so
// concurrent creates on any number of servers never share an IP or a port, and claims
// survive restarts. They live outside upstream's key space, which never reads them.
const (
	ipClaimPrefix   = "/registry/capstan/serviceips/"
	portClaimPrefix = "/registry/capstan/servicenodeports/"
)

type claimer struct {
	client *clientv3.Client
}

// claim takes key for owner; false when another owner holds it.
func (c claimer) claim(ctx context.Context, key, owner string) (bool, error) {
	resp, err := c.client.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, owner)).
		Else(clientv3.OpGet(key)).Commit()
	if err != nil {
		return false, fmt.Errorf("claiming %s: %w", key, err)
	}
	if resp.Succeeded {
		return true, nil
	}
	kvs := resp.Responses[0].GetResponseRange().Kvs
	return len(kvs) == 1 && string(kvs[0].Value) == owner, nil
}

// release frees key if owner holds it.
func (c claimer) release(ctx context.Context, key, owner string) {
	_, _ = c.client.Txn(context.WithoutCancel(ctx)).
		If(clientv3.Compare(clientv3.Value(key), "=", owner)).
		Then(clientv3.OpDelete(key)).Commit()
}

func serviceOwner(svc *corev1.Service) string { return svc.Namespace + "/" + svc.Name }

func (s *Server) serviceHooks() kindHooks {
	return kindHooks{
		returnDeleted: true,
		beforeCreate: func(ctx context.Context, obj runtime.Object, dry bool) (func(), error) {
			return s.allocateService(ctx, obj.(*corev1.Service), nil, dry)
		},
		beforeUpdate: func(ctx context.Context, obj, old runtime.Object) error {
			_, err := s.allocateService(ctx, obj.(*corev1.Service), old.(*corev1.Service), false)
			return err
		},
		afterDelete: func(ctx context.Context, obj runtime.Object) {
			svc := obj.(*corev1.Service)
			for _, k := range serviceClaims(svc) {
				s.claims().release(ctx, k, serviceOwner(svc))
			}
		},
	}
}

func (s *Server) claims() claimer { return claimer{client: s.opts.Etcd} }

// serviceClaims lists the claim keys a service holds.
func serviceClaims(svc *corev1.Service) []string {
	var keys []string
	for _, ip := range svc.Spec.ClusterIPs {
		if ip != "" && ip != corev1.ClusterIPNone {
			keys = append(keys, ipClaimPrefix+ip)
		}
	}
	for _, p := range svc.Spec.Ports {
		if p.NodePort != 0 {
			keys = append(keys, portClaimPrefix+strconv.Itoa(int(p.NodePort))+"-"+string(p.Protocol))
		}
	}
	if svc.Spec.HealthCheckNodePort != 0 {
		keys = append(keys, portClaimPrefix+strconv.Itoa(int(svc.Spec.HealthCheckNodePort))+"-TCP")
	}
	return keys
}

// allocateService gives a service its cluster IP and node ports, honouring requested ones
// or refusing them with 422. On update (old != nil) what the old object held is kept and
// what it no longer needs is released. The returned release undoes a create's claims.
func (s *Server) allocateService(ctx context.Context, svc, old *corev1.Service, dry bool) (func(), error) {
	owner := serviceOwner(svc)
	var taken []string
	release := func() {
		for _, k := range taken {
			s.claims().release(ctx, k, owner)
		}
	}
	fail := func(errs field.ErrorList) (func(), error) {
		release()
		return func() {}, apierrors.NewInvalid(corev1.SchemeGroupVersion.WithKind("Service").GroupKind(), svc.Name, errs)
	}
	needsIP := svc.Spec.Type != corev1.ServiceTypeExternalName && svc.Spec.ClusterIP != corev1.ClusterIPNone
	if !needsIP {
		if svc.Spec.Type == corev1.ServiceTypeExternalName {
			svc.Spec.ClusterIP, svc.Spec.ClusterIPs = "", nil
		} else {
			svc.Spec.ClusterIPs = []string{corev1.ClusterIPNone}
		}
	} else {
		if svc.Spec.ClusterIP == "" && old != nil && old.Spec.ClusterIP != "" && old.Spec.ClusterIP != corev1.ClusterIPNone {
			svc.Spec.ClusterIP = old.Spec.ClusterIP
		}
		ip, key, errs, err := s.allocateIP(ctx, svc.Spec.ClusterIP, owner, dry)
		if err != nil {
			release()
			return func() {}, err
		}
		if len(errs) > 0 {
			return fail(errs)
		}
		if key != "" {
			taken = append(taken, key)
		}
		svc.Spec.ClusterIP, svc.Spec.ClusterIPs = ip, []string{ip}
	}
	wantPorts := svc.Spec.Type == corev1.ServiceTypeNodePort ||
		(svc.Spec.Type == corev1.ServiceTypeLoadBalancer && (svc.Spec.AllocateLoadBalancerNodePorts == nil || *svc.Spec.AllocateLoadBalancerNodePorts))
	for i := range svc.Spec.Ports {
		p := &svc.Spec.Ports[i]
		if !wantPorts && svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
			p.NodePort = 0
			continue
		}
		if !wantPorts && p.NodePort == 0 {
			continue
		}
		if p.NodePort == 0 && old != nil {
			for _, op := range old.Spec.Ports {
				if op.NodePort != 0 && op.Port == p.Port && op.Protocol == p.Protocol {
					p.NodePort = op.NodePort
				}
			}
		}
		port, key, errs, err := s.allocatePort(ctx, p.NodePort, string(p.Protocol), owner, field.NewPath("spec", "ports").Index(i).Child("nodePort"), dry)
		if err != nil {
			release()
			return func() {}, err
		}
		if len(errs) > 0 {
			return fail(errs)
		}
		taken = append(taken, key)
		p.NodePort = port
	}
	if old != nil && !dry {
		keep := map[string]bool{}
		for _, k := range serviceClaims(svc) {
			keep[k] = true
		}
		for _, k := range serviceClaims(old) {
			if !keep[k] {
				s.claims().release(ctx, k, owner)
			}
		}
		return func() {}, nil
	}
	return release, nil
}

func (s *Server) allocateIP(ctx context.Context, requested, owner string, dry bool) (string, string, field.ErrorList, error) {
	cidr := s.opts.ServiceCIDR
	path := field.NewPath("spec", "clusterIPs").Index(0)
	if requested != "" {
		ip := net.ParseIP(requested)
		if ip == nil {
			return "", "", field.ErrorList{field.Invalid(path, requested, "must be a valid IP address")}, nil
		}
		if !cidr.Contains(ip) || ip.Equal(cidr.IP) {
			return "", "", field.ErrorList{field.Invalid(path, requested, fmt.Sprintf("failed to allocate IP %s: provided IP is not in the valid range. The range of valid IPs is %s", requested, cidr))}, nil
		}
		if dry {
			return requested, "", nil, nil
		}
		key := ipClaimPrefix + ip.String()
		ok, err := s.claims().claim(ctx, key, owner)
		if err != nil {
			return "", "", nil, err
		}
		if !ok {
			return "", "", field.ErrorList{field.Invalid(path, requested, fmt.Sprintf("failed to allocate IP %s: provided IP is already allocated", requested))}, nil
		}
		return ip.String(), key, nil, nil
	}
	ones, bits := cidr.Mask.Size()
	size := int64(1) << uint(bits-ones)
	base := new(big.Int).SetBytes(cidr.IP.To16())
	// Offsets 0 (network) and size-1 (broadcast) are never used; 1 is the kubernetes service's.
	start := 2 + rand.Int64N(size-3)
	for i := int64(0); i < size-3; i++ {
		off := 2 + (start-2+i)%(size-3)
		ipInt := new(big.Int).Add(base, big.NewInt(off))
		b := ipInt.FillBytes(make([]byte, 16))
		ip := net.IP(b)
		if v4 := ip.To4(); v4 != nil {
			ip = v4
		}
		if dry {
			return ip.String(), "", nil, nil
		}
		key := ipClaimPrefix + ip.String()
		ok, err := s.claims().claim(ctx, key, owner)
		if err != nil {
			return "", "", nil, err
		}
		if ok {
			return ip.String(), key, nil, nil
		}
	}
	return "", "", field.ErrorList{field.InternalError(path, fmt.Errorf("range is full"))}, nil
}

func (s *Server) allocatePort(ctx context.Context, requested int32, protocol, owner string, path *field.Path, dry bool) (int32, string, field.ErrorList, error) {
	lo, hi := s.opts.NodePortMin, s.opts.NodePortMax
	try := func(p int32) (bool, string, error) {
		key := portClaimPrefix + strconv.Itoa(int(p)) + "-" + protocol
		if dry {
			return true, key, nil
		}
		ok, err := s.claims().claim(ctx, key, owner)
		return ok, key, err
	}
	if requested != 0 {
		if requested < lo || requested > hi {
			return 0, "", field.ErrorList{field.Invalid(path, requested, fmt.Sprintf("provided port is not in the valid range. The range of valid ports is %d-%d", lo, hi))}, nil
		}
		ok, key, err := try(requested)
		if err != nil {
			return 0, "", nil, err
		}
		if !ok {
			return 0, "", field.ErrorList{field.Invalid(path, requested, "provided port is already allocated")}, nil
		}
		return requested, key, nil, nil
	}
	n := hi - lo + 1
	start := rand.Int32N(n)
	for i := int32(0); i < n; i++ {
		p := lo + (start+i)%n
		ok, key, err := try(p)
		if err != nil {
			return 0, "", nil, err
		}
		if ok {
			return p, key, nil, nil
		}
	}
	return 0, "", field.ErrorList{field.InternalError(path, fmt.Errorf("range is full"))}, nil
}
