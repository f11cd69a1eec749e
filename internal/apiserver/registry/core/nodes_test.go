package core

import (
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestNodeDefaults(t *testing.T) {
	t.Parallel()
	t.Run("allocatable defaults to capacity", func(t *testing.T) {
		t.Parallel()
		node := &corev1.Node{Status: corev1.NodeStatus{Capacity: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("110")}}}
		nodeStrategy{}.Default(node)
		if got := node.Status.Allocatable.Pods().String(); got != "110" {
			t.Errorf("allocatable pods = %s", got)
		}
	})
	t.Run("podCIDR and podCIDRs are kept in step", func(t *testing.T) {
		t.Parallel()
		a := &corev1.Node{Spec: corev1.NodeSpec{PodCIDR: "10.42.1.0/24"}}
		b := &corev1.Node{Spec: corev1.NodeSpec{PodCIDRs: []string{"10.42.2.0/24", "fd00:2::/64"}}}
		nodeStrategy{}.Default(a)
		nodeStrategy{}.Default(b)
		if !reflect.DeepEqual(a.Spec.PodCIDRs, []string{"10.42.1.0/24"}) || b.Spec.PodCIDR != "10.42.2.0/24" {
			t.Errorf("a = %v, b = %q", a.Spec.PodCIDRs, b.Spec.PodCIDR)
		}
	})
	t.Run("a node keeps the status it registers with", func(t *testing.T) {
		t.Parallel()
		node := &corev1.Node{Status: corev1.NodeStatus{Phase: corev1.NodeRunning}}
		nodeStrategy{}.PrepareForCreate(t.Context(), node)
		if node.Status.Phase != corev1.NodeRunning {
			t.Errorf("status was cleared")
		}
	})
}

func TestNodeValidation(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		spec corev1.NodeSpec
		want []wantErr
	}{
		{"a node with valid taints and CIDRs", corev1.NodeSpec{
			PodCIDRs: []string{"10.42.0.0/24", "fd00::/64"},
			Taints:   []corev1.Taint{{Key: "a", Effect: corev1.TaintEffectNoSchedule}, {Key: "a", Effect: corev1.TaintEffectNoExecute}},
		}, nil},
		{"a taint without effect and one with a bad key", corev1.NodeSpec{Taints: []corev1.Taint{{Key: "a"}, {Key: "-x", Effect: "Never"}}},
			[]wantErr{
				{field.ErrorTypeRequired, "metadata.taints[0].effect"},
				{field.ErrorTypeInvalid, "metadata.taints[1].key"},
				{field.ErrorTypeNotSupported, "metadata.taints[1].effect"},
			}},
		{"two taints with one key and effect", corev1.NodeSpec{Taints: []corev1.Taint{
			{Key: "a", Effect: corev1.TaintEffectNoSchedule}, {Key: "a", Value: "v", Effect: corev1.TaintEffectNoSchedule},
		}}, []wantErr{{field.ErrorTypeDuplicate, "metadata.taints[1]"}}},
		{"an invalid pod CIDR", corev1.NodeSpec{PodCIDRs: []string{"10.42.0.1/33"}},
			[]wantErr{{field.ErrorTypeInvalid, "spec.podCIDRs[0]"}}},
		{"two IPv4 pod CIDRs", corev1.NodeSpec{PodCIDRs: []string{"10.42.0.0/24", "10.43.0.0/24"}},
			[]wantErr{{field.ErrorTypeInvalid, "spec.podCIDRs"}}},
	}
	for _, tc := range cases {
		t.Run("validation of "+tc.name, func(t *testing.T) {
			t.Parallel()
			assertErrs(t, nodeStrategy{}.Validate(t.Context(), &corev1.Node{Spec: tc.spec}), tc.want...)
		})
	}
}

