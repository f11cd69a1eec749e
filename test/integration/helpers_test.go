package integration

import (
	"crypto/tls"
	"net/url"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var corev1ConfigMap = corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "kept"}}

func pathOnly(p string) string {
	path, _, _ := strings.Cut(p, "?")
	return path
}

func queryOf(p string) url.Values {
	_, q, _ := strings.Cut(p, "?")
	v, _ := url.ParseQuery(q)
	return v
}

// insecureTLS is for the anonymous-client checks only, which test authentication, not
// the serving certificate.
func insecureTLS() *tls.Config { return &tls.Config{InsecureSkipVerify: true} }
