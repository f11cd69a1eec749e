package batch

import (
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// wantErr is an expected validation error: its type and field path.
type wantErr struct {
	typ   field.ErrorType
	field string
}

func (w wantErr) String() string { return fmt.Sprintf("%s %s", w.field, w.typ) }

// ownErrors drops the errors the shared pod spec validation (package core) reports inside a
// template, so these tests check only this package's rules.
func ownErrors(errs field.ErrorList) field.ErrorList {
	var own field.ErrorList
	for _, e := range errs {
		if !fromPodSpecValidation(e.Field) {
			own = append(own, e)
		}
	}
	return own
}

func fromPodSpecValidation(path string) bool {
	for _, prefix := range []string{"spec.template.spec.", "spec.jobTemplate.spec.template.spec."} {
		if rest, ok := strings.CutPrefix(path, prefix); ok {
			return rest != "restartPolicy"
		}
	}
	return false
}

// expectErrors fails unless errs holds exactly the wanted (type, field) pairs, in any order.
func expectErrors(t *testing.T, errs field.ErrorList, want ...wantErr) {
	t.Helper()
	got := map[wantErr]int{}
	for _, e := range ownErrors(errs) {
		got[wantErr{e.Type, e.Field}]++
	}
	for _, w := range want {
		if got[w] == 0 {
			t.Errorf("missing error %v; got %v", w, errs)
			continue
		}
		got[w]--
	}
	for w, n := range got {
		if n > 0 {
			t.Errorf("unexpected error %v; got %v", w, errs)
		}
	}
}

// expectDetail fails unless errs has an error at path whose detail is detail.
func expectDetail(t *testing.T, errs field.ErrorList, path, detail string) {
	t.Helper()
	for _, e := range errs {
		if e.Field == path && e.Detail == detail {
			return
		}
	}
	t.Errorf("no error at %s with detail %q; got %v", path, detail, errs)
}

// testPodTemplate is a complete pod template for run-to-completion workloads.
func testPodTemplate() corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			DNSPolicy:     corev1.DNSClusterFirst,
			Containers: []corev1.Container{{
				Name: "pi", Image: "perl:5.34",
				ImagePullPolicy:          corev1.PullIfNotPresent,
				TerminationMessagePath:   corev1.TerminationMessagePathDefault,
				TerminationMessagePolicy: corev1.TerminationMessageReadFile,
			}},
		},
	}
}