func TestNodeUpdate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		old, new corev1.NodeSpec
		want     []wantErr
	}{
		{"setting the pod CIDR the first time", corev1.NodeSpec{}, corev1.NodeSpec{PodCIDRs: []string{"10.42.0.0/24"}}, nil},
		{"changing the pod CIDR", corev1.NodeSpec{PodCIDRs: []string{"10.42.0.0/24"}}, corev1.NodeSpec{PodCIDRs: []string{"10.42.9.0/24"}},
			[]wantErr{{field.ErrorTypeForbidden, "spec.podCIDRs"}}},
		{"changing the provider ID", corev1.NodeSpec{ProviderID: "a"}, corev1.NodeSpec{ProviderID: "b"},
			[]wantErr{{field.ErrorTypeForbidden, "spec.providerID"}}},
		{"cordoning and tainting", corev1.NodeSpec{}, corev1.NodeSpec{Unschedulable: true,
			Taints: []corev1.Taint{{Key: "node.kubernetes.io/unschedulable", Effect: corev1.TaintEffectNoSchedule}}}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			old, node := &corev1.Node{Spec: tc.old}, &corev1.Node{Spec: tc.new}
			assertErrs(t, nodeStrategy{}.ValidateUpdate(t.Context(), node, old), tc.want...)
		})
	}
	t.Run("a status update keeps the spec and checks addresses", func(t *testing.T) {
		t.Parallel()
		old := &corev1.Node{Spec: corev1.NodeSpec{Unschedulable: true}}
		node := &corev1.Node{Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{
			{Type: corev1.NodeInternalIP, Address: "10.0.0.1"}, {Type: corev1.NodeInternalIP, Address: "10.0.0.1"},
		}}}
		s := nodeStrategy{}
		s.PrepareForStatusUpdate(t.Context(), node, old)
		if !node.Spec.Unschedulable {
			t.Errorf("spec changed through status")
		}
		assertErrs(t, s.ValidateStatusUpdate(t.Context(), node, old), wantErr{field.ErrorTypeDuplicate, "status.addresses[1]"})
	})
}

func TestNodeTable(t *testing.T) {
	t.Parallel()
	base := func(mutate func(*corev1.Node)) *corev1.Node {
		n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", CreationTimestamp: ago(3 * 24 * time.Hour)}}
		mutate(n)
		return n
	}
	cases := []struct {
		name string
		node *corev1.Node
		want []any
	}{
		{"a node without conditions is Unknown", base(func(*corev1.Node) {}),
			[]any{"n1", "Unknown", "<none>", "3d", "", "<none>", "<none>", "<unknown>", "<unknown>", "<unknown>"}},
		{"a ready control-plane node shows roles, version and addresses", base(func(n *corev1.Node) {
			n.Labels = map[string]string{"node-role.kubernetes.io/control-plane": "", "node-role.kubernetes.io/etcd": "true", "kubernetes.io/role": "master"}
			n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}
			n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: "n1"}, {Type: corev1.NodeInternalIP, Address: "10.0.0.1"}}
			n.Status.NodeInfo = corev1.NodeSystemInfo{KubeletVersion: "v1.37.2", OSImage: "Debian", KernelVersion: "6.1", ContainerRuntimeVersion: "containerd://2.1"}
		}), []any{"n1", "Ready", "control-plane,etcd,master", "3d", "v1.37.2", "10.0.0.1", "<none>", "Debian", "6.1", "containerd://2.1"}},
		{"a cordoned node whose kubelet stopped reporting", base(func(n *corev1.Node) {
			n.Spec.Unschedulable = true
			n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionUnknown}}
		}), []any{"n1", "NotReady,SchedulingDisabled", "<none>", "3d", "", "<none>", "<none>", "<unknown>", "<unknown>", "<unknown>"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := nodeTable.Row(tc.node, tableNow); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("row = %#v", got)
			}
		})
	}
	t.Run("the node field set holds spec.unschedulable", func(t *testing.T) {
		t.Parallel()
		if got := nodeFields(base(func(n *corev1.Node) { n.Spec.Unschedulable = true })); len(got) != 1 || got["spec.unschedulable"] != "true" {
			t.Errorf("fields = %v", got)
		}
	})
}
