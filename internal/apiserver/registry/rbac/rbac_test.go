package rbac

import (
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestResourcesIdentity(t *testing.T) {
	t.Parallel()
	cases := []struct {
		plural, kind string
		namespaced   bool
		hasTable     bool
	}{
		{"roles", "Role", true, false},
		{"rolebindings", "RoleBinding", true, true},
		{"clusterroles", "ClusterRole", false, false},
		{"clusterrolebindings", "ClusterRoleBinding", false, true},
	}
	for _, c := range cases {
		t.Run(c.plural+" is served as "+c.kind, func(t *testing.T) {
			t.Parallel()
			r := findResource(t, c.plural)
			if r.GVK.Group != "rbac.authorization.k8s.io" || r.GVK.Version != "v1" || r.GVK.Kind != c.kind {
				t.Errorf("GVK = %v", r.GVK)
			}
			if r.Namespaced != c.namespaced || r.Status || r.Scale != nil || r.Fields != nil {
				t.Errorf("namespaced=%v status=%v scale=%v fields=%v", r.Namespaced, r.Status, r.Scale, r.Fields != nil)
			}
			if (r.Table != nil) != c.hasTable {
				t.Errorf("table = %v, want %v", r.Table != nil, c.hasTable)
			}
			if r.Singular != strings.ToLower(c.kind) || len(r.ShortNames) != 0 {
				t.Errorf("singular %q short names %v", r.Singular, r.ShortNames)
			}
		})
	}
}

func TestNamesArePathSegments(t *testing.T) {
	t.Parallel()
	cases := map[string]bool{
		"system:node-proxier": true,
		"Admin_Role":          true,
		"a/b":                 false,
		"..":                  false,
		"a%b":                 false,
	}
	for name, ok := range cases {
		t.Run("name "+name+" is checked as a path segment", func(t *testing.T) {
			t.Parallel()
			if got := len(ValidateName(name, false)) == 0; got != ok {
				t.Errorf("valid = %v, want %v", got, ok)
			}
		})
	}
}

func TestRoleValidation(t *testing.T) {
	t.Parallel()
	s := findResource(t, "roles").Strategy
	cases := []struct {
		name  string
		rules []rbacv1.PolicyRule
		want  []wantErr
	}{
		{name: "a resource rule is valid", rules: []rbacv1.PolicyRule{{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"pods"}}}},
		{name: "a rule without verbs is rejected", rules: []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}}},
			want: []wantErr{{"rules[0].verbs", field.ErrorTypeRequired}}},
		{name: "a resource rule needs api groups and resources", rules: []rbacv1.PolicyRule{{Verbs: []string{"get"}}},
			want: []wantErr{{"rules[0].apiGroups", field.ErrorTypeRequired}, {"rules[0].resources", field.ErrorTypeRequired}}},
		{name: "a namespaced role may not name non-resource URLs", rules: []rbacv1.PolicyRule{{Verbs: []string{"get"}, NonResourceURLs: []string{"/healthz"}}},
			want: []wantErr{{"rules[0].nonResourceURLs", field.ErrorTypeInvalid}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "r", Namespace: "ns"}, Rules: c.rules}
			checkErrs(t, s.Validate(t.Context(), role), c.want...)
			checkErrs(t, s.ValidateUpdate(t.Context(), role, role.DeepCopy()), c.want...)
		})
	}
}

func TestClusterRoleValidation(t *testing.T) {
	t.Parallel()
	s := findResource(t, "clusterroles").Strategy
	cases := []struct {
		name string
		role rbacv1.ClusterRole
		want []wantErr
	}{
		{name: "non-resource URLs are allowed on cluster roles",
			role: rbacv1.ClusterRole{Rules: []rbacv1.PolicyRule{{Verbs: []string{"get"}, NonResourceURLs: []string{"/healthz", "/healthz/*"}}}}},
		{name: "a rule may not mix resources and non-resource URLs",
			role: rbacv1.ClusterRole{Rules: []rbacv1.PolicyRule{{Verbs: []string{"get"}, Resources: []string{"pods"}, NonResourceURLs: []string{"/x"}}}},
			want: []wantErr{{"rules[0].nonResourceURLs", field.ErrorTypeInvalid}}},
		{name: "an aggregation rule is accepted and its rules may be empty",
			role: rbacv1.ClusterRole{AggregationRule: &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{
				{MatchLabels: map[string]string{"rbac.example.com/aggregate-to-view": "true"}}}}}},
		{name: "an aggregation rule needs a selector",
			role: rbacv1.ClusterRole{AggregationRule: &rbacv1.AggregationRule{}},
			want: []wantErr{{"aggregationRule.clusterRoleSelectors", field.ErrorTypeRequired}}},
		{name: "an aggregation selector must be valid",
			role: rbacv1.ClusterRole{AggregationRule: &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{
				{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "a", Operator: "Bogus"}}}}}},
			want: []wantErr{
				{"aggregationRule.clusterRoleSelectors[0].matchExpressions[0].operator", field.ErrorTypeInvalid},
				{"aggregationRule.clusterRoleSelectors[0]", field.ErrorTypeInvalid}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.role.Name = "cr"
			checkErrs(t, s.Validate(t.Context(), &c.role), c.want...)
		})
	}
}

