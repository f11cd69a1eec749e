package integration

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	capstantesting "capstan/internal/testing"
)

const (
	protobufMedia = "application/vnd.kubernetes.protobuf"
	tableAccept   = "application/json;as=Table;v=v1;g=meta.k8s.io"
)

// rawClient sends hand-made requests with the admin credentials.
type rawClient struct {
	t    *testing.T
	host string
	http *http.Client
}

func newRawClient(t *testing.T, s *capstantesting.Server) *rawClient {
	t.Helper()
	rt, err := rest.TransportFor(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	return &rawClient{t: t, host: strings.TrimSuffix(s.Config.Host, "/"), http: &http.Client{Transport: rt}}
}

// open sends a request and returns the response with its body unread.
func (c *rawClient) open(method, path string, header map[string]string, body []byte) *http.Response {
	c.t.Helper()
	req, err := http.NewRequestWithContext(c.t.Context(), method, c.host+path, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp
}

// do sends a request and returns the status code, headers and body.
func (c *rawClient) do(method, path string, header map[string]string, body []byte) (int, http.Header, []byte) {
	c.t.Helper()
	resp := c.open(method, path, header, body)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return resp.StatusCode, resp.Header, data
}

// get is do for a GET that must succeed.
func (c *rawClient) get(path string, header map[string]string) (http.Header, []byte) {
	c.t.Helper()
	code, h, body := c.do("GET", path, header, nil)
	if code != http.StatusOK {
		c.t.Fatalf("GET %s: %d %s", path, code, body)
	}
	return h, body
}

// contentTypes records the Content-Type of every response a client receives.
type contentTypes struct {
	mu   sync.Mutex
	seen map[string]string // "METHOD path?query" -> Content-Type
}

func (c *contentTypes) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		resp, err := rt.RoundTrip(req)
		if err == nil {
			c.mu.Lock()
			c.seen[req.Method+" "+req.URL.Path+"?"+req.URL.RawQuery] = resp.Header.Get("Content-Type")
			c.mu.Unlock()
		}
		return resp, err
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// nextEvent waits for the next watch event.
func nextEvent(t *testing.T, w watch.Interface) watch.Event {
	t.Helper()
	select {
	case ev, ok := <-w.ResultChan():
		if !ok {
			t.Fatal("watch closed early")
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no watch event within 10s")
	}
	return watch.Event{}
}

func testPod(name string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"app": name}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "pause"}}}}
}

func testDeployment(name string, replicas int32) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To(replicas), Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "img:1"}}}}}}
}

