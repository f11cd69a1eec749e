package core

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func testServiceAccount() *corev1.ServiceAccount {
	return &corev1.ServiceAccount{
		ObjectMeta: metav1.ObjectMeta{Name: "builder", Namespace: "ci", CreationTimestamp: testCreated},
		Secrets:    []corev1.ObjectReference{{Name: "builder-token", Namespace: "ci", Kind: "Secret", UID: "u1"}},
	}
}

func TestServiceAccountKeepsOnlySecretNames(t *testing.T) {
	t.Parallel()
	want := []corev1.ObjectReference{{Name: "builder-token"}}
	t.Run("on create", func(t *testing.T) {
		t.Parallel()
		sa := testServiceAccount()
		expectErrs(t, createErrs(t, serviceAccountStrategy{}, sa))
		if !slices.Equal(sa.Secrets, want) {
			t.Errorf("secrets = %+v", sa.Secrets)
		}
	})
	t.Run("on update", func(t *testing.T) {
		t.Parallel()
		old := testServiceAccount()
		sa := testServiceAccount()
		expectErrs(t, updateErrs(t, serviceAccountStrategy{}, sa, old))
		if !slices.Equal(sa.Secrets, want) {
			t.Errorf("secrets = %+v", sa.Secrets)
		}
	})
}

func TestServiceAccountTableCountsSecrets(t *testing.T) {
	t.Parallel()
	table := serviceAccountsResource().Table
	if got := columnNames(table); !slices.Equal(got, []string{"Name", "Secrets", "Age"}) {
		t.Fatalf("columns = %v", got)
	}
	expectRow(t, table, testServiceAccount(), testNow, "builder", int64(1), "90m")
}
