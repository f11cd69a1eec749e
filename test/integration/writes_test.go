package integration

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
)

// causeFields returns the field paths of an Invalid error's causes.
func causeFields(err error) []string {
	st, ok := err.(apierrors.APIStatus)
	if !ok || st.Status().Details == nil {
		return nil
	}
	var out []string
	for _, c := range st.Status().Details.Causes {
		out = append(out, c.Field)
	}
	return out
}

// TestIntegrationWriteSemantics checks generation, the status and spec split, the scale
// and binding subresources, dry runs, field validation and immutable fields.
func TestIntegrationWriteSemantics(t *testing.T) {
	t.Parallel()
	s := start(t)
	ctx := t.Context()
	c := s.Client
	deployments := c.AppsV1().Deployments("default")
	merge := func(patch string) []byte { return []byte(patch) }

	t.Run("generation counts spec changes only", func(t *testing.T) {
		d, err := deployments.Create(ctx, testDeployment("gen", 1), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if d.Generation != 1 {
			t.Fatalf("generation after create %d, want 1", d.Generation)
		}
		steps := []struct {
			what, patch, sub string
			want             int64
		}{
			{"a label change", `{"metadata":{"labels":{"x":"y"}}}`, "", 1},
			{"a status change", `{"status":{"observedGeneration":1,"replicas":7}}`, "status", 1},
			{"a spec change", `{"spec":{"replicas":2}}`, "", 2},
			{"a same-value spec patch", `{"spec":{"replicas":2}}`, "", 2},
			{"a template change", `{"spec":{"template":{"metadata":{"annotations":{"a":"b"}}}}}`, "", 3},
		}
		for _, st := range steps {
			var subs []string
			if st.sub != "" {
				subs = []string{st.sub}
			}
			d, err := deployments.Patch(ctx, "gen", types.MergePatchType, merge(st.patch), metav1.PatchOptions{}, subs...)
			if err != nil {
				t.Fatalf("%s: %v", st.what, err)
			}
			if d.Generation != st.want {
				t.Errorf("after %s generation is %d, want %d", st.what, d.Generation, st.want)
			}
		}
		cm, err := c.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "gen"}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if cm.Generation != 0 {
			t.Errorf("a configmap (no spec) has generation %d, want 0 as upstream", cm.Generation)
		}
	})

	t.Run("the main resource ignores status and /status ignores spec", func(t *testing.T) {
		if _, err := deployments.Create(ctx, testDeployment("split", 1), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			d, err := deployments.Get(ctx, "split", metav1.GetOptions{})
			if err != nil {
				return err
			}
			wantStatus := d.Status.Replicas
			d.Spec.Replicas = ptr.To[int32](4)
			d.Status.Replicas = 99
			got, err := deployments.Update(ctx, d, metav1.UpdateOptions{})
			if err != nil {
				return err
			}
			if *got.Spec.Replicas != 4 || got.Status.Replicas != wantStatus {
				t.Errorf("update: spec.replicas %d status.replicas %d, want 4 and unchanged %d", *got.Spec.Replicas, got.Status.Replicas, wantStatus)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
			d, err := deployments.Get(ctx, "split", metav1.GetOptions{})
			if err != nil {
				return err
			}
			d.Spec.Replicas = ptr.To[int32](9)
			d.Status.ObservedGeneration = 42
			got, err := deployments.UpdateStatus(ctx, d, metav1.UpdateOptions{})
			if err != nil {
				return err
			}
			if *got.Spec.Replicas != 4 || got.Status.ObservedGeneration != 42 {
				t.Errorf("status update: spec.replicas %d observedGeneration %d, want unchanged 4 and 42", *got.Spec.Replicas, got.Status.ObservedGeneration)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}

		pods := c.CoreV1().Pods("default")
		p, err := pods.Create(ctx, testPod("split"), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if p.Status.Phase != corev1.PodPending {
			t.Errorf("new pod phase %q, want Pending", p.Status.Phase)
		}
		err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
			p, err := pods.Get(ctx, "split", metav1.GetOptions{})
			if err != nil {
				return err
			}
			p.Spec.Containers[0].Image = "pause:2"
			p.Status.Phase = corev1.PodSucceeded
			if p, err = pods.Update(ctx, p, metav1.UpdateOptions{}); err != nil {
				return err
			}
			if p.Spec.Containers[0].Image != "pause:2" || p.Status.Phase != corev1.PodPending {
				t.Errorf("pod update: image %s phase %s, want pause:2 and Pending", p.Spec.Containers[0].Image, p.Status.Phase)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
			p, err := pods.Get(ctx, "split", metav1.GetOptions{})
			if err != nil {
				return err
			}
			p.Spec.Containers[0].Image = "pause:3"
			p.Status.Phase = corev1.PodRunning
			if p, err = pods.UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil {
				return err
			}
			if p.Spec.Containers[0].Image != "pause:2" || p.Status.Phase != corev1.PodRunning {
				t.Errorf("pod status update: image %s phase %s, want pause:2 and Running", p.Spec.Containers[0].Image, p.Status.Phase)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})

	t.Run("scale reads and writes replicas of every scalable kind", func(t *testing.T) {
		labels := map[string]string{"app": "scaled"}
		template := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "i"}}}}
		sel := &metav1.LabelSelector{MatchLabels: labels}
		if _, err := deployments.Create(ctx, testDeployment("scaled", 1), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.AppsV1().ReplicaSets("default").Create(ctx, &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "scaled"},
			Spec: appsv1.ReplicaSetSpec{Replicas: ptr.To[int32](1), Selector: sel, Template: template}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.AppsV1().StatefulSets("default").Create(ctx, &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Name: "scaled"},
			Spec: appsv1.StatefulSetSpec{Replicas: ptr.To[int32](1), Selector: sel, Template: template, ServiceName: "scaled"}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.CoreV1().ReplicationControllers("default").Create(ctx, &corev1.ReplicationController{ObjectMeta: metav1.ObjectMeta{Name: "scaled"},
			Spec: corev1.ReplicationControllerSpec{Replicas: ptr.To[int32](1), Selector: labels, Template: &template}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		type scaler struct {
			get      func() (*autoscalingv1.Scale, error)
			update   func(*autoscalingv1.Scale) (*autoscalingv1.Scale, error)
			patch    func([]byte) (*autoscalingv1.Scale, error)
			replicas func() (int32, error)
		}
		rsc, ssc, rcc := c.AppsV1().ReplicaSets("default"), c.AppsV1().StatefulSets("default"), c.CoreV1().ReplicationControllers("default")
		scalePatch := func(resource string) func([]byte) (*autoscalingv1.Scale, error) {
			return func(data []byte) (*autoscalingv1.Scale, error) {
				rc := c.AppsV1().RESTClient()
				if resource == "replicationcontrollers" {
					rc = c.CoreV1().RESTClient()
				}
				out := &autoscalingv1.Scale{}
				err := rc.Patch(types.MergePatchType).Namespace("default").Resource(resource).Name("scaled").SubResource("scale").Body(data).Do(ctx).Into(out)
				return out, err
			}
		}
		for name, sc := range map[string]scaler{
			"deployments": {
				func() (*autoscalingv1.Scale, error) { return deployments.GetScale(ctx, "scaled", metav1.GetOptions{}) },
				func(s *autoscalingv1.Scale) (*autoscalingv1.Scale, error) {
					return deployments.UpdateScale(ctx, "scaled", s, metav1.UpdateOptions{})
				},
				scalePatch("deployments"),
				func() (int32, error) {
					d, err := deployments.Get(ctx, "scaled", metav1.GetOptions{})
					return ptr.Deref(d.Spec.Replicas, -1), err
				},
			},
			"replicasets": {
				func() (*autoscalingv1.Scale, error) { return rsc.GetScale(ctx, "scaled", metav1.GetOptions{}) },
				func(s *autoscalingv1.Scale) (*autoscalingv1.Scale, error) {
					return rsc.UpdateScale(ctx, "scaled", s, metav1.UpdateOptions{})
				},
				scalePatch("replicasets"),
				func() (int32, error) {
					d, err := rsc.Get(ctx, "scaled", metav1.GetOptions{})
					return ptr.Deref(d.Spec.Replicas, -1), err
				},
			},
			"statefulsets": {
				func() (*autoscalingv1.Scale, error) { return ssc.GetScale(ctx, "scaled", metav1.GetOptions{}) },
				func(s *autoscalingv1.Scale) (*autoscalingv1.Scale, error) {
					return ssc.UpdateScale(ctx, "scaled", s, metav1.UpdateOptions{})
				},
				scalePatch("statefulsets"),
				func() (int32, error) {
					d, err := ssc.Get(ctx, "scaled", metav1.GetOptions{})
					return ptr.Deref(d.Spec.Replicas, -1), err
				},
			},
			"replicationcontrollers": {
				func() (*autoscalingv1.Scale, error) { return rcc.GetScale(ctx, "scaled", metav1.GetOptions{}) },
				func(s *autoscalingv1.Scale) (*autoscalingv1.Scale, error) {
					return rcc.UpdateScale(ctx, "scaled", s, metav1.UpdateOptions{})
				},
				scalePatch("replicationcontrollers"),
				func() (int32, error) {
					d, err := rcc.Get(ctx, "scaled", metav1.GetOptions{})
					return ptr.Deref(d.Spec.Replicas, -1), err
				},
			},
		} {
			t.Run(name, func(t *testing.T) {
				got, err := sc.get()
				if err != nil {
					t.Fatal(err)
				}
				if got.Spec.Replicas != 1 || got.Name != "scaled" || got.ResourceVersion == "" {
					t.Errorf("scale %+v, want 1 replica", got)
				}
				if got.Status.Selector != "app=scaled" {
					t.Errorf("scale status.selector %q, want app=scaled", got.Status.Selector)
				}
				got.Spec.Replicas = 3
				err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
					cur, err := sc.get()
					if err != nil {
						return err
					}
					cur.Spec.Replicas = 3
					_, err = sc.update(cur)
					return err
				})
				if err != nil {
					t.Fatalf("update scale: %v", err)
				}
				if n, err := sc.replicas(); err != nil || n != 3 {
					t.Errorf("after scale update spec.replicas %d (%v), want 3", n, err)
				}
				if out, err := sc.patch([]byte(`{"spec":{"replicas":5}}`)); err != nil || out.Spec.Replicas != 5 {
					t.Fatalf("patch scale: %v %+v", err, out)
				}
				if n, err := sc.replicas(); err != nil || n != 5 {
					t.Errorf("after scale patch spec.replicas %d (%v), want 5", n, err)
				}
				stale := got.DeepCopy()
				stale.ResourceVersion = "1"
				if _, err := sc.update(stale); !apierrors.IsConflict(err) {
					t.Errorf("scale update with a stale resourceVersion: %v, want Conflict", err)
				}
				if _, err := sc.patch([]byte(`{"spec":{"replicas":-1}}`)); !apierrors.IsInvalid(err) {
					t.Errorf("negative scale: %v, want Invalid", err)
				}
			})
		}
	})

	t.Run("binding assigns a node once", func(t *testing.T) {
		pods := c.CoreV1().Pods("default")
		unscheduled := testPod("bound")
		unscheduled.Spec.SchedulerName = "nobody" // the test is the scheduler
		if _, err := pods.Create(ctx, unscheduled, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		binding := &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "bound"}, Target: corev1.ObjectReference{Kind: "Node", Name: "node-a"}}
		if err := pods.Bind(ctx, binding, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		p, err := pods.Get(ctx, "bound", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if p.Spec.NodeName != "node-a" {
			t.Errorf("nodeName %q after binding, want node-a", p.Spec.NodeName)
		}
		scheduled := false
		for _, cond := range p.Status.Conditions {
			scheduled = scheduled || cond.Type == corev1.PodScheduled && cond.Status == corev1.ConditionTrue
		}
		if !scheduled {
			t.Errorf("no PodScheduled=True condition after binding: %v", p.Status.Conditions)
		}
		binding.Target.Name = "node-b"
		if err := pods.Bind(ctx, binding, metav1.CreateOptions{}); !apierrors.IsConflict(err) {
			t.Errorf("second binding: %v, want 409 Conflict", err)
		}
	})

	t.Run("dryRun=All writes nothing", func(t *testing.T) {
		dry := []string{metav1.DryRunAll}
		cms := c.CoreV1().ConfigMaps("default")
		out, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "dry"}, Data: map[string]string{"a": "1"}}, metav1.CreateOptions{DryRun: dry})
		if err != nil {
			t.Fatal(err)
		}
		if out.Name != "dry" || out.UID == "" || out.Data["a"] != "1" {
			t.Errorf("dry-run create returned %+v", out)
		}
		if _, err := cms.Get(ctx, "dry", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("after a dry-run create: %v, want NotFound", err)
		}
		cm, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "dry"}, Data: map[string]string{"a": "1"}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cm.Data["a"] = "2"
		if out, err := cms.Update(ctx, cm, metav1.UpdateOptions{DryRun: dry}); err != nil || out.Data["a"] != "2" {
			t.Errorf("dry-run update: %v %v", err, out)
		}
		if _, err := cms.Patch(ctx, "dry", types.MergePatchType, []byte(`{"data":{"a":"3"}}`), metav1.PatchOptions{DryRun: dry}); err != nil {
			t.Error(err)
		}
		if err := cms.Delete(ctx, "dry", metav1.DeleteOptions{DryRun: dry}); err != nil {
			t.Error(err)
		}
		got, err := cms.Get(ctx, "dry", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("after dry-run delete: %v", err)
		}
		if got.Data["a"] != "1" || got.ResourceVersion != cm.ResourceVersion {
			t.Errorf("dry-run writes changed the object: data %v rv %s (was %s)", got.Data, got.ResourceVersion, cm.ResourceVersion)
		}
		// A dry-run service keeps no cluster IP.
		svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "dry"}, Spec: corev1.ServiceSpec{ClusterIP: "10.43.100.100", Ports: []corev1.ServicePort{{Port: 80}}}}
		if _, err := c.CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{DryRun: dry}); err != nil {
			t.Fatal(err)
		}
		svc.Name = "real"
		if _, err := c.CoreV1().Services("default").Create(ctx, svc, metav1.CreateOptions{}); err != nil {
			t.Errorf("the IP of a dry-run service stayed allocated: %v", err)
		}
	})

	t.Run("fieldValidation Strict refuses, Warn warns and Ignore ignores unknown fields", func(t *testing.T) {
		raw := newRawClient(t, s)
		for i, tc := range []struct {
			param    string
			wantCode int
			warn     bool
		}{
			{"Strict", http.StatusBadRequest, false},
			{"Warn", http.StatusCreated, true},
			{"", http.StatusCreated, true},
			{"Ignore", http.StatusCreated, false},
		} {
			if tc.param == "Strict" {
				dup := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"fv-dup"},"data":{"k":"1","k":"2"}}`
				code, _, out := raw.do("POST", "/api/v1/namespaces/default/configmaps?fieldValidation=Strict", map[string]string{"Content-Type": "application/json"}, []byte(dup))
				if code != http.StatusBadRequest || !strings.Contains(string(out), `duplicate field \"data.k\"`) {
					t.Errorf("strict duplicate field: %d %s, want 400 naming it", code, out)
				}
			}
			body := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"fv-` + string(rune('a'+i)) + `"},"bogus":1,"data":{"k":"v"}}`
			path := "/api/v1/namespaces/default/configmaps"
			if tc.param != "" {
				path += "?fieldValidation=" + tc.param
			}
			code, h, out := raw.do("POST", path, map[string]string{"Content-Type": "application/json"}, []byte(body))
			if code != tc.wantCode {
				t.Errorf("fieldValidation=%q: %d %s, want %d", tc.param, code, out, tc.wantCode)
			}
			if tc.param == "Strict" && !strings.Contains(string(out), `unknown field \"bogus\"`) {
				t.Errorf("strict error does not name the field: %s", out)
			}
			warnings, _ := utilnet.ParseWarningHeaders(h.Values("Warning"))
			var texts []string
			for _, w := range warnings {
				texts = append(texts, w.Text)
			}
			if tc.warn != slices.Contains(texts, `unknown field "bogus"`) {
				t.Errorf("fieldValidation=%q: warnings %q, want a warning: %v", tc.param, texts, tc.warn)
			}
		}
	})

	t.Run("immutable fields are refused with upstream's field paths", func(t *testing.T) {
		svc, err := c.CoreV1().Services("default").Create(ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "immutable"},
			Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		svc.Spec.ClusterIP = "10.43.222.222"
		_, err = c.CoreV1().Services("default").Update(ctx, svc, metav1.UpdateOptions{})
		if !apierrors.IsInvalid(err) || !slices.Contains(causeFields(err), "spec.clusterIPs[0]") {
			t.Errorf("changing clusterIP: %v (fields %v), want Invalid on spec.clusterIPs[0]", err, causeFields(err))
		}

		_, err = deployments.Patch(ctx, "gen", types.StrategicMergePatchType,
			[]byte(`{"spec":{"selector":{"matchLabels":{"app":"other"}},"template":{"metadata":{"labels":{"app":"other"}}}}}`), metav1.PatchOptions{})
		if !apierrors.IsInvalid(err) || !slices.Contains(causeFields(err), "spec.selector") {
			t.Errorf("changing a deployment selector: %v (fields %v), want Invalid on spec.selector", err, causeFields(err))
		}

		_, err = c.CoreV1().Pods("default").Patch(ctx, "split", types.MergePatchType, []byte(`{"spec":{"restartPolicy":"Never"}}`), metav1.PatchOptions{})
		if !apierrors.IsInvalid(err) || !slices.Contains(causeFields(err), "spec") || !strings.Contains(err.Error(), "pod updates may not change fields other than") {
			t.Errorf("changing a pod's restartPolicy: %v (fields %v), want Invalid on spec", err, causeFields(err))
		}
	})

	t.Run("invalid write options are 422 and write nothing", func(t *testing.T) {
		raw := newRawClient(t, s)
		cm := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"opts"}}`
		json := map[string]string{"Content-Type": "application/json"}
		for _, tc := range []struct{ method, path, contentType, body string }{
			{"POST", "/api/v1/namespaces/default/configmaps?dryRun=Bogus", "application/json", cm},
			{"POST", "/api/v1/namespaces/default/configmaps?fieldValidation=Bogus", "application/json", cm},
			{"PUT", "/api/v1/namespaces/default/configmaps/opts?dryRun=true", "application/json", cm},
			{"PATCH", "/api/v1/namespaces/default/configmaps/opts?force=true", "application/merge-patch+json", `{"data":{"a":"b"}}`},
			{"DELETE", "/api/v1/namespaces/default/configmaps/opts", "application/json", `{"propagationPolicy":"Bogus"}`},
			{"DELETE", "/api/v1/namespaces/default/configmaps/opts", "application/json", `{"propagationPolicy":"Orphan","orphanDependents":true}`},
			{"DELETE", "/api/v1/namespaces/default/configmaps?dryRun=Bogus", "application/json", ``},
		} {
			if tc.method != "POST" {
				if code, _, out := raw.do("POST", "/api/v1/namespaces/default/configmaps", json, []byte(cm)); code != http.StatusCreated && code != http.StatusConflict {
					t.Fatalf("creating opts: %d %s", code, out)
				}
			}
			code, _, out := raw.do(tc.method, tc.path, map[string]string{"Content-Type": tc.contentType}, []byte(tc.body))
			if code != http.StatusUnprocessableEntity {
				t.Errorf("%s %s %s: %d %s, want 422", tc.method, tc.path, tc.body, code, out)
			}
			got, err := c.CoreV1().ConfigMaps("default").Get(ctx, "opts", metav1.GetOptions{})
			switch {
			case tc.method == "POST" && !apierrors.IsNotFound(err):
				t.Errorf("%s %s wrote the object: %v", tc.method, tc.path, err)
			case tc.method != "POST" && (err != nil || got.Data != nil):
				t.Errorf("%s %s changed the object: %v %v", tc.method, tc.path, err, got)
			}
		}
		_ = c.CoreV1().ConfigMaps("default").Delete(ctx, "opts", metav1.DeleteOptions{})
	})

	t.Run("delete preconditions guard against stale deletes", func(t *testing.T) {
		cms := c.CoreV1().ConfigMaps("default")
		cm, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "guarded"}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cms.Patch(ctx, "guarded", types.MergePatchType, []byte(`{"data":{"a":"b"}}`), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		for _, pre := range []*metav1.Preconditions{{ResourceVersion: &cm.ResourceVersion}, {UID: ptr.To[types.UID]("someone-else")}} {
			if err := cms.Delete(ctx, "guarded", metav1.DeleteOptions{Preconditions: pre}); !apierrors.IsConflict(err) {
				t.Errorf("delete with stale precondition %+v: %v, want 409 Conflict", pre, err)
			}
		}
		if err := cms.Delete(ctx, "guarded", metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &cm.UID}}); err != nil {
			t.Errorf("delete with a matching UID precondition: %v", err)
		}
	})

	t.Run("an update of a re-created object conflicts on its UID", func(t *testing.T) {
		cms := c.CoreV1().ConfigMaps("default")
		old, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "recreated"}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := cms.Delete(ctx, "recreated", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "recreated"}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		old.ResourceVersion = "" // unconditional, but still for the old object
		old.Data = map[string]string{"stale": "write"}
		_, err = cms.Update(ctx, old, metav1.UpdateOptions{})
		if !apierrors.IsConflict(err) || !strings.Contains(err.Error(), "Precondition failed: UID in precondition") {
			t.Errorf("update carrying the old UID: %v, want 409 Conflict on the UID precondition", err)
		}
		_, err = cms.Patch(ctx, "recreated", types.MergePatchType, []byte(`{"metadata":{"uid":"not-mine"}}`), metav1.PatchOptions{})
		if !apierrors.IsInvalid(err) || !slices.Contains(causeFields(err), "metadata.uid") {
			t.Errorf("patching metadata.uid: %v (fields %v), want Invalid on metadata.uid", err, causeFields(err))
		}
	})

	t.Run("generateName makes a unique name", func(t *testing.T) {
		seen := map[string]bool{}
		for i := 0; i < 5; i++ {
			p := testPod("")
			p.GenerateName = "gen-"
			out, err := c.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(out.Name, "gen-") || len(out.Name) != len("gen-")+5 || seen[out.Name] || out.GenerateName != "gen-" {
				t.Errorf("generated name %q (generateName %q)", out.Name, out.GenerateName)
			}
			seen[out.Name] = true
		}
	})
}

// TestIntegrationNamespacesAndCollections checks namespace termination and
// deletecollection.
func TestIntegrationNamespacesAndCollections(t *testing.T) {
	t.Parallel()
	s := start(t)
	ctx := t.Context()
	c := s.Client
	if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "doomed"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cms := c.CoreV1().ConfigMaps("doomed")
	for _, cm := range []*corev1.ConfigMap{
		{ObjectMeta: metav1.ObjectMeta{Name: "keep-1", Labels: map[string]string{"keep": "yes"}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "keep-2", Labels: map[string]string{"keep": "yes"}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "drop-1", Labels: map[string]string{"keep": "no"}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "drop-2", Labels: map[string]string{"keep": "no"}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "held", Finalizers: []string{"example.com/hold"}}},
	} {
		if _, err := cms.Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("deletecollection deletes what the selector matches", func(t *testing.T) {
		if err := cms.DeleteCollection(ctx, metav1.DeleteOptions{DryRun: []string{metav1.DryRunAll}}, metav1.ListOptions{LabelSelector: "keep=no"}); err != nil {
			t.Fatal(err)
		}
		if list, err := cms.List(ctx, metav1.ListOptions{LabelSelector: "keep=no"}); err != nil || len(list.Items) != 2 {
			t.Fatalf("after a dry-run deletecollection: %v, %d items, want 2", err, len(list.Items))
		}
		// Like upstream, the answer is the list of the deleted objects.
		var deleted corev1.ConfigMapList
		err := c.CoreV1().RESTClient().Delete().Namespace("doomed").Resource("configmaps").Param("labelSelector", "keep=no").Do(ctx).Into(&deleted)
		if err != nil {
			t.Fatal(err)
		}
		if got := cmNames(deleted.Items); !slices.Equal(got, []string{"drop-1", "drop-2"}) {
			t.Errorf("deletecollection answered with %v, want the deleted drop-1 and drop-2", got)
		}
		list, err := cms.List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := slices.DeleteFunc(cmNames(list.Items), func(n string) bool { return n == "kube-root-ca.crt" }); !slices.Equal(got, []string{"held", "keep-1", "keep-2"}) {
			t.Errorf("after deletecollection keep=no: %v", got)
		}
	})

	t.Run("a deleted namespace terminates and refuses new content", func(t *testing.T) {
		if err := c.CoreV1().Namespaces().Delete(ctx, "doomed", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		ns, err := c.CoreV1().Namespaces().Get(ctx, "doomed", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("namespace gone at once: %v", err)
		}
		if ns.Status.Phase != corev1.NamespaceTerminating || ns.DeletionTimestamp == nil {
			t.Errorf("deleted namespace: phase %s deletionTimestamp %v, want Terminating and set", ns.Status.Phase, ns.DeletionTimestamp)
		}
		_, err = cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "late"}}, metav1.CreateOptions{})
		if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "being terminated") {
			t.Errorf("create in a terminating namespace: %v, want 403 Forbidden", err)
		}
		if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "doomed"}}, metav1.CreateOptions{}); !apierrors.IsAlreadyExists(err) {
			t.Errorf("re-creating a terminating namespace: %v, want AlreadyExists", err)
		}
		// Release the held object so the namespace can go.
		if _, err := cms.Patch(ctx, "held", types.MergePatchType, []byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{}); err != nil && !apierrors.IsNotFound(err) {
			t.Fatal(err)
		}
	})
}

// TestIntegrationPodAdmission checks the admission defaults of pods: service account,
// default tolerations and priority.
func TestIntegrationPodAdmission(t *testing.T) {
	t.Parallel()
	s := start(t)
	ctx := t.Context()
	c := s.Client
	pods := c.CoreV1().Pods("default")

	p, err := pods.Create(ctx, testPod("plain"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Spec.ServiceAccountName != "default" || p.Spec.DeprecatedServiceAccount != "default" {
		t.Errorf("serviceAccountName %q serviceAccount %q, want default for both", p.Spec.ServiceAccountName, p.Spec.DeprecatedServiceAccount)
	}
	for _, key := range []string{corev1.TaintNodeNotReady, corev1.TaintNodeUnreachable} {
		found := false
		for _, tol := range p.Spec.Tolerations {
			if tol.Key == key && tol.Operator == corev1.TolerationOpExists && tol.Effect == corev1.TaintEffectNoExecute &&
				tol.TolerationSeconds != nil && *tol.TolerationSeconds == 300 {
				found = true
			}
		}
		if !found {
			t.Errorf("no default NoExecute toleration for %s with 300s: %+v", key, p.Spec.Tolerations)
		}
	}
	if p.Spec.Priority == nil || *p.Spec.Priority != 0 {
		t.Errorf("priority %v without a class, want 0", p.Spec.Priority)
	}

	own := testPod("own-toleration")
	own.Spec.Tolerations = []corev1.Toleration{{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](10)}}
	if p, err = pods.Create(ctx, own, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if len(p.Spec.Tolerations) != 2 || *p.Spec.Tolerations[0].TolerationSeconds != 10 {
		t.Errorf("a pod's own not-ready toleration was replaced or doubled: %+v", p.Spec.Tolerations)
	}

	pcs := c.SchedulingV1().PriorityClasses()
	if _, err := pcs.Create(ctx, &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "high"}, Value: 1000,
		PreemptionPolicy: ptr.To(corev1.PreemptNever)}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	hp := testPod("high")
	hp.Spec.PriorityClassName = "high"
	if p, err = pods.Create(ctx, hp, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if p.Spec.Priority == nil || *p.Spec.Priority != 1000 || p.Spec.PreemptionPolicy == nil || *p.Spec.PreemptionPolicy != corev1.PreemptNever {
		t.Errorf("priority %v preemptionPolicy %v from class high, want 1000 and Never", p.Spec.Priority, p.Spec.PreemptionPolicy)
	}
	sys := testPod("system")
	sys.Namespace = "kube-system"
	sys.Spec.PriorityClassName = "system-node-critical"
	if p, err = c.CoreV1().Pods("kube-system").Create(ctx, sys, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if p.Spec.Priority == nil || *p.Spec.Priority != 2000001000 {
		t.Errorf("system-node-critical priority %v, want 2000001000", p.Spec.Priority)
	}

	unknown := testPod("unknown-class")
	unknown.Spec.PriorityClassName = "nope"
	if _, err := pods.Create(ctx, unknown, metav1.CreateOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("unknown priorityClassName: %v, want 403 Forbidden", err)
	}

	if _, err := pcs.Create(ctx, &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "fallback"}, Value: 7, GlobalDefault: true}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if p, err = pods.Create(ctx, testPod("defaulted"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if p.Spec.PriorityClassName != "fallback" || p.Spec.Priority == nil || *p.Spec.Priority != 7 {
		t.Errorf("with a global default class: class %q priority %v, want fallback and 7", p.Spec.PriorityClassName, p.Spec.Priority)
	}
	if _, err := pcs.Create(ctx, &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "second-default"}, Value: 8, GlobalDefault: true}, metav1.CreateOptions{}); err == nil {
		t.Error("a second global default priority class was accepted")
	}
}