// TestIntegrationEncodings reads and writes protobuf and YAML, and reads watch streams in
// JSON and protobuf framing.
func TestIntegrationEncodings(t *testing.T) {
	t.Parallel()
	s := start(t)
	ctx := t.Context()
	raw := newRawClient(t, s)

	t.Run("a protobuf clientset creates, gets, lists and watches over protobuf", func(t *testing.T) {
		seen := &contentTypes{seen: map[string]string{}}
		cfg := rest.CopyConfig(s.Config)
		cfg.ContentType = protobufMedia
		cfg.AcceptContentTypes = protobufMedia
		cfg.Wrap(seen.wrap)
		pb := kubernetes.NewForConfigOrDie(cfg)

		cms := pb.CoreV1().ConfigMaps("default")
		list, err := cms.List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		w, err := cms.Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		cm, err := cms.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "pb", Labels: map[string]string{"enc": "pb"}},
			Data: map[string]string{"k": "v"}, BinaryData: map[string][]byte{"b": {0, 1, 2}}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if cm.UID == "" || cm.Data["k"] != "v" || !bytes.Equal(cm.BinaryData["b"], []byte{0, 1, 2}) {
			t.Errorf("protobuf create returned %+v", cm)
		}
		ev := nextEvent(t, w)
		if got, ok := ev.Object.(*corev1.ConfigMap); ev.Type != watch.Added || !ok || got.Name != "pb" {
			t.Errorf("watch event %s %T, want ADDED ConfigMap pb", ev.Type, ev.Object)
		}
		got, err := cms.Get(ctx, "pb", metav1.GetOptions{})
		if err != nil || got.Data["k"] != "v" {
			t.Errorf("protobuf get: %v %+v", err, got)
		}
		if _, err := cms.Get(ctx, "missing", metav1.GetOptions{}); !apierrors.IsNotFound(err) || !strings.Contains(err.Error(), `"missing" not found`) {
			t.Errorf("protobuf get of a missing object: %v, want a NotFound Status", err)
		}

		pods := pb.CoreV1().Pods("default")
		if _, err := pods.Create(ctx, testPod("pb-pod"), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		pl, err := pods.List(ctx, metav1.ListOptions{LabelSelector: "app=pb-pod"})
		if err != nil || len(pl.Items) != 1 || pl.Items[0].Spec.Containers[0].Image != "pause" {
			t.Fatalf("protobuf pod list: %v %+v", err, pl)
		}
		pw, err := pods.Watch(ctx, metav1.ListOptions{ResourceVersion: "0"})
		if err != nil {
			t.Fatal(err)
		}
		defer pw.Stop()
		if ev := nextEvent(t, pw); ev.Type != watch.Added {
			t.Errorf("pod watch from 0: first event %s, want ADDED", ev.Type)
		}

		seen.mu.Lock()
		defer seen.mu.Unlock()
		if len(seen.seen) < 6 {
			t.Errorf("saw only %d responses: %v", len(seen.seen), seen.seen)
		}
		for req, ct := range seen.seen {
			want := protobufMedia
			if strings.Contains(req, "watch=true") {
				want = protobufMedia + ";stream=watch"
			}
			if ct != want {
				t.Errorf("%s answered in %q, want %q", req, ct, want)
			}
		}
	})

	t.Run("YAML bodies are read and YAML is written", func(t *testing.T) {
		body := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: from-yaml\ndata:\n  greeting: hello\n"
		code, h, out := raw.do("POST", "/api/v1/namespaces/default/configmaps",
			map[string]string{"Content-Type": "application/yaml", "Accept": "application/yaml"}, []byte(body))
		if code != http.StatusCreated {
			t.Fatalf("POST yaml: %d %s", code, out)
		}
		if ct := h.Get("Content-Type"); ct != "application/yaml" {
			t.Errorf("Content-Type %q, want application/yaml", ct)
		}
		if bytes.HasPrefix(bytes.TrimSpace(out), []byte("{")) {
			t.Errorf("response is JSON, not YAML:\n%s", out)
		}
		var cm corev1.ConfigMap
		if err := yaml.UnmarshalStrict(out, &cm); err != nil {
			t.Fatalf("response is not YAML of a ConfigMap: %v\n%s", err, out)
		}
		if cm.Kind != "ConfigMap" || cm.APIVersion != "v1" || cm.Data["greeting"] != "hello" || cm.UID == "" {
			t.Errorf("YAML response: %+v", cm)
		}
		_, out = raw.get("/api/v1/namespaces/default/configmaps?labelSelector=none%3Dsuch", map[string]string{"Accept": "application/yaml"})
		if !bytes.Contains(out, []byte("kind: ConfigMapList")) {
			t.Errorf("YAML list lacks its kind:\n%s", out)
		}
	})

	t.Run("a JSON watch stream is one event object per line", func(t *testing.T) {
		resp := raw.open("GET", "/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=0&fieldSelector=metadata.name%3Dpb",
			map[string]string{"Accept": "application/json"}, nil)
		defer resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("watch Content-Type %q, want application/json", ct)
		}
		line, err := bufio.NewReader(resp.Body).ReadBytes('\n')
		if err != nil {
			t.Fatal(err)
		}
		var ev struct {
			Type   string
			Object corev1.ConfigMap
		}
		if err := json.Unmarshal(line, &ev); err != nil {
			t.Fatalf("watch line is not a JSON event: %v: %s", err, line)
		}
		if ev.Type != "ADDED" || ev.Object.Kind != "ConfigMap" || ev.Object.APIVersion != "v1" || ev.Object.Name != "pb" {
			t.Errorf("watch event %s %s/%s %s", ev.Type, ev.Object.APIVersion, ev.Object.Kind, ev.Object.Name)
		}
	})

	t.Run("YAML cannot frame a watch: 406", func(t *testing.T) {
		code, _, body := raw.do("GET", "/api/v1/namespaces/default/configmaps?watch=true", map[string]string{"Accept": "application/yaml"}, nil)
		if code != http.StatusNotAcceptable {
			t.Errorf("YAML watch: %d %s, want 406", code, body)
		}
	})

	t.Run("a protobuf watch stream is length-prefixed enveloped events", func(t *testing.T) {
		resp := raw.open("GET", "/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=0&fieldSelector=metadata.name%3Dpb",
			map[string]string{"Accept": protobufMedia}, nil)
		defer resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); ct != protobufMedia+";stream=watch" {
			t.Errorf("watch Content-Type %q, want %s;stream=watch", ct, protobufMedia)
		}
		frame := make([]byte, 1<<16)
		n, err := protobuf.LengthDelimitedFramer.NewFrameReader(resp.Body).Read(frame)
		if err != nil {
			t.Fatal(err)
		}
		// The frame is a raw (unenveloped) WatchEvent; its object carries the envelope.
		var ev metav1.WatchEvent
		if _, _, err := protobuf.NewRawSerializer(scheme.Scheme, scheme.Scheme).Decode(frame[:n], &schema.GroupVersionKind{Version: "v1", Kind: "WatchEvent"}, &ev); err != nil {
			t.Fatalf("frame is not a protobuf WatchEvent: %v", err)
		}
		codec := protobuf.NewSerializer(scheme.Scheme, scheme.Scheme)
		obj, _, err := codec.Decode(ev.Object.Raw, nil, nil)
		if err != nil {
			t.Fatalf("event object: %v", err)
		}
		if cm, ok := obj.(*corev1.ConfigMap); ev.Type != "ADDED" || !ok || cm.Name != "pb" {
			t.Errorf("protobuf watch event %s %T", ev.Type, obj)
		}
	})
}

