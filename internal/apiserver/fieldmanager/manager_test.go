package fieldmanager_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"capstan/internal/apiserver/fieldmanager"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func manager(t testing.TB, opts fieldmanager.Options) *fieldmanager.Manager {
	t.Helper()
	m, ok := converter(t).Manager(opts)
	if !ok {
		t.Fatalf("no manager for %v", opts.GVK)
	}
	return m
}

func deploymentManager(t testing.TB, subresource string) *fieldmanager.Manager {
	return manager(t, fieldmanager.Options{GVK: deploymentGVK, Subresource: subresource, HasStatus: true})
}

func newDeployment(replicas int32, labels map[string]string) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default", Labels: labels, UID: "uid-1", ResourceVersion: "5"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "nginx", Image: "nginx:1",
					Ports: []corev1.ContainerPort{{ContainerPort: 80, Protocol: corev1.ProtocolTCP}},
				}}},
			},
		},
		Status: appsv1.DeploymentStatus{Replicas: 1},
	}
}

// fields renders an entry's field set as the sorted list of its leaf paths in kubectl's
// notation, for readable assertions.
func fields(t testing.TB, e metav1.ManagedFieldsEntry) []string {
	t.Helper()
	var tree map[string]any
	if err := json.Unmarshal(e.FieldsV1.Raw, &tree); err != nil {
		t.Fatal(err)
	}
	var out []string
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			if k == "." {
				out = append(out, prefix)
				continue
			}
			child, _ := v.(map[string]any)
			if len(child) == 0 {
				out = append(out, prefix+"/"+k)
				continue
			}
			walk(prefix+"/"+k, child)
		}
	}
	walk("", tree)
	slices.Sort(out)
	return out
}

func entry(t testing.TB, obj runtime.Object, manager string, op metav1.ManagedFieldsOperationType, subresource string) metav1.ManagedFieldsEntry {
	t.Helper()
	for _, e := range managedFieldsOf(obj) {
		if e.Manager == manager && e.Operation == op && e.Subresource == subresource {
			return e
		}
	}
	t.Fatalf("no %s entry of %q (subresource %q) in %s", op, manager, subresource, describe(managedFieldsOf(obj)))
	return metav1.ManagedFieldsEntry{}
}

func hasEntry(obj runtime.Object, manager string) bool {
	for _, e := range managedFieldsOf(obj) {
		if e.Manager == manager {
			return true
		}
	}
	return false
}

func managedFieldsOf(obj runtime.Object) []metav1.ManagedFieldsEntry {
	return obj.(metav1.ObjectMetaAccessor).GetObjectMeta().GetManagedFields()
}

func describe(entries []metav1.ManagedFieldsEntry) string {
	var b strings.Builder
	for _, e := range entries {
		fmt.Fprintf(&b, "\n  %s %s %s %q %s", e.Manager, e.Operation, e.APIVersion, e.Subresource, e.FieldsV1.Raw)
	}
	return b.String()
}

func contains(list []string, want ...string) bool {
	for _, w := range want {
		if !slices.Contains(list, w) {
			return false
		}
	}
	return true
}

