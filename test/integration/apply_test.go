package integration

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	appsv1apply "k8s.io/client-go/applyconfigurations/apps/v1"
	corev1apply "k8s.io/client-go/applyconfigurations/core/v1"
	metav1apply "k8s.io/client-go/applyconfigurations/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"

	capstantesting "capstan/internal/testing"
)

const applyDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ssa
  labels:
    app: ssa
spec:
  replicas: 2
  selector:
    matchLabels:
      app: ssa
  template:
    metadata:
      labels:
        app: ssa
    spec:
      containers:
      - name: web
        image: example/web:1.0
        ports:
        - containerPort: 8080
`

// managedEntry finds the entry of manager with operation op (and subresource).
func managedEntry(entries []metav1.ManagedFieldsEntry, manager string, op metav1.ManagedFieldsOperationType, subresource string) (metav1.ManagedFieldsEntry, bool) {
	for _, e := range entries {
		if e.Manager == manager && e.Operation == op && e.Subresource == subresource {
			return e, true
		}
	}
	return metav1.ManagedFieldsEntry{}, false
}

// ownsField reports whether an entry's fields (FieldsV1) name the path, given as its keys
// ("f:spec", "f:replicas").
func ownsField(t *testing.T, e metav1.ManagedFieldsEntry, path ...string) bool {
	t.Helper()
	if e.FieldsV1 == nil {
		return false
	}
	var node map[string]any
	if err := json.Unmarshal(e.FieldsV1.Raw, &node); err != nil {
		t.Fatal(err)
	}
	for _, p := range path {
		next, ok := node[p].(map[string]any)
		if !ok {
			return false
		}
		node = next
	}
	return true
}

func describeEntries(entries []metav1.ManagedFieldsEntry) string {
	var b strings.Builder
	for _, e := range entries {
		b.WriteString("\n  " + e.Manager + " " + string(e.Operation) + " " + e.APIVersion + " " + e.Subresource + " " + string(e.FieldsV1.Raw))
	}
	return b.String()
}

// TestIntegrationServerSideApply drives server-side apply and field management through
// kubectl, client-go and raw requests.
func TestIntegrationServerSideApply(t *testing.T) {
	s := start(t)
	ctx := t.Context()
	run := func(t *testing.T, stdin string, args ...string) string {
		t.Helper()
		out, errOut, err := s.Kubectl(stdin, args...)
		if err != nil {
			t.Fatalf("kubectl %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, out, errOut)
		}
		return out
	}
	deployment := func(t *testing.T, name string) *appsv1.Deployment {
		t.Helper()
		d, err := s.Client.AppsV1().Deployments("default").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}

	t.Run("kubectl apply --server-side creates, then updates with a change", func(t *testing.T) {
		if out := run(t, applyDeployment, "apply", "--server-side", "-f", "-"); !strings.Contains(out, "deployment.apps/ssa serverside-applied") {
			t.Fatalf("first apply: %s", out)
		}
		d := deployment(t, "ssa")
		e, ok := managedEntry(d.ManagedFields, "kubectl", metav1.ManagedFieldsOperationApply, "")
		if !ok || e.APIVersion != "apps/v1" || e.Time == nil || !ownsField(t, e, "f:spec", "f:replicas") ||
			!ownsField(t, e, "f:spec", "f:template", "f:spec", "f:containers", `k:{"name":"web"}`, "f:image") {
			t.Fatalf("managedFields after create:%s", describeEntries(d.ManagedFields))
		}
		if ownsField(t, e, "f:status") || ownsField(t, e, "f:metadata", "f:name") {
			t.Fatalf("the applier should not own status or the name:%s", describeEntries(d.ManagedFields))
		}
		changed := strings.Replace(applyDeployment, "example/web:1.0", "example/web:2.0", 1)
		if out := run(t, changed, "apply", "--server-side", "-f", "-"); !strings.Contains(out, "serverside-applied") {
			t.Fatalf("second apply: %s", out)
		}
		d = deployment(t, "ssa")
		if img := d.Spec.Template.Spec.Containers[0].Image; img != "example/web:2.0" {
			t.Fatalf("image %q after the second apply", img)
		}
		if d.Generation != 2 {
			t.Errorf("generation %d after a template change, want 2", d.Generation)
		}
		if n := len(d.ManagedFields); n < 1 {
			t.Fatalf("no managed fields")
		}
		if _, ok := managedEntry(d.ManagedFields, "kubectl", metav1.ManagedFieldsOperationApply, ""); !ok {
			t.Fatalf("managedFields after update:%s", describeEntries(d.ManagedFields))
		}
	})

	// What kubectl applied last.
	applied := strings.Replace(applyDeployment, "example/web:1.0", "example/web:2.0", 1)

	t.Run("another manager changing an owned field gets a 409 naming the owner", func(t *testing.T) {
		changed := strings.Replace(applied, "replicas: 2", "replicas: 5", 1)
		out, errOut, err := s.Kubectl(changed, "apply", "--server-side", "--field-manager=other", "-f", "-")
		if err == nil || !strings.Contains(errOut, `Apply failed with 1 conflict: conflict with "kubectl": .spec.replicas`) {
			t.Fatalf("apply by another manager: err %v\nstdout: %s\nstderr: %s", err, out, errOut)
		}
		// The same request from client-go, to see the status.
		_, err = s.Client.AppsV1().Deployments("default").Patch(ctx, "ssa", types.ApplyPatchType,
			[]byte(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"ssa"},"spec":{"replicas":5}}`), metav1.PatchOptions{FieldManager: "other"})
		var status apierrors.APIStatus
		if !apierrors.IsConflict(err) || !errors.As(err, &status) {
			t.Fatalf("err %v, want a 409", err)
		}
		st := status.Status()
		if st.Details == nil || len(st.Details.Causes) != 1 || st.Details.Causes[0].Type != metav1.CauseTypeFieldManagerConflict ||
			st.Details.Causes[0].Field != ".spec.replicas" || st.Details.Causes[0].Message != `conflict with "kubectl"` {
			t.Fatalf("status %+v", st)
		}
		if r := *deployment(t, "ssa").Spec.Replicas; r != 2 {
			t.Fatalf("replicas %d after a refused apply", r)
		}
	})

	t.Run("a conflict with an updater names its apiVersion", func(t *testing.T) {
		d := deployment(t, "ssa")
		d.Spec.MinReadySeconds = 3
		if _, err := s.Client.AppsV1().Deployments("default").Update(ctx, d, metav1.UpdateOptions{FieldManager: "editor"}); err != nil {
			t.Fatal(err)
		}
		_, err := s.Client.AppsV1().Deployments("default").Patch(ctx, "ssa", types.ApplyPatchType,
			[]byte(`{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"ssa"},"spec":{"minReadySeconds":7}}`), metav1.PatchOptions{FieldManager: "other"})
		if want := `Apply failed with 1 conflict: conflict with "editor" using apps/v1: .spec.minReadySeconds`; err == nil || err.Error() != want {
			t.Fatalf("err %v, want %q", err, want)
		}
	})

	t.Run("--force-conflicts takes the field over", func(t *testing.T) {
		changed := strings.Replace(applied, "replicas: 2", "replicas: 5", 1)
		run(t, changed, "apply", "--server-side", "--field-manager=other", "--force-conflicts", "-f", "-")
		d := deployment(t, "ssa")
		if *d.Spec.Replicas != 5 {
			t.Fatalf("replicas %d", *d.Spec.Replicas)
		}
		other, ok := managedEntry(d.ManagedFields, "other", metav1.ManagedFieldsOperationApply, "")
		kubectl, _ := managedEntry(d.ManagedFields, "kubectl", metav1.ManagedFieldsOperationApply, "")
		if !ok || !ownsField(t, other, "f:spec", "f:replicas") || ownsField(t, kubectl, "f:spec", "f:replicas") {
			t.Fatalf("managedFields:%s", describeEntries(d.ManagedFields))
		}
		// Both applied the same image, so both own it.
		if !ownsField(t, kubectl, "f:spec", "f:template", "f:spec", "f:containers", `k:{"name":"web"}`, "f:image") {
			t.Fatalf("kubectl lost the image:%s", describeEntries(d.ManagedFields))
		}
	})

	t.Run("client-side edits of an applied ConfigMap record Update entries", func(t *testing.T) {
		cm := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa-cm\ndata:\n  greeting: hello\n  extra: one\n"
		run(t, cm, "apply", "--server-side", "-f", "-")
		run(t, "", "label", "cm", "ssa-cm", "env=prod")
		editor := filepath.Join(t.TempDir(), "editor.sh")
		if err := os.WriteFile(editor, []byte("#!/bin/sh\nsed -i 's/greeting: hello/greeting: edited/' \"$1\"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		if out, errOut, err := s.KubectlWithEnv([]string{"EDITOR=" + editor, "KUBE_EDITOR=" + editor}, "", "edit", "cm", "ssa-cm"); err != nil {
			t.Fatalf("edit: %v %s %s", err, out, errOut)
		}
		got, err := s.Client.CoreV1().ConfigMaps("default").Get(ctx, "ssa-cm", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		label, ok1 := managedEntry(got.ManagedFields, "kubectl-label", metav1.ManagedFieldsOperationUpdate, "")
		edit, ok2 := managedEntry(got.ManagedFields, "kubectl-edit", metav1.ManagedFieldsOperationUpdate, "")
		apply, ok3 := managedEntry(got.ManagedFields, "kubectl", metav1.ManagedFieldsOperationApply, "")
		if !ok1 || !ok2 || !ok3 || !ownsField(t, label, "f:metadata", "f:labels", "f:env") || !ownsField(t, edit, "f:data", "f:greeting") ||
			ownsField(t, apply, "f:data", "f:greeting") || !ownsField(t, apply, "f:data", "f:extra") {
			t.Fatalf("managedFields:%s", describeEntries(got.ManagedFields))
		}
		// Applying the original greeting again now conflicts with the editor.
		_, errOut, err := s.Kubectl(cm, "apply", "--server-side", "-f", "-")
		if err == nil || !strings.Contains(errOut, `conflict with "kubectl-edit" using v1: .data.greeting`) {
			t.Fatalf("re-apply: %v %s", err, errOut)
		}
	})

	t.Run("a field the applier alone owned goes when it is no longer applied", func(t *testing.T) {
		cm := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: prune\n  labels: {a: 'x', b: 'y'}\ndata:\n  keep: '1'\n  drop: '2'\n"
		run(t, cm, "apply", "--server-side", "-f", "-")
		// Another manager also owns label b (same value), so it stays.
		if _, err := s.Client.CoreV1().ConfigMaps("default").Patch(ctx, "prune", types.ApplyPatchType,
			[]byte(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"prune","labels":{"b":"y"}}}`), metav1.PatchOptions{FieldManager: "sharer"}); err != nil {
			t.Fatal(err)
		}
		run(t, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: prune\ndata:\n  keep: '1'\n", "apply", "--server-side", "-f", "-")
		got, err := s.Client.CoreV1().ConfigMaps("default").Get(ctx, "prune", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := got.Data["drop"]; ok || got.Data["keep"] != "1" {
			t.Errorf("data %v: drop should be gone, keep kept", got.Data)
		}
		if _, ok := got.Labels["a"]; ok || got.Labels["b"] != "y" {
			t.Errorf("labels %v: a should be gone, b (shared) kept", got.Labels)
		}
	})

	t.Run("kubectl moves an object from client-side to server-side apply", func(t *testing.T) {
		cm := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: csa\ndata:\n  a: '1'\n"
		run(t, cm, "apply", "-f", "-")
		if out := run(t, strings.Replace(cm, "'1'", "'2'", 1), "apply", "--server-side", "-f", "-"); !strings.Contains(out, "serverside-applied") {
			t.Fatalf("server-side apply after client-side apply: %s", out)
		}
		got, err := s.Client.CoreV1().ConfigMaps("default").Get(ctx, "csa", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		apply, ok := managedEntry(got.ManagedFields, "kubectl", metav1.ManagedFieldsOperationApply, "")
		if got.Data["a"] != "2" || !ok || !ownsField(t, apply, "f:data", "f:a") {
			t.Fatalf("data %v:%s", got.Data, describeEntries(got.ManagedFields))
		}
		if last := got.Annotations[corev1.LastAppliedConfigAnnotation]; last != "" && !strings.Contains(last, `"a":"2"`) {
			t.Fatalf("the last-applied annotation was not kept in step: %s", last)
		}
		run(t, strings.Replace(cm, "'1'", "'3'", 1), "apply", "-f", "-")
	})

	t.Run("client-go typed apply", func(t *testing.T) {
		cfg := appsv1apply.Deployment("typed", "default").
			WithLabels(map[string]string{"app": "typed"}).
			WithSpec(appsv1apply.DeploymentSpec().
				WithReplicas(1).
				WithSelector(metav1apply.LabelSelector().WithMatchLabels(map[string]string{"app": "typed"})).
				WithTemplate(corev1apply.PodTemplateSpec().
					WithLabels(map[string]string{"app": "typed"}).
					WithSpec(corev1apply.PodSpec().WithContainers(corev1apply.Container().WithName("c").WithImage("example/c:1")))))
		d, err := s.Client.AppsV1().Deployments("default").Apply(ctx, cfg, metav1.ApplyOptions{FieldManager: "x"})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := managedEntry(d.ManagedFields, "x", metav1.ManagedFieldsOperationApply, ""); !ok || d.Spec.Template.Spec.Containers[0].ImagePullPolicy != corev1.PullIfNotPresent {
			t.Fatalf("applied %+v:%s", d.Spec.Template.Spec.Containers[0], describeEntries(d.ManagedFields))
		}
		cfg.Spec.WithReplicas(3)
		if d, err = s.Client.AppsV1().Deployments("default").Apply(ctx, cfg, metav1.ApplyOptions{FieldManager: "x"}); err != nil || *d.Spec.Replicas != 3 {
			t.Fatalf("re-apply: %v", err)
		}
		// Extracting the manager's configuration round-trips what it applied.
		ext, err := appsv1apply.ExtractDeployment(d, "x")
		if err != nil {
			t.Fatal(err)
		}
		if ext.Spec == nil || ext.Spec.Replicas == nil || *ext.Spec.Replicas != 3 || ext.Status != nil {
			t.Fatalf("extracted %+v", ext)
		}
	})

	t.Run("kubectl get --show-managed-fields shows the entries", func(t *testing.T) {
		out := run(t, "", "get", "deploy", "ssa", "-o", "yaml", "--show-managed-fields")
		for _, want := range []string{"managedFields:", "manager: kubectl", "operation: Apply", "manager: other", "fieldsType: FieldsV1", "f:replicas: {}", "manager: editor", "operation: Update"} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
		if out := run(t, "", "get", "deploy", "ssa", "-o", "yaml"); strings.Contains(out, "managedFields") {
			t.Errorf("managedFields shown without --show-managed-fields:\n%s", out)
		}
	})

	t.Run("writes record their manager, subresource and time", func(t *testing.T) {
		cm, err := s.Client.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "made"}, Data: map[string]string{"a": "1"}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		// client-go's default User-Agent is "<binary>/<version> ...": the manager is the binary.
		if len(cm.ManagedFields) != 1 || cm.ManagedFields[0].Operation != metav1.ManagedFieldsOperationUpdate ||
			cm.ManagedFields[0].Manager == "" || strings.Contains(cm.ManagedFields[0].Manager, "/") || cm.ManagedFields[0].Time == nil {
			t.Fatalf("create:%s", describeEntries(cm.ManagedFields))
		}
		run(t, "", "scale", "deploy", "ssa", "--replicas=4")
		d := deployment(t, "ssa")
		if e, ok := managedEntry(d.ManagedFields, "kubectl", metav1.ManagedFieldsOperationUpdate, "scale"); !ok || !ownsField(t, e, "f:spec", "f:replicas") {
			t.Fatalf("scale:%s", describeEntries(d.ManagedFields))
		}
		// The written object, not a read after it: the deployment controller may write the
		// status (and own observedGeneration) again at any moment, and conflict with us.
		if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			d = deployment(t, "ssa")
			d.Status.ObservedGeneration = 99
			var err error
			d, err = s.Client.AppsV1().Deployments("default").UpdateStatus(ctx, d, metav1.UpdateOptions{FieldManager: "status-writer"})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if e, ok := managedEntry(d.ManagedFields, "status-writer", metav1.ManagedFieldsOperationUpdate, "status"); !ok || !ownsField(t, e, "f:status", "f:observedGeneration") {
			t.Fatalf("status:%s", describeEntries(d.ManagedFields))
		}
		// Applying status through the status subresource records an Apply entry for it (on
		// a kind no controller writes the status of).
		pv := &corev1.PersistentVolume{
			ObjectMeta: metav1.ObjectMeta{Name: "ssa-pv"},
			Spec: corev1.PersistentVolumeSpec{
				Capacity:               corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")},
				AccessModes:            []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				PersistentVolumeSource: corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/tmp/ssa"}},
			},
		}
		if _, err := s.Client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		got, err := s.Client.CoreV1().PersistentVolumes().Patch(ctx, "ssa-pv", types.ApplyPatchType,
			[]byte(`{"apiVersion":"v1","kind":"PersistentVolume","metadata":{"name":"ssa-pv"},"spec":{"persistentVolumeReclaimPolicy":"Delete"},"status":{"message":"applied"}}`),
			metav1.PatchOptions{FieldManager: "status-applier"}, "status")
		if err != nil {
			t.Fatal(err)
		}
		e, ok := managedEntry(got.ManagedFields, "status-applier", metav1.ManagedFieldsOperationApply, "status")
		if !ok || got.Status.Message != "applied" || !ownsField(t, e, "f:status", "f:message") || ownsField(t, e, "f:spec") {
			t.Fatalf("status apply (message %q):%s", got.Status.Message, describeEntries(got.ManagedFields))
		}
		if got.Spec.PersistentVolumeReclaimPolicy == corev1.PersistentVolumeReclaimDelete {
			t.Fatal("a status apply changed the spec")
		}
	})

	t.Run("managedFields reset by a patch", func(t *testing.T) {
		for _, reset := range []string{`[]`, `[{}]`} {
			cm, err := s.Client.CoreV1().ConfigMaps("default").Patch(ctx, "ssa-cm", types.MergePatchType, []byte(`{"metadata":{"managedFields":`+reset+`}}`), metav1.PatchOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(cm.ManagedFields) != 0 {
				t.Fatalf("after a reset to %s:%s", reset, describeEntries(cm.ManagedFields))
			}
		}
		// A patch that leaves managedFields alone keeps them.
		run(t, "", "label", "cm", "ssa-cm", "again=yes")
		cm, err := s.Client.CoreV1().ConfigMaps("default").Patch(ctx, "ssa-cm", types.MergePatchType, []byte(`{"data":{"x":"y"}}`), metav1.PatchOptions{FieldManager: "patcher"})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := managedEntry(cm.ManagedFields, "kubectl-label", metav1.ManagedFieldsOperationUpdate, ""); !ok {
			t.Fatalf("entries lost:%s", describeEntries(cm.ManagedFields))
		}
	})

	t.Run("bad apply requests get upstream's errors", func(t *testing.T) {
		raw := func(contentType, query, body string) (int, metav1.Status) {
			t.Helper()
			return rawRequest(t, s, ctx, http.MethodPatch, "/apis/apps/v1/namespaces/default/deployments/ssa"+query, contentType, body)
		}
		code, st := raw("application/apply-patch+yaml", "", "apiVersion: apps/v1\nkind: Deployment\n")
		if code != http.StatusUnprocessableEntity || !strings.Contains(st.Message, "fieldManager: Required value: is required for apply patch") {
			t.Errorf("no fieldManager: %d %q", code, st.Message)
		}
		code, st = raw("application/apply-patch+yaml", "?fieldManager=x", "apiVersion: v1\nkind: ConfigMap\n")
		if code != http.StatusBadRequest || !strings.Contains(st.Message, "invalid object type") {
			t.Errorf("wrong kind: %d %q", code, st.Message)
		}
		code, st = raw("application/apply-patch+yaml", "?fieldManager=x", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: ssa}\nspec: {bogus: 1}\n")
		if code != http.StatusBadRequest || !strings.Contains(st.Message, ".spec.bogus: field not declared in schema") {
			t.Errorf("unknown field: %d %q", code, st.Message)
		}
		code, st = raw("application/apply-patch+yaml", "?fieldManager=x&fieldValidation=Strict", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: ssa}\nspec: {replicas: 1, replicas: 2}\n")
		if code != http.StatusBadRequest || !strings.Contains(st.Message, "error strict decoding YAML") {
			t.Errorf("duplicate field: %d %q", code, st.Message)
		}
		code, _ = raw("application/apply-patch+cbor", "?fieldManager=x", "\xa0")
		if code != http.StatusUnsupportedMediaType {
			t.Errorf("cbor: %d", code)
		}
		code, st = raw("application/apply-patch+yaml", "?fieldManager=x&force=true&dryRun=All", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: ssa}\nspec: {replicas: 9}\n")
		if code != http.StatusOK {
			t.Errorf("dry run: %d %q", code, st.Message)
		}
		if r := *deployment(t, "ssa").Spec.Replicas; r == 9 {
			t.Error("a dry-run apply was stored")
		}
	})

	t.Run("apply creates with 201 and applies through create-on-update kinds", func(t *testing.T) {
		code, st := rawRequest(t, s, ctx, http.MethodPatch, "/api/v1/namespaces/default/configmaps/fresh?fieldManager=x", "application/apply-patch+yaml",
			"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fresh}\ndata: {a: '1'}\n")
		if code != http.StatusCreated {
			t.Fatalf("create by apply: %d %q", code, st.Message)
		}
		code, st = rawRequest(t, s, ctx, http.MethodPatch, "/api/v1/namespaces/default/configmaps/fresh?fieldManager=x", "application/apply-patch+yaml",
			"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fresh}\ndata: {a: '2'}\n")
		if code != http.StatusOK {
			t.Fatalf("update by apply: %d %q", code, st.Message)
		}
		code, st = rawRequest(t, s, ctx, http.MethodPatch, "/api/v1/namespaces/default/configmaps/other?fieldManager=x", "application/apply-patch+yaml",
			"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: mismatch}\n")
		if code != http.StatusBadRequest {
			t.Fatalf("name mismatch: %d %q", code, st.Message)
		}
	})
}

// rawRequest sends a request with the admin credentials and returns the status code and,
// for errors, the Status.
func rawRequest(t *testing.T, s *capstantesting.Server, ctx context.Context, method, path, contentType, body string) (int, metav1.Status) {
	t.Helper()
	rt, err := rest.TransportFor(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(s.Config.Host, "/")+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := (&http.Client{Transport: rt}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st metav1.Status
	if resp.StatusCode >= 300 {
		_ = json.NewDecoder(resp.Body).Decode(&st)
	}
	return resp.StatusCode, st
}

// BenchmarkIntegrationPodCreate measures pod creates through the API server, one at a time
// and eight at once, reporting the p50 and p99 latency: field management adds its Update
// entry to every create.
func BenchmarkIntegrationPodCreate(b *testing.B) {
	s := capstantesting.StartServer(b)
	ctx := b.Context()
	newPod := func(name string) *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": "bench", "pod-template-hash": "7d9f8"}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{
				Name: "web", Image: "nginx:1.27",
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 80}},
				Env:   []corev1.EnvVar{{Name: "MODE", Value: "prod"}},
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
					corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("64Mi")}},
			}}},
		}
	}
	report := func(b *testing.B, lat []time.Duration) {
		slices.Sort(lat)
		if len(lat) == 0 {
			return
		}
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	}
	var n atomic.Int64
	b.Run("serial", func(b *testing.B) {
		var lat []time.Duration
		for b.Loop() {
			start := time.Now()
			if _, err := s.Client.CoreV1().Pods("default").Create(ctx, newPod(fmt.Sprint("bench-", n.Add(1))), metav1.CreateOptions{}); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(start))
		}
		report(b, lat)
	})
	b.Run("parallel-8", func(b *testing.B) {
		var mu sync.Mutex
		var lat []time.Duration
		b.SetParallelism(4) // 2 CPUs × 4 = 8 goroutines on the reference machine
		b.RunParallel(func(pb *testing.PB) {
			var mine []time.Duration
			for pb.Next() {
				start := time.Now()
				if _, err := s.Client.CoreV1().Pods("default").Create(ctx, newPod(fmt.Sprint("bench-", n.Add(1))), metav1.CreateOptions{}); err != nil {
					b.Error(err)
					return
				}
				mine = append(mine, time.Since(start))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		})
		report(b, lat)
	})
}
