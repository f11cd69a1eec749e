package coordination

import (
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

func TestLeaseIdentity(t *testing.T) {
	t.Parallel()
	r := findResource(t, "leases")
	if r.GVK.String() != "coordination.k8s.io/v1, Kind=Lease" || !r.Namespaced || r.Status || len(r.ShortNames) != 0 {
		t.Errorf("identity: %+v", r)
	}
}

func TestLeaseValidation(t *testing.T) {
	t.Parallel()
	s := findResource(t, "leases").Strategy
	strategy := func(v string) *coordinationv1.CoordinatedLeaseStrategy {
		return ptr.To(coordinationv1.CoordinatedLeaseStrategy(v))
	}
	cases := []struct {
		name string
		spec coordinationv1.LeaseSpec
		want []wantErr
	}{
		{name: "an empty lease is valid"},
		{name: "a held lease is valid", spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To("node-1"),
			LeaseDurationSeconds: ptr.To[int32](40), LeaseTransitions: ptr.To[int32](0)}},
		{name: "a zero duration is rejected", spec: coordinationv1.LeaseSpec{LeaseDurationSeconds: ptr.To[int32](0)},
			want: []wantErr{{"spec.leaseDurationSeconds", field.ErrorTypeInvalid}}},
		{name: "negative transitions are rejected", spec: coordinationv1.LeaseSpec{LeaseTransitions: ptr.To[int32](-1)},
			want: []wantErr{{"spec.leaseTransitions", field.ErrorTypeInvalid}}},
		{name: "the built-in strategy is valid", spec: coordinationv1.LeaseSpec{Strategy: strategy("OldestEmulationVersion"), PreferredHolder: ptr.To("a")}},
		{name: "a domain-prefixed strategy is valid", spec: coordinationv1.LeaseSpec{Strategy: strategy("example.com/newest")}},
		{name: "an unknown unprefixed strategy is not supported", spec: coordinationv1.LeaseSpec{Strategy: strategy("Newest")},
			want: []wantErr{{"spec.strategy.strategy", field.ErrorTypeNotSupported}}},
		{name: "a malformed prefixed strategy is rejected", spec: coordinationv1.LeaseSpec{Strategy: strategy("a/b/c")},
			want: []wantErr{{"spec.strategy.strategy", field.ErrorTypeInvalid}}},
		{name: "a preferred holder needs a strategy", spec: coordinationv1.LeaseSpec{PreferredHolder: ptr.To("a")},
			want: []wantErr{{"spec.preferredHolder", field.ErrorTypeForbidden}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			l := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "l", Namespace: "kube-node-lease"}, Spec: c.spec}
			checkErrs(t, s.Validate(t.Context(), l), c.want...)
			checkErrs(t, s.ValidateUpdate(t.Context(), l, &coordinationv1.Lease{}), c.want...)
		})
	}
}

func TestLeaseTable(t *testing.T) {
	t.Parallel()
	r := findResource(t, "leases")
	now := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	l := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "kube-scheduler", CreationTimestamp: metav1.NewTime(now.Add(-7 * time.Minute))}}
	checkRow(t, r.Table.Row(l, now), []any{"kube-scheduler", "", "7m"})
	l.Spec.HolderIdentity = ptr.To("node-1_abc")
	checkRow(t, r.Table.Row(l, now), []any{"kube-scheduler", "node-1_abc", "7m"})
	if len(r.Table.Columns) != 3 || r.Table.Columns[1].Name != "Holder" {
		t.Errorf("columns = %+v", r.Table.Columns)
	}
}