func TestBindingDefaults(t *testing.T) {
	t.Parallel()
	s := findResource(t, "rolebindings").Strategy
	b := &rbacv1.RoleBinding{
		RoleRef: rbacv1.RoleRef{Kind: "Role", Name: "r"},
		Subjects: []rbacv1.Subject{
			{Kind: "User", Name: "alice"},
			{Kind: "Group", Name: "devs"},
			{Kind: "ServiceAccount", Name: "default"},
			{Kind: "User", Name: "bob", APIGroup: "example.com"},
		},
	}
	s.Default(b)
	if b.RoleRef.APIGroup != rbacv1.GroupName {
		t.Errorf("roleRef.apiGroup = %q", b.RoleRef.APIGroup)
	}
	want := []string{rbacv1.GroupName, rbacv1.GroupName, "", "example.com"}
	for i, s := range b.Subjects {
		if s.APIGroup != want[i] {
			t.Errorf("subjects[%d].apiGroup = %q, want %q", i, s.APIGroup, want[i])
		}
	}
}

func validRoleBinding() *rbacv1.RoleBinding {
	return &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "rb", Namespace: "ns"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "r"},
		Subjects: []rbacv1.Subject{
			{Kind: "ServiceAccount", Name: "default"},
			{Kind: "User", APIGroup: rbacv1.GroupName, Name: "alice"},
		},
	}
}

func TestRoleBindingValidation(t *testing.T) {
	t.Parallel()
	s := findResource(t, "rolebindings").Strategy
	cases := []struct {
		name   string
		mutate func(*rbacv1.RoleBinding)
		want   []wantErr
	}{
		{name: "a binding to a role with a namespaceless service account is valid", mutate: func(*rbacv1.RoleBinding) {}},
		{name: "a binding may grant a cluster role", mutate: func(b *rbacv1.RoleBinding) { b.RoleRef.Kind = "ClusterRole" }},
		{name: "roleRef.apiGroup must be the RBAC group", mutate: func(b *rbacv1.RoleBinding) { b.RoleRef.APIGroup = "x" },
			want: []wantErr{{"roleRef.apiGroup", field.ErrorTypeNotSupported}}},
		{name: "roleRef.kind must be a role kind", mutate: func(b *rbacv1.RoleBinding) { b.RoleRef.Kind = "Pod" },
			want: []wantErr{{"roleRef.kind", field.ErrorTypeNotSupported}}},
		{name: "roleRef.name is required", mutate: func(b *rbacv1.RoleBinding) { b.RoleRef.Name = "" },
			want: []wantErr{{"roleRef.name", field.ErrorTypeRequired}}},
		{name: "roleRef.name must be a path segment", mutate: func(b *rbacv1.RoleBinding) { b.RoleRef.Name = "a/b" },
			want: []wantErr{{"roleRef.name", field.ErrorTypeInvalid}}},
		{name: "a subject needs a known kind", mutate: func(b *rbacv1.RoleBinding) { b.Subjects[0].Kind = "Robot" },
			want: []wantErr{{"subjects[0].kind", field.ErrorTypeNotSupported}}},
		{name: "a subject needs a name", mutate: func(b *rbacv1.RoleBinding) { b.Subjects[1].Name = "" },
			want: []wantErr{{"subjects[1].name", field.ErrorTypeRequired}}},
		{name: "a service account subject has no api group", mutate: func(b *rbacv1.RoleBinding) { b.Subjects[0].APIGroup = "rbac.authorization.k8s.io" },
			want: []wantErr{{"subjects[0].apiGroup", field.ErrorTypeNotSupported}}},
		{name: "a service account name must be a DNS subdomain", mutate: func(b *rbacv1.RoleBinding) { b.Subjects[0].Name = "Bad_Name" },
			want: []wantErr{{"subjects[0].name", field.ErrorTypeInvalid}}},
		{name: "a user subject must use the RBAC group", mutate: func(b *rbacv1.RoleBinding) { b.Subjects[1].APIGroup = "" },
			want: []wantErr{{"subjects[1].apiGroup", field.ErrorTypeNotSupported}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b := validRoleBinding()
			c.mutate(b)
			checkErrs(t, s.Validate(t.Context(), b), c.want...)
		})
	}
}