func config(t testing.TB, y string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(y), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestUpdateOnCreateRecordsEveryFieldButStatusAndIdentity(t *testing.T) {
	t.Parallel()
	m := deploymentManager(t, "")
	obj := newDeployment(3, map[string]string{"team": "a"})
	if err := m.Update(nil, obj, "kubectl-create", t0); err != nil {
		t.Fatal(err)
	}
	e := entry(t, obj, "kubectl-create", metav1.ManagedFieldsOperationUpdate, "")
	if e.APIVersion != "apps/v1" || e.FieldsType != "FieldsV1" || e.Time == nil || !e.Time.Time.Equal(t0) {
		t.Fatalf("entry %+v", e)
	}
	got := fields(t, e)
	if !contains(got, "/f:spec/f:replicas", "/f:metadata/f:labels/f:team",
		`/f:spec/f:template/f:spec/f:containers/k:{"name":"nginx"}/f:image`,
		`/f:spec/f:template/f:spec/f:containers/k:{"name":"nginx"}/f:ports/k:{"containerPort":80,"protocol":"TCP"}/f:containerPort`) {
		t.Fatalf("fields %v", got)
	}
	for _, f := range got {
		if strings.HasPrefix(f, "/f:status") || strings.Contains(f, "f:uid") || strings.Contains(f, "f:resourceVersion") || f == "/f:metadata/f:name" {
			t.Errorf("%s should not be owned", f)
		}
	}
}

func TestUpdateMergesEntriesPerManagerAndMovesTimeOnlyOnChange(t *testing.T) {
	t.Parallel()
	m := deploymentManager(t, "")
	live := newDeployment(1, nil)
	if err := m.Update(nil, live, "creator", t0); err != nil {
		t.Fatal(err)
	}
	// A scaler changes replicas: it takes them over from the creator.
	scaled := live.DeepCopy()
	scaled.Spec.Replicas = ptr.To[int32](4)
	t1 := t0.Add(time.Minute)
	if err := m.Update(live, scaled, "scaler", t1); err != nil {
		t.Fatal(err)
	}
	if got := fields(t, entry(t, scaled, "scaler", metav1.ManagedFieldsOperationUpdate, "")); !slices.Equal(got, []string{"/f:spec/f:replicas"}) {
		t.Fatalf("scaler owns %v", got)
	}
	if contains(fields(t, entry(t, scaled, "creator", metav1.ManagedFieldsOperationUpdate, "")), "/f:spec/f:replicas") {
		t.Fatal("the creator still owns replicas")
	}
	// The scaler writes again without changing anything: its entry and time stay.
	again := scaled.DeepCopy()
	if err := m.Update(scaled, again, "scaler", t1.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if e := entry(t, again, "scaler", metav1.ManagedFieldsOperationUpdate, ""); !e.Time.Time.Equal(t1) {
		t.Fatalf("time moved to %v on a write that changed nothing", e.Time)
	}
	// Another change by the scaler is merged into the same entry.
	more := again.DeepCopy()
	more.Labels = map[string]string{"scaled": "yes"}
	if err := m.Update(again, more, "scaler", t1.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range more.ManagedFields {
		if e.Manager == "scaler" {
			n++
		}
	}
	if n != 1 || !contains(fields(t, entry(t, more, "scaler", metav1.ManagedFieldsOperationUpdate, "")), "/f:spec/f:replicas", "/f:metadata/f:labels/f:scaled") {
		t.Fatalf("entries %s", describe(more.ManagedFields))
	}
}

func TestUpdateKeepsManagedFieldsClientsLeaveOutAndResetsOnRequest(t *testing.T) {
	t.Parallel()
	m := deploymentManager(t, "")
	live := newDeployment(1, nil)
	if err := m.Update(nil, live, "creator", t0); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		requested []metav1.ManagedFieldsEntry
		creator   bool
	}{
		{"left out", nil, true},
		{"an empty list resets", []metav1.ManagedFieldsEntry{}, false},
		{"one empty entry resets", []metav1.ManagedFieldsEntry{{}}, false},
		{"an invalid list is ignored", []metav1.ManagedFieldsEntry{{Manager: "x", Operation: "Bogus"}}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			obj := live.DeepCopy()
			obj.ManagedFields = tc.requested
			obj.Labels = map[string]string{"edited": "1"}
			if err := m.Update(live, obj, "editor", t0); err != nil {
				t.Fatal(err)
			}
			if hasEntry(obj, "creator") != tc.creator {
				t.Fatalf("creator entry present = %v, want %v:%s", !tc.creator, tc.creator, describe(obj.ManagedFields))
			}
			if got := fields(t, entry(t, obj, "editor", metav1.ManagedFieldsOperationUpdate, "")); !slices.Equal(got, []string{"/f:metadata/f:labels", "/f:metadata/f:labels/f:edited"}) {
				t.Fatalf("editor owns %v", got)
			}
		})
	}
	t.Run("a reset alone clears everything", func(t *testing.T) {
		obj := live.DeepCopy()
		obj.ManagedFields = []metav1.ManagedFieldsEntry{{}}
		if err := m.Update(live, obj, "editor", t0); err != nil {
			t.Fatal(err)
		}
		if len(obj.ManagedFields) != 0 {
			t.Fatalf("managed fields %s", describe(obj.ManagedFields))
		}
	})
	t.Run("entries sent with the update replace the stored ones", func(t *testing.T) {
		obj := live.DeepCopy()
		obj.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "imported", Operation: metav1.ManagedFieldsOperationUpdate, APIVersion: "apps/v1", FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:spec":{"f:replicas":{}}}`)}}}
		if err := m.Update(live, obj, "editor", t0); err != nil {
			t.Fatal(err)
		}
		if hasEntry(obj, "creator") || !hasEntry(obj, "imported") {
			t.Fatalf("managed fields %s", describe(obj.ManagedFields))
		}
	})
}

func TestSubresourceUpdatesRecordTheSubresourceAndOwnOnlyTheirPart(t *testing.T) {
	t.Parallel()
	main, status := deploymentManager(t, ""), deploymentManager(t, "status")
	live := newDeployment(1, nil)
	if err := main.Update(nil, live, "creator", t0); err != nil {
		t.Fatal(err)
	}
	obj := live.DeepCopy()
	obj.ManagedFields = []metav1.ManagedFieldsEntry{{}} // ignored on a subresource
	obj.Status.ReadyReplicas = 1
	obj.Status.Replicas = 2
	if err := status.Update(live, obj, "controller", t0); err != nil {
		t.Fatal(err)
	}
	if !hasEntry(obj, "creator") {
		t.Fatal("a status write dropped the stored entries")
	}
	e := entry(t, obj, "controller", metav1.ManagedFieldsOperationUpdate, "status")
	if got := fields(t, e); !slices.Equal(got, []string{"/f:status/f:readyReplicas", "/f:status/f:replicas"}) {
		t.Fatalf("status writer owns %v", got)
	}
}

func TestApplyCreatesUpdatesAndPrunes(t *testing.T) {
	t.Parallel()
	m := deploymentManager(t, "")
	const base = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default, labels: {team: a%s}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: nginx
        image: nginx:%s
        ports: [{containerPort: 80, protocol: TCP}]
`
	created := &appsv1.Deployment{}
	if err := m.Apply(nil, config(t, fmt.Sprintf(base, ", tier: web", "1")), created, "kubectl", false, t0); err != nil {
		t.Fatal(err)
	}
	if created.Spec.Template.Spec.Containers[0].Image != "nginx:1" || created.Labels["tier"] != "web" || created.Kind != "" {
		t.Fatalf("created %+v", created)
	}
	e := entry(t, created, "kubectl", metav1.ManagedFieldsOperationApply, "")
	if !contains(fields(t, e), "/f:spec/f:replicas", "/f:metadata/f:labels/f:tier") {
		t.Fatalf("applier owns %v", fields(t, e))
	}
	// Stored objects carry server-set fields; the next apply changes the image and drops the
	// tier label, which only this applier owned.
	live := created.DeepCopy()
	live.UID, live.ResourceVersion = "uid-1", "7"
	updated := &appsv1.Deployment{}
	if err := m.Apply(live, config(t, fmt.Sprintf(base, "", "2")), updated, "kubectl", false, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if updated.Spec.Template.Spec.Containers[0].Image != "nginx:2" || updated.UID != "uid-1" || updated.ResourceVersion != "7" {
		t.Fatalf("updated %+v", updated)
	}
	if _, ok := updated.Labels["tier"]; ok {
		t.Fatal("a label the applier alone owned and no longer applies was kept")
	}
	if e := entry(t, updated, "kubectl", metav1.ManagedFieldsOperationApply, ""); contains(fields(t, e), "/f:metadata/f:labels/f:tier") || !e.Time.Time.Equal(t0.Add(time.Minute)) {
		t.Fatalf("entry %v at %v", fields(t, e), e.Time)
	}
	if live.Labels["tier"] != "web" || live.Spec.Template.Spec.Containers[0].Image != "nginx:1" {
		t.Fatal("the live object was modified")
	}
}

func TestApplyKeepsFieldsOthersAlsoOwn(t *testing.T) {
	t.Parallel()
	m := manager(t, fieldmanager.Options{GVK: configMapGVK})
	live := &corev1.ConfigMap{}
	if err := m.Apply(nil, config(t, `{apiVersion: v1, kind: ConfigMap, metadata: {name: c}, data: {a: "1", b: "2"}}`), live, "one", false, t0); err != nil {
		t.Fatal(err)
	}
	both := &corev1.ConfigMap{}
	if err := m.Apply(live, config(t, `{apiVersion: v1, kind: ConfigMap, metadata: {name: c}, data: {b: "2"}}`), both, "two", false, t0); err != nil {
		t.Fatal(err)
	}
	out := &corev1.ConfigMap{}
	if err := m.Apply(both, config(t, `{apiVersion: v1, kind: ConfigMap, metadata: {name: c}, data: {}}`), out, "one", false, t0); err != nil {
		t.Fatal(err)
	}
	if _, ok := out.Data["a"]; ok {
		t.Error("a, owned by one alone, should be removed")
	}
	if out.Data["b"] != "2" {
		t.Error("b, also applied by two, should be kept")
	}
}

func TestApplyMergesListsByKeyAndMapsByEntry(t *testing.T) {
	t.Parallel()
	m := manager(t, fieldmanager.Options{GVK: podGVK, HasStatus: true})
	pod := &corev1.Pod{}
	if err := m.Apply(nil, config(t, `
apiVersion: v1
kind: Pod
metadata: {name: p, labels: {a: "1"}}
spec:
  containers:
  - {name: app, image: app:1, ports: [{containerPort: 80, protocol: TCP}]}
`), pod, "one", false, t0); err != nil {
		t.Fatal(err)
	}
	out := &corev1.Pod{}
	if err := m.Apply(pod, config(t, `
apiVersion: v1
kind: Pod
metadata: {name: p, labels: {b: "2"}}
spec:
  containers:
  - {name: app, ports: [{containerPort: 80, protocol: UDP}]}
  - {name: sidecar, image: sidecar:1}
`), out, "two", false, t0); err != nil {
		t.Fatal(err)
	}
	if len(out.Labels) != 2 {
		t.Errorf("labels %v: each applier's label should be kept", out.Labels)
	}
	if len(out.Spec.Containers) != 2 || out.Spec.Containers[0].Image != "app:1" || out.Spec.Containers[1].Name != "sidecar" {
		t.Errorf("containers %+v: should merge by name", out.Spec.Containers)
	}
	if ports := out.Spec.Containers[0].Ports; len(ports) != 2 {
		t.Errorf("ports %+v: 80/TCP and 80/UDP are different items", ports)
	}
}

func TestApplyConflictsAndForce(t *testing.T) {
	t.Parallel()
	m := deploymentManager(t, "")
	live := newDeployment(1, nil)
	if err := m.Update(nil, live, "kubectl", t0); err != nil {
		t.Fatal(err)
	}
	const cfg = `{apiVersion: apps/v1, kind: Deployment, metadata: {name: web, namespace: default}, spec: {replicas: %d}}`
	// The same value as the owner's is no conflict: ownership is shared.
	if err := m.Apply(live, config(t, fmt.Sprintf(cfg, 1)), &appsv1.Deployment{}, "ssa", false, t0); err != nil {
		t.Fatalf("applying the current value: %v", err)
	}
	err := m.Apply(live, config(t, fmt.Sprintf(cfg, 5)), &appsv1.Deployment{}, "ssa", false, t0)
	var status apierrors.APIStatus
	if !apierrors.IsConflict(err) || !errorsAs(err, &status) {
		t.Fatalf("err = %v, want a conflict", err)
	}
	st := status.Status()
	if want := `Apply failed with 1 conflict: conflict with "kubectl" using apps/v1: .spec.replicas`; st.Message != want {
		t.Fatalf("message %q, want %q", st.Message, want)
	}
	if st.Details == nil || len(st.Details.Causes) != 1 || st.Details.Causes[0].Type != metav1.CauseTypeFieldManagerConflict ||
		st.Details.Causes[0].Field != ".spec.replicas" || st.Details.Causes[0].Message != `conflict with "kubectl" using apps/v1` {
		t.Fatalf("details %+v", st.Details)
	}
	forced := &appsv1.Deployment{}
	if err := m.Apply(live, config(t, fmt.Sprintf(cfg, 5)), forced, "ssa", true, t0); err != nil {
		t.Fatal(err)
	}
	if *forced.Spec.Replicas != 5 {
		t.Fatalf("replicas %d", *forced.Spec.Replicas)
	}
	if contains(fields(t, entry(t, forced, "kubectl", metav1.ManagedFieldsOperationUpdate, "")), "/f:spec/f:replicas") {
		t.Fatal("force should take replicas from kubectl")
	}
	if !contains(fields(t, entry(t, forced, "ssa", metav1.ManagedFieldsOperationApply, "")), "/f:spec/f:replicas") {
		t.Fatal("the forcing applier should own replicas")
	}
}

func TestApplyConflictMessageGroupsByManager(t *testing.T) {
	t.Parallel()
	m := deploymentManager(t, "")
	live := newDeployment(1, map[string]string{"a": "1"})
	if err := m.Update(nil, live, "one", t0); err != nil {
		t.Fatal(err)
	}
	err := m.Apply(live, config(t, `{apiVersion: apps/v1, kind: Deployment, metadata: {name: web, labels: {a: "2"}}, spec: {replicas: 3}}`), &appsv1.Deployment{}, "two", false, t0)
	want := "Apply failed with 2 conflicts: conflicts with \"one\" using apps/v1:\n- .metadata.labels.a\n- .spec.replicas"
	if err == nil || err.Error() != want {
		t.Fatalf("err %q, want %q", err, want)
	}
}

func TestApplyToAnUnmanagedObjectConflictsWithBeforeFirstApply(t *testing.T) {
	t.Parallel()
	m := deploymentManager(t, "")
	live := newDeployment(1, nil) // no managedFields, as an object stored before tracking
	err := m.Apply(live, config(t, `{apiVersion: apps/v1, kind: Deployment, metadata: {name: web}, spec: {replicas: 3}}`), &appsv1.Deployment{}, "ssa", false, t0)
	if err == nil || !strings.Contains(err.Error(), `conflict with "before-first-apply" using apps/v1: .spec.replicas`) {
		t.Fatalf("err = %v", err)
	}
}

func TestApplyRejectsBadConfigurations(t *testing.T) {
	t.Parallel()
	m := deploymentManager(t, "")
	for _, tc := range []struct{ name, cfg, want string }{
		{"another kind", `{apiVersion: v1, kind: ConfigMap, metadata: {name: web}}`, "invalid object type: /v1, Kind=ConfigMap"},
		{"no kind", `{metadata: {name: web}}`, "invalid object type: /, Kind="},
		{"managed fields", `{apiVersion: apps/v1, kind: Deployment, metadata: {name: web, managedFields: [{manager: x}]}}`, "metadata.managedFields must be nil"},
		{"an unknown field", `{apiVersion: apps/v1, kind: Deployment, metadata: {name: web, namespace: ns}, spec: {bogus: 1}}`, "failed to create typed patch object (ns/web; apps/v1, Kind=Deployment): .spec.bogus: field not declared in schema"},
		{"a duplicate key", `{apiVersion: apps/v1, kind: Deployment, metadata: {name: web}, spec: {template: {spec: {containers: [{name: a}, {name: a}]}}}}`, "duplicate entries for key"},
		{"a wrong type", `{apiVersion: apps/v1, kind: Deployment, metadata: {name: web}, spec: {replicas: many}}`, "expected numeric"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := m.Apply(nil, config(t, tc.cfg), &appsv1.Deployment{}, "ssa", false, t0)
			if !apierrors.IsBadRequest(err) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want a bad request with %q", err, tc.want)
			}
		})
	}
}

func TestUpdateEntriesAreCapped(t *testing.T) {
	t.Parallel()
	m := manager(t, fieldmanager.Options{GVK: configMapGVK})
	live := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c"}}
	for i := range 15 {
		obj := live.DeepCopy()
		if obj.Data == nil {
			obj.Data = map[string]string{}
		}
		obj.Data[fmt.Sprint("k", i)] = "v"
		if err := m.Update(live, obj, fmt.Sprint("writer-", i), t0.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
		live = obj
	}
	if n := len(live.ManagedFields); n != 10 {
		t.Fatalf("%d entries: %s", n, describe(live.ManagedFields))
	}
	ancient := entry(t, live, "ancient-changes", metav1.ManagedFieldsOperationUpdate, "")
	if !contains(fields(t, ancient), "/f:data/f:k0", "/f:data/f:k5") || hasEntry(live, "writer-5") || !hasEntry(live, "writer-14") {
		t.Fatalf("entries %s", describe(live.ManagedFields))
	}
}

func TestEntriesAreOrderedLikeUpstream(t *testing.T) {
	t.Parallel()
	m := manager(t, fieldmanager.Options{GVK: configMapGVK})
	live := &corev1.ConfigMap{}
	if err := m.Apply(nil, config(t, `{apiVersion: v1, kind: ConfigMap, metadata: {name: c}, data: {a: "1"}}`), live, "z-applier", false, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	obj := live.DeepCopy()
	obj.Data["b"] = "2"
	if err := m.Update(live, obj, "a-updater", t0); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range obj.ManagedFields {
		got = append(got, string(e.Operation)+"/"+e.Manager)
	}
	if want := []string{"Apply/z-applier", "Update/a-updater"}; !slices.Equal(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
}

func TestManagerName(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ manager, ua, want string }{
		{"explicit", "kubectl/v1.37.0 (linux/amd64)", "explicit"},
		{"", "kubectl/v1.37.0 (linux/amd64) kubernetes/abc", "kubectl"},
		{"", "kube-controller-manager/v1.37.0 (linux/amd64)/leader-election", "kube-controller-manager"},
		{"", "Go-http-client/1.1", "Go-http-client"},
		{"", "odd\x01name/1", "oddname"},
		{"", strings.Repeat("x", 200), strings.Repeat("x", 128)},
		{"", "", ""},
	} {
		if got := fieldmanager.ManagerName(tc.manager, tc.ua); got != tc.want {
			t.Errorf("ManagerName(%q, %q) = %q, want %q", tc.manager, tc.ua, got, tc.want)
		}
	}
}

func errorsAs(err error, target *apierrors.APIStatus) bool {
	s, ok := err.(apierrors.APIStatus)
	if ok {
		*target = s
	}
	return ok
}

func TestApplyKeysListItemsByDefaultedKeys(t *testing.T) {
	t.Parallel()
	m := manager(t, fieldmanager.Options{GVK: podGVK, HasStatus: true})
	const cfg = `{apiVersion: v1, kind: Pod, metadata: {name: p}, spec: {containers: [{name: app, image: %s, ports: [{containerPort: 80}]}]}}`
	pod := &corev1.Pod{}
	if err := m.Apply(nil, config(t, fmt.Sprintf(cfg, "a")), pod, "one", false, t0); err != nil {
		t.Fatal(err)
	}
	e := entry(t, pod, "one", metav1.ManagedFieldsOperationApply, "")
	if !contains(fields(t, e), `/f:spec/f:containers/k:{"name":"app"}/f:ports/k:{"containerPort":80,"protocol":"TCP"}/f:containerPort`) {
		t.Fatalf("a port without protocol should be keyed as TCP: %v", fields(t, e))
	}
	// As stored: defaulted.
	pod.Spec.Containers[0].Ports[0].Protocol = corev1.ProtocolTCP
	out := &corev1.Pod{}
	if err := m.Apply(pod, config(t, fmt.Sprintf(cfg, "b")), out, "one", false, t0); err != nil {
		t.Fatal(err)
	}
	if ports := out.Spec.Containers[0].Ports; len(ports) != 1 || out.Spec.Containers[0].Image != "b" {
		t.Fatalf("container %+v: the port should stay one item", out.Spec.Containers[0])
	}
}

func TestKubectlMovesFromClientSideApplyWithoutConflicts(t *testing.T) {
	t.Parallel()
	m := deploymentManager(t, "")
	live := newDeployment(2, nil)
	live.Annotations = map[string]string{corev1.LastAppliedConfigAnnotation: `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"default"},"spec":{"replicas":2}}` + "\n"}
	if err := m.Update(nil, live, "kubectl-client-side-apply", t0); err != nil {
		t.Fatal(err)
	}
	// Someone else changed the image since.
	edited := live.DeepCopy()
	edited.Spec.Template.Spec.Containers[0].Image = "nginx:edited"
	if err := m.Update(live, edited, "editor", t0); err != nil {
		t.Fatal(err)
	}
	live = edited
	const cfg = `{apiVersion: apps/v1, kind: Deployment, metadata: {name: web, namespace: default}, spec: {replicas: 3%s}}`
	out := &appsv1.Deployment{}
	if err := m.Apply(live, config(t, fmt.Sprintf(cfg, "")), out, "kubectl", false, t0); err != nil {
		t.Fatalf("replicas were in the last client-side apply: %v", err)
	}
	if *out.Spec.Replicas != 3 {
		t.Fatalf("replicas %d", *out.Spec.Replicas)
	}
	if got, want := out.Annotations[corev1.LastAppliedConfigAnnotation], `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"default"},"spec":{"replicas":3}}`+"\n"; got != want {
		t.Fatalf("last-applied annotation %q, want %q", got, want)
	}
	withImage := fmt.Sprintf(cfg, `, template: {spec: {containers: [{name: nginx, image: "nginx:mine"}]}}`)
	err := m.Apply(live, config(t, withImage), &appsv1.Deployment{}, "kubectl", false, t0)
	if err == nil || !strings.Contains(err.Error(), `Apply failed with 1 conflict: conflict with "editor" using apps/v1: .spec.template.spec.containers[name="nginx"].image`) {
		t.Fatalf("the image was not in the last client-side apply: err %v", err)
	}
	if err := m.Apply(live, config(t, fmt.Sprintf(cfg, "")), &appsv1.Deployment{}, "other", false, t0); !apierrors.IsConflict(err) {
		t.Fatalf("only kubectl takes over its client-side fields: err %v", err)
	}
}

func TestEntriesAWriteCannotTouchAreKeptAsStored(t *testing.T) {
	t.Parallel()
	status := deploymentManager(t, "status")
	live := newDeployment(1, nil)
	stored := metav1.ManagedFieldsEntry{Manager: "creator", Operation: metav1.ManagedFieldsOperationUpdate, APIVersion: "apps/v1", FieldsType: "FieldsV1",
		Time: &metav1.Time{Time: t0}, FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:spec":{"f:replicas":{}}}`)}}
	other := metav1.ManagedFieldsEntry{Manager: "old-status", Operation: metav1.ManagedFieldsOperationUpdate, APIVersion: "apps/v1", FieldsType: "FieldsV1", Subresource: "status",
		Time: &metav1.Time{Time: t0}, FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:status":{"f:replicas":{},"f:readyReplicas":{}}}`)}}
	live.ManagedFields = []metav1.ManagedFieldsEntry{stored, other}
	obj := live.DeepCopy()
	obj.Status.Replicas = 7
	if err := status.Update(live, obj, "controller", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if e := entry(t, obj, "creator", metav1.ManagedFieldsOperationUpdate, ""); string(e.FieldsV1.Raw) != string(stored.FieldsV1.Raw) || !e.Time.Equal(stored.Time) {
		t.Fatalf("untouched entry changed: %s", describe(obj.ManagedFields))
	}
	if got := fields(t, entry(t, obj, "old-status", metav1.ManagedFieldsOperationUpdate, "status")); !slices.Equal(got, []string{"/f:status/f:readyReplicas"}) {
		t.Fatalf("the previous status writer should lose replicas only: %v", got)
	}
	if got := fields(t, entry(t, obj, "controller", metav1.ManagedFieldsOperationUpdate, "status")); !slices.Equal(got, []string{"/f:status/f:replicas"}) {
		t.Fatalf("controller owns %v", got)
	}
}
