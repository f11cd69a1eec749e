package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const manifest = `apiVersion: v1
kind: ConfigMap
metadata:
  name: web
data:
  greeting: hello
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app: web
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        image: example/web:1.0
        ports:
        - containerPort: 8080
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector:
    app: web
  ports:
  - port: 80
    targetPort: 8080
`

// TestIntegrationKubectl drives the bundled kubectl through the everyday commands.
func TestIntegrationKubectl(t *testing.T) {
	s := start(t)
	run := func(t *testing.T, stdin string, args ...string) string {
		t.Helper()
		out, errOut, err := s.Kubectl(stdin, args...)
		if err != nil {
			t.Fatalf("kubectl %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, out, errOut)
		}
		return out
	}
	mustContain := func(t *testing.T, out string, want ...string) {
		t.Helper()
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("output lacks %q:\n%s", w, out)
			}
		}
	}

	t.Run("get ns lists the four system namespaces", func(t *testing.T) {
		out := run(t, "", "get", "ns")
		mustContain(t, out, "NAME", "STATUS", "AGE", "default", "kube-system", "kube-public", "kube-node-lease", "Active")
	})
	t.Run("apply creates with upstream defaults", func(t *testing.T) {
		out := run(t, manifest, "apply", "-f", "-")
		mustContain(t, out, "configmap/web created", "deployment.apps/web created", "service/web created")
		var d struct {
			Spec struct {
				RevisionHistoryLimit    int `json:"revisionHistoryLimit"`
				ProgressDeadlineSeconds int `json:"progressDeadlineSeconds"`
				Strategy                struct {
					Type string `json:"type"`
				} `json:"strategy"`
				Template struct {
					Spec struct {
						RestartPolicy string `json:"restartPolicy"`
						DNSPolicy     string `json:"dnsPolicy"`
					} `json:"spec"`
				} `json:"template"`
			} `json:"spec"`
		}
		if err := json.Unmarshal([]byte(run(t, "", "get", "deployment", "web", "-o", "json")), &d); err != nil {
			t.Fatal(err)
		}
		if d.Spec.RevisionHistoryLimit != 10 || d.Spec.ProgressDeadlineSeconds != 600 || d.Spec.Strategy.Type != "RollingUpdate" ||
			d.Spec.Template.Spec.RestartPolicy != "Always" || d.Spec.Template.Spec.DNSPolicy != "ClusterFirst" {
			t.Errorf("deployment defaults not applied: %+v", d.Spec)
		}
	})
	t.Run("apply again with a change patches", func(t *testing.T) {
		out := run(t, strings.Replace(manifest, "replicas: 2", "replicas: 3", 1), "apply", "-f", "-")
		mustContain(t, out, "configmap/web unchanged", "deployment.apps/web configured", "service/web unchanged")
		mustContain(t, run(t, "", "get", "deploy", "web", "-o", "jsonpath={.spec.replicas} {.metadata.generation}"), "3 2")
	})
	t.Run("get all and wide output show upstream columns", func(t *testing.T) {
		mustContain(t, run(t, "", "get", "all"), "service/kubernetes", "service/web", "deployment.apps/web", "CLUSTER-IP", "UP-TO-DATE")
		mustContain(t, run(t, "", "get", "deploy", "-o", "wide"), "CONTAINERS", "IMAGES", "SELECTOR", "example/web:1.0", "app=web")
		mustContain(t, run(t, "", "get", "svc", "web", "-o", "yaml"), "clusterIP: 10.43.", "sessionAffinity: None", "type: ClusterIP")
	})
	t.Run("describe shows the object", func(t *testing.T) {
		mustContain(t, run(t, "", "describe", "deployment", "web"), "Name:", "web", "Replicas:", "StrategyType:")
	})
	t.Run("label annotate and the three patch types work", func(t *testing.T) {
		run(t, "", "label", "cm", "web", "tier=front")
		run(t, "", "annotate", "cm", "web", "note=hi")
		run(t, "", "patch", "cm", "web", "--type", "json", "-p", `[{"op":"add","path":"/data/j","value":"1"}]`)
		run(t, "", "patch", "cm", "web", "--type", "merge", "-p", `{"data":{"m":"2"}}`)
		run(t, "", "patch", "deploy", "web", "--type", "strategic", "-p", `{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"example/web:2.0"}]}}}}`)
		mustContain(t, run(t, "", "get", "cm", "web", "-o", "jsonpath={.metadata.labels.tier} {.metadata.annotations.note} {.data.j} {.data.m}"), "front hi 1 2")
		mustContain(t, run(t, "", "get", "deploy", "web", "-o", "jsonpath={.spec.template.spec.containers[0].image} {.spec.template.spec.containers[0].ports[0].containerPort}"), "example/web:2.0 8080")
	})
	t.Run("edit with EDITOR set saves the change", func(t *testing.T) {
		editor := filepath.Join(t.TempDir(), "editor.sh")
		if err := os.WriteFile(editor, []byte("#!/bin/sh\nsed -i 's/greeting: hello/greeting: edited/' \"$1\"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		out, errOut, err := s.KubectlWithEnv([]string{"EDITOR=" + editor, "KUBE_EDITOR=" + editor}, "", "edit", "cm", "web")
		if err != nil {
			t.Fatalf("edit: %v %s %s", err, out, errOut)
		}
		mustContain(t, run(t, "", "get", "cm", "web", "-o", "jsonpath={.data.greeting}"), "edited")
	})
	t.Run("explain reads the OpenAPI schema", func(t *testing.T) {
		mustContain(t, run(t, "", "explain", "deployment.spec"), "KIND:", "Deployment", "replicas", "selector")
	})
	t.Run("get -w streams changes", func(t *testing.T) {
		done := make(chan string)
		go func() {
			out, _, _ := s.Kubectl("", "get", "cm", "--watch", "--request-timeout=3s")
			done <- out
		}()
		// The watch output must include a configmap created after it started; poll creating
		// distinct names until one shows up.
		out := ""
		for i := 0; i < 1 && out == ""; i++ {
			run(t, "", "create", "configmap", "watched")
			out = <-done
		}
		mustContain(t, out, "web", "watched")
	})
	t.Run("bad input gets upstream's error", func(t *testing.T) {
		_, errOut, err := s.Kubectl(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"Bad_Name"}}`, "create", "-f", "-")
		if err == nil {
			t.Fatal("creating an invalid name succeeded")
		}
		mustContain(t, errOut, `ConfigMap "Bad_Name" is invalid`, "metadata.name")
	})
	t.Run("delete removes objects", func(t *testing.T) {
		mustContain(t, run(t, manifest, "delete", "-f", "-"), "deployment.apps \"web\" deleted")
	})
}