func TestClusterRoleBindingValidation(t *testing.T) {
	t.Parallel()
	s := findResource(t, "clusterrolebindings").Strategy
	valid := func() *rbacv1.ClusterRoleBinding {
		return &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "crb"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
			Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "default", Namespace: "kube-system"}},
		}
	}
	cases := []struct {
		name   string
		mutate func(*rbacv1.ClusterRoleBinding)
		want   []wantErr
	}{
		{name: "a binding of a cluster role to a service account is valid", mutate: func(*rbacv1.ClusterRoleBinding) {}},
		{name: "a cluster binding may not grant a role", mutate: func(b *rbacv1.ClusterRoleBinding) { b.RoleRef.Kind = "Role" },
			want: []wantErr{{"roleRef.kind", field.ErrorTypeNotSupported}}},
		{name: "a service account subject needs a namespace", mutate: func(b *rbacv1.ClusterRoleBinding) { b.Subjects[0].Namespace = "" },
			want: []wantErr{{"subjects[0].namespace", field.ErrorTypeRequired}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b := valid()
			c.mutate(b)
			checkErrs(t, s.Validate(t.Context(), b), c.want...)
		})
	}
}

func TestRoleRefIsImmutable(t *testing.T) {
	t.Parallel()
	rb := findResource(t, "rolebindings").Strategy
	crb := findResource(t, "clusterrolebindings").Strategy
	t.Run("changing a rolebinding's roleRef is rejected", func(t *testing.T) {
		t.Parallel()
		old := validRoleBinding()
		b := old.DeepCopy()
		b.RoleRef.Name = "other"
		errs := rb.ValidateUpdate(t.Context(), b, old)
		checkErrs(t, errs, wantErr{"roleRef", field.ErrorTypeInvalid})
		if errs[0].Detail != "cannot change roleRef" {
			t.Errorf("detail = %q", errs[0].Detail)
		}
	})
	t.Run("changing a rolebinding's subjects is allowed", func(t *testing.T) {
		t.Parallel()
		old := validRoleBinding()
		b := old.DeepCopy()
		b.Subjects = b.Subjects[:1]
		checkErrs(t, rb.ValidateUpdate(t.Context(), b, old))
	})
	t.Run("changing a clusterrolebinding's roleRef is rejected", func(t *testing.T) {
		t.Parallel()
		old := &rbacv1.ClusterRoleBinding{RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"}}
		b := old.DeepCopy()
		b.RoleRef.Name = "edit"
		checkErrs(t, crb.ValidateUpdate(t.Context(), b, old), wantErr{"roleRef", field.ErrorTypeInvalid})
	})
}

func TestBindingTables(t *testing.T) {
	t.Parallel()
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	created := metav1.NewTime(now.Add(-90 * time.Minute))
	subjects := []rbacv1.Subject{
		{Kind: "User", Name: "alice"}, {Kind: "User", Name: "bob"},
		{Kind: "Group", Name: "devs"},
		{Kind: "ServiceAccount", Namespace: "kube-system", Name: "default"},
	}
	cases := []struct {
		plural string
		obj    runtime.Object
		want   []any
	}{
		{"rolebindings", &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "rb", CreationTimestamp: created},
			RoleRef:    rbacv1.RoleRef{Kind: "ClusterRole", Name: "view"}, Subjects: subjects},
			[]any{"rb", "ClusterRole/view", "90m", "alice, bob", "devs", "kube-system/default"}},
		{"clusterrolebindings", &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "crb", CreationTimestamp: created},
			RoleRef:    rbacv1.RoleRef{Kind: "ClusterRole", Name: "cluster-admin"}},
			[]any{"crb", "ClusterRole/cluster-admin", "90m", "", "", ""}},
	}
	for _, c := range cases {
		t.Run(c.plural+" render ROLE as kind/name and subjects in wide columns", func(t *testing.T) {
			t.Parallel()
			table := findResource(t, c.plural).Table
			var names []string
			for _, col := range table.Columns {
				names = append(names, col.Name)
				if (col.Priority == 1) != (col.Name == "Users" || col.Name == "Groups" || col.Name == "ServiceAccounts") {
					t.Errorf("column %s has priority %d", col.Name, col.Priority)
				}
			}
			if got := strings.Join(names, ","); got != "Name,Role,Age,Users,Groups,ServiceAccounts" {
				t.Errorf("columns = %s", got)
			}
			row := table.Row(c.obj, now)
			if len(row) != len(c.want) {
				t.Fatalf("row = %v", row)
			}
			for i := range row {
				if row[i] != c.want[i] {
					t.Errorf("cell %d = %v, want %v", i, row[i], c.want[i])
				}
			}
		})
	}
}
