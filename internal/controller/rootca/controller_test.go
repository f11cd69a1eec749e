package rootca

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
)

const pem = "-----BEGIN CERTIFICATE-----\nabc\n-----END CERTIFICATE-----\n"

func TestSyncPublishesAndRepairsTheBundle(t *testing.T) {
	t.Parallel()
	now := metav1.Now()
	active := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "a"}}
	for _, tc := range []struct {
		name    string
		objects []runtime.Object
		ns      string
		want    map[string]string // nil: no ConfigMap
	}{
		{"a namespace without it gets it", []runtime.Object{active}, "a", map[string]string{Key: pem}},
		{"an edited bundle is restored and extra keys dropped", []runtime.Object{active, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: ConfigMapName, Namespace: "a"}, Data: map[string]string{Key: "old", "x": "y"}}},
			"a", map[string]string{Key: pem}},
		{"a namespace being deleted gets none", []runtime.Object{&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "b", DeletionTimestamp: &now}}}, "b", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			client := fake.NewClientset(tc.objects...)
			f := informers.NewSharedInformerFactory(client, 0)
			c, err := New(Options{Client: client, Informers: f, RootCA: []byte(pem)})
			if err != nil {
				t.Fatal(err)
			}
			f.Start(t.Context().Done())
			f.WaitForCacheSync(t.Context().Done())
			if err := c.sync(t.Context(), tc.ns); err != nil {
				t.Fatal(err)
			}
			cm, err := client.CoreV1().ConfigMaps(tc.ns).Get(t.Context(), ConfigMapName, metav1.GetOptions{})
			if tc.want == nil {
				if err == nil {
					t.Fatalf("configmap published in %s", tc.ns)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(cm.Data) != len(tc.want) || cm.Data[Key] != tc.want[Key] {
				t.Errorf("data %v, want %v", cm.Data, tc.want)
			}
			if cm.Annotations[descriptionAnnotation] == "" {
				t.Errorf("description annotation missing")
			}
		})
	}
}
