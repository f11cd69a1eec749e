package pki

import (
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// defaultKubeconfigName is the cluster, user and context name used when a
// KubeconfigSpec leaves them empty, as k3s does.
const defaultKubeconfigName = "default"

// kubeconfigDirMode is the mode of a kubeconfig's parent directory when it has
// to be created. It is not 0700 so that a kubeconfig written 0644 on purpose
// (k3s's --write-kubeconfig-mode) stays readable by other users.
const kubeconfigDirMode os.FileMode = 0o755

// KubeconfigSpec describes a kubeconfig file with one cluster, one user and
// one context, which is the current context.
type KubeconfigSpec struct {
	// Server is the API server URL, e.g. https://127.0.0.1:6443. Required.
	Server string
	// ClusterName, UserName and ContextName name the entries; empty means
	// "default".
	ClusterName, UserName, ContextName string
	// CAPEM is the CA bundle that verifies the server, embedded in the file.
	CAPEM []byte
	// CertPEM and KeyPEM are the client certificate and key, embedded in the
	// file. Set both or neither.
	CertPEM, KeyPEM []byte
	// Token is a bearer token, e.g. a bootstrap token.
	Token string
}

// WriteKubeconfig writes spec as a kubeconfig file at path, creating the parent
// directory (0755) if missing. The file is replaced atomically and ends up with
// exactly mode, even when it existed before with another one.
func WriteKubeconfig(path string, spec KubeconfigSpec, mode os.FileMode) error {
	if spec.Server == "" {
		return fmt.Errorf("writing kubeconfig %s: empty server URL", path)
	}
	if (len(spec.CertPEM) == 0) != (len(spec.KeyPEM) == 0) {
		return fmt.Errorf("writing kubeconfig %s: client certificate and key must be given together", path)
	}
	name := func(s string) string {
		if s == "" {
			return defaultKubeconfigName
		}
		return s
	}
	clusterName, userName, contextName := name(spec.ClusterName), name(spec.UserName), name(spec.ContextName)

	cfg := clientcmdapi.NewConfig()
	cluster := clientcmdapi.NewCluster()
	cluster.Server = spec.Server
	cluster.CertificateAuthorityData = spec.CAPEM
	cfg.Clusters[clusterName] = cluster

	user := clientcmdapi.NewAuthInfo()
	user.ClientCertificateData = spec.CertPEM
	user.ClientKeyData = spec.KeyPEM
	user.Token = spec.Token
	cfg.AuthInfos[userName] = user

	kctx := clientcmdapi.NewContext()
	kctx.Cluster = clusterName
	kctx.AuthInfo = userName
	cfg.Contexts[contextName] = kctx
	cfg.CurrentContext = contextName

	data, err := clientcmd.Write(*cfg)
	if err != nil {
		return fmt.Errorf("writing kubeconfig %s: encoding: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(path), kubeconfigDirMode); err != nil {
		return fmt.Errorf("writing kubeconfig: %w", err)
	}
	if err := writeFileAtomic(path, data, mode); err != nil {
		return fmt.Errorf("writing kubeconfig: %w", err)
	}
	return nil
}