// decodeTable decodes a Table response.
func decodeTable(t *testing.T, body []byte) *metav1.Table {
	t.Helper()
	var tbl metav1.Table
	if err := json.Unmarshal(body, &tbl); err != nil {
		t.Fatalf("not a Table: %v\n%s", err, body)
	}
	if tbl.Kind != "Table" || tbl.APIVersion != "meta.k8s.io/v1" {
		t.Fatalf("kind %s/%s, want meta.k8s.io/v1 Table", tbl.APIVersion, tbl.Kind)
	}
	return &tbl
}

func columnNames(tbl *metav1.Table) []string {
	var out []string
	for _, c := range tbl.ColumnDefinitions {
		out = append(out, c.Name)
	}
	return out
}

// TestIntegrationTablesAndMetadata checks server-side printing (as=Table) and the
// partial object metadata forms.
func TestIntegrationTablesAndMetadata(t *testing.T) {
	t.Parallel()
	s := start(t)
	ctx := t.Context()
	raw := newRawClient(t, s)
	c := s.Client
	if _, err := c.CoreV1().Pods("default").Create(ctx, testPod("web"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AppsV1().Deployments("default").Create(ctx, testDeployment("web-deploy", 2), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-1"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CoreV1().Events("default").Create(ctx, &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "web.1"},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web"},
		Reason:         "Scheduled", Message: "assigned", Type: "Normal", Count: 1}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		path, one string
		columns   []string
	}{
		{"/api/v1/namespaces/default/pods", "web", []string{"Name", "Ready", "Status", "Restarts", "Age", "IP", "Node", "Nominated Node", "Readiness Gates"}},
		{"/apis/apps/v1/namespaces/default/deployments", "web-deploy", []string{"Name", "Ready", "Up-to-date", "Available", "Age", "Containers", "Images", "Selector"}},
		{"/api/v1/namespaces/default/services", "kubernetes", []string{"Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age", "Selector"}},
		{"/api/v1/nodes", "node-1", []string{"Name", "Status", "Roles", "Age", "Version", "Internal-IP", "External-IP", "OS-Image", "Kernel-Version", "Container-Runtime"}},
		{"/api/v1/namespaces", "default", []string{"Name", "Status", "Age"}},
		{"/api/v1/namespaces/default/events", "web.1", []string{"Last Seen", "Type", "Reason", "Object", "Subobject", "Source", "Message", "First Seen", "Count", "Name"}},
	} {
		t.Run(tc.path+" lists and gets as a Table with kubectl's columns", func(t *testing.T) {
			h, body := raw.get(tc.path, map[string]string{"Accept": tableAccept})
			if ct := h.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			tbl := decodeTable(t, body)
			if got := columnNames(tbl); !slices.Equal(got, tc.columns) {
				t.Errorf("columns %q, want %q", got, tc.columns)
			}
			if len(tbl.Rows) == 0 || tbl.ResourceVersion == "" {
				t.Fatalf("list table: %d rows, resourceVersion %q", len(tbl.Rows), tbl.ResourceVersion)
			}
			for _, row := range tbl.Rows {
				if len(row.Cells) != len(tc.columns) {
					t.Errorf("row has %d cells for %d columns: %v", len(row.Cells), len(tc.columns), row.Cells)
				}
			}
			_, body = raw.get(tc.path+"/"+tc.one, map[string]string{"Accept": tableAccept})
			tbl = decodeTable(t, body)
			if len(tbl.Rows) != 1 {
				t.Fatalf("get table: %d rows, want 1", len(tbl.Rows))
			}
			nameCol := slices.Index(tc.columns, "Name")
			if tbl.Rows[0].Cells[nameCol] != tc.one {
				t.Errorf("name cell %v, want %s", tbl.Rows[0].Cells[nameCol], tc.one)
			}
			// Default includeObject is Metadata.
			var pom metav1.PartialObjectMetadata
			if err := json.Unmarshal(tbl.Rows[0].Object.Raw, &pom); err != nil || pom.Kind != "PartialObjectMetadata" || pom.Name != tc.one {
				t.Errorf("row object %s (%v), want PartialObjectMetadata of %s", tbl.Rows[0].Object.Raw, err, tc.one)
			}
		})
	}

	t.Run("a paginated Table carries the continue token", func(t *testing.T) {
		_, body := raw.get("/api/v1/namespaces?limit=1", map[string]string{"Accept": tableAccept})
		tbl := decodeTable(t, body)
		if len(tbl.Rows) != 1 || tbl.Continue == "" || tbl.RemainingItemCount == nil || *tbl.RemainingItemCount < 3 {
			t.Errorf("Table page: %d rows, continue %q, remaining %v", len(tbl.Rows), tbl.Continue, tbl.RemainingItemCount)
		}
	})

	t.Run("includeObject selects the row object", func(t *testing.T) {
		for include, wantKind := range map[string]string{"Object": "Pod", "Metadata": "PartialObjectMetadata", "None": ""} {
			_, body := raw.get("/api/v1/namespaces/default/pods?includeObject="+include, map[string]string{"Accept": tableAccept})
			tbl := decodeTable(t, body)
			rowObj := tbl.Rows[0].Object.Raw
			if wantKind == "" {
				if len(rowObj) != 0 && string(rowObj) != "null" {
					t.Errorf("includeObject=None: row object %s", rowObj)
				}
				continue
			}
			var tm metav1.TypeMeta
			if err := json.Unmarshal(rowObj, &tm); err != nil || tm.Kind != wantKind {
				t.Errorf("includeObject=%s: row object kind %q (%v), want %s", include, tm.Kind, err, wantKind)
			}
			if include == "Object" && !bytes.Contains(rowObj, []byte(`"containers"`)) {
				t.Errorf("includeObject=Object: row lacks the spec: %s", rowObj)
			}
		}
	})

	t.Run("a Table watch streams Table events", func(t *testing.T) {
		// (The deployment's pods are labelled app=web-deploy.)
		resp := raw.open("GET", "/api/v1/namespaces/default/pods?watch=true&resourceVersion=0&labelSelector=app+in+(web,later)", map[string]string{"Accept": tableAccept}, nil)
		defer resp.Body.Close()
		dec := json.NewDecoder(resp.Body)
		var ev struct {
			Type   string
			Object json.RawMessage
		}
		if err := dec.Decode(&ev); err != nil {
			t.Fatal(err)
		}
		tbl := decodeTable(t, ev.Object)
		if ev.Type != "ADDED" || len(tbl.Rows) != 1 || tbl.Rows[0].Cells[0] != "web" {
			t.Errorf("first Table event %s rows %v", ev.Type, tbl.Rows)
		}
		if len(tbl.ColumnDefinitions) == 0 {
			t.Error("first Table event has no column definitions")
		}
		if _, err := c.CoreV1().Pods("default").Create(ctx, testPod("later"), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := dec.Decode(&ev); err != nil {
			t.Fatal(err)
		}
		if tbl := decodeTable(t, ev.Object); ev.Type != "ADDED" || tbl.Rows[0].Cells[0] != "later" {
			t.Errorf("second Table event %s rows %v", ev.Type, tbl.Rows)
		} else if len(tbl.ColumnDefinitions) != 0 {
			t.Errorf("later Table events repeat the column definitions, as upstream does not")
		}
	})

	t.Run("the metadata client gets, lists and watches partial object metadata", func(t *testing.T) {
		mc, err := metadata.NewForConfig(s.Config)
		if err != nil {
			t.Fatal(err)
		}
		deployments := mc.Resource(appsv1.SchemeGroupVersion.WithResource("deployments")).Namespace("default")
		got, err := deployments.Get(ctx, "web-deploy", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "web-deploy" || got.UID == "" || got.Generation != 1 {
			t.Errorf("partial metadata get: %+v", got)
		}
		list, err := mc.Resource(corev1.SchemeGroupVersion.WithResource("namespaces")).List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(list.Items) < 4 || list.ResourceVersion == "" || list.Items[0].UID == "" {
			t.Errorf("partial metadata list: %d items, rv %q", len(list.Items), list.ResourceVersion)
		}
		w, err := deployments.Watch(ctx, metav1.ListOptions{ResourceVersion: "0"})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Stop()
		ev := nextEvent(t, w)
		if pom, ok := ev.Object.(*metav1.PartialObjectMetadata); ev.Type != watch.Added || !ok || pom.Name != "web-deploy" {
			t.Errorf("partial metadata watch event %s %T", ev.Type, ev.Object)
		}
		// As JSON too, the way kubectl's garbage-collector-style clients may ask.
		_, body := raw.get("/apis/apps/v1/namespaces/default/deployments", map[string]string{"Accept": "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"})
		var pl metav1.PartialObjectMetadataList
		if err := json.Unmarshal(body, &pl); err != nil || pl.Kind != "PartialObjectMetadataList" || len(pl.Items) != 1 || bytes.Contains(body, []byte(`"spec"`)) {
			t.Errorf("JSON PartialObjectMetadataList: %v %s", err, body)
		}
	})

	t.Run("an unservable Accept is 406", func(t *testing.T) {
		code, _, body := raw.do("GET", "/api/v1/namespaces/default/pods", map[string]string{"Accept": "application/json;as=Bogus;g=meta.k8s.io;v=v1"}, nil)
		if code != http.StatusNotAcceptable {
			t.Errorf("GET with an unknown as=: %d %s, want 406", code, body)
		}
	})
}
