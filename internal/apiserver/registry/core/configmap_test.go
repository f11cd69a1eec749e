package core

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func testConfigMap(mutate ...func(*corev1.ConfigMap)) *corev1.ConfigMap {
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "settings", Namespace: "default", CreationTimestamp: testCreated},
		Data:       map[string]string{"app.conf": "x=1", "LEVEL": "debug"},
	}
	for _, m := range mutate {
		m(cm)
	}
	return cm
}

func TestConfigMapValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(*corev1.ConfigMap)
		want   []string
	}{
		{"data and binary data with distinct keys are valid", func(c *corev1.ConfigMap) {
			c.BinaryData = map[string][]byte{"logo.png": {0x89}}
		}, nil},
		{"an empty configmap is valid", func(c *corev1.ConfigMap) { c.Data = nil }, nil},
		{"keys must be configmap keys", func(c *corev1.ConfigMap) { c.Data["a/b"] = "" }, []string{"Invalid value data[a/b]"}},
		{"binary keys must be configmap keys", func(c *corev1.ConfigMap) { c.BinaryData = map[string][]byte{"..": nil} },
			[]string{"Invalid value binaryData[..]"}},
		{"a key may not be in both data and binaryData", func(c *corev1.ConfigMap) { c.BinaryData = map[string][]byte{"LEVEL": nil} },
			[]string{"Invalid value data[LEVEL]"}},
		{"the values may not exceed 1 MiB together", func(c *corev1.ConfigMap) {
			c.Data["big"] = strings.Repeat("x", corev1.MaxSecretSize-len("x=1")-len("debug"))
			c.BinaryData = map[string][]byte{"one-more": {1}}
		}, []string{"Too long []"}},
		{"exactly 1 MiB is allowed", func(c *corev1.ConfigMap) {
			c.Data["big"] = strings.Repeat("x", corev1.MaxSecretSize-len("x=1")-len("debug"))
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			expectErrs(t, createErrs(t, configMapStrategy{}, testConfigMap(tt.mutate)), tt.want...)
		})
	}
}

func TestConfigMapImmutability(t *testing.T) {
	t.Parallel()
	immutable := func(c *corev1.ConfigMap) { c.Immutable = ptr.To(true) }
	tests := []struct {
		name   string
		old    func(*corev1.ConfigMap)
		mutate func(*corev1.ConfigMap)
		want   []string
	}{
		{"a mutable configmap may change its data", func(*corev1.ConfigMap) {}, func(c *corev1.ConfigMap) { c.Data["LEVEL"] = "info" }, nil},
		{"a mutable configmap may become immutable", func(*corev1.ConfigMap) {}, immutable, nil},
		{"an immutable configmap may change labels", immutable, func(c *corev1.ConfigMap) { c.Labels = map[string]string{"a": "b"} }, nil},
		{"an immutable configmap may not change data", immutable, func(c *corev1.ConfigMap) { c.Data["LEVEL"] = "info" },
			[]string{"Forbidden data"}},
		{"an immutable configmap may not change binary data", immutable, func(c *corev1.ConfigMap) { c.BinaryData = map[string][]byte{"b": nil} },
			[]string{"Forbidden binaryData"}},
		{"an immutable configmap may not become mutable", immutable, func(c *corev1.ConfigMap) { c.Immutable = nil },
			[]string{"Forbidden immutable"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			old := testConfigMap(tt.old)
			cm := old.DeepCopy()
			tt.mutate(cm)
			expectErrs(t, updateErrs(t, configMapStrategy{}, cm, old), tt.want...)
		})
	}
}

func TestConfigMapTableCountsDataAndBinaryData(t *testing.T) {
	t.Parallel()
	table := configMapsResource().Table
	if got := columnNames(table); !slices.Equal(got, []string{"Name", "Data", "Age"}) {
		t.Fatalf("columns = %v", got)
	}
	cm := testConfigMap(func(c *corev1.ConfigMap) { c.BinaryData = map[string][]byte{"logo.png": nil} })
	expectRow(t, table, cm, testNow, "settings", int64(3), "90m")
}
