package containerd

import (
	"fmt"
	"net/url"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

// Registries is the --registry-config file, in the format k3s made common:
//
//	mirrors:
//	  docker.io:
//	    endpoint: ["https://mirror.internal:5000"]
//	configs:
//	  mirror.internal:5000:
//	    auth: {username: u, password: p}
//	    tls: {ca_file: /ca.pem, cert_file: /c.pem, key_file: /k.pem, insecure_skip_verify: false}
type Registries struct {
	Mirrors map[string]Mirror         `json:"mirrors"`
	Configs map[string]RegistryConfig `json:"configs"`
}

// Mirror lists the endpoints tried, in order, for a registry before the registry itself.
type Mirror struct {
	Endpoints []string `json:"endpoint"`
}

// RegistryConfig is how to reach one registry host.
type RegistryConfig struct {
	Auth *RegistryAuth `json:"auth,omitempty"`
	TLS  *RegistryTLS  `json:"tls,omitempty"`
}

// RegistryAuth are the credentials of a registry.
type RegistryAuth struct {
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	Auth     string `json:"auth,omitempty"`
	Token    string `json:"identitytoken,omitempty"`
}

// RegistryTLS is the client TLS of a registry.
type RegistryTLS struct {
	CAFile             string `json:"ca_file,omitempty"`
	CertFile           string `json:"cert_file,omitempty"`
	KeyFile            string `json:"key_file,omitempty"`
	InsecureSkipVerify bool   `json:"insecure_skip_verify,omitempty"`
}

// ParseRegistries reads a registries file.
func ParseRegistries(data []byte) (*Registries, error) {
	var r Registries
	if err := yaml.UnmarshalStrict(data, &r); err != nil {
		return nil, fmt.Errorf("registry config: %w", err)
	}
	for name, m := range r.Mirrors {
		for _, e := range m.Endpoints {
			if _, err := endpointURL(e); err != nil {
				return nil, fmt.Errorf("registry config: mirror of %s: %w", name, err)
			}
		}
	}
	return &r, nil
}

// HostsFiles renders containerd's per-registry hosts.toml files: the key is the
// directory name under the registry config path (the registry host, "_default" for "*").
func (r *Registries) HostsFiles() map[string][]byte {
	out := map[string][]byte{}
	for _, name := range sortedKeys(r.Mirrors) {
		var b strings.Builder
		dir := name
		if name == "*" {
			dir = "_default"
		} else {
			fmt.Fprintf(&b, "server = %s\n", quote(upstreamServer(name)))
		}
		for _, e := range r.Mirrors[name].Endpoints {
			u, _ := endpointURL(e)
			fmt.Fprintf(&b, "\n[host.%s]\n  capabilities = [\"pull\", \"resolve\"]\n", quote(u.String()))
			writeTLS(&b, r.Configs[u.Host].TLS)
		}
		out[dir] = []byte(b.String())
	}
	// Registries with TLS settings but no mirror get a file of their own.
	for _, host := range sortedKeys(r.Configs) {
		if _, done := out[host]; done || r.Configs[host].TLS == nil {
			continue
		}
		var b strings.Builder
		fmt.Fprintf(&b, "server = %s\n\n[host.%s]\n  capabilities = [\"pull\", \"resolve\", \"push\"]\n", quote("https://"+host), quote("https://"+host))
		writeTLS(&b, r.Configs[host].TLS)
		out[host] = []byte(b.String())
	}
	return out
}

// AuthTOML renders the credentials into the CRI plugin's registry section, which is where
// containerd 1.6 reads them from even with hosts.toml files.
func (r *Registries) AuthTOML() string {
	var b strings.Builder
	for _, host := range sortedKeys(r.Configs) {
		a := r.Configs[host].Auth
		if a == nil {
			continue
		}
		fmt.Fprintf(&b, "\n      [plugins.\"io.containerd.grpc.v1.cri\".registry.configs.%s.auth]\n", quote(host))
		for _, kv := range [][2]string{{"username", a.Username}, {"password", a.Password}, {"auth", a.Auth}, {"identitytoken", a.Token}} {
			if kv[1] != "" {
				fmt.Fprintf(&b, "        %s = %s\n", kv[0], quote(kv[1]))
			}
		}
	}
	return b.String()
}

func writeTLS(b *strings.Builder, t *RegistryTLS) {
	if t == nil {
		return
	}
	if t.CAFile != "" {
		fmt.Fprintf(b, "  ca = %s\n", quote(t.CAFile))
	}
	if t.CertFile != "" && t.KeyFile != "" {
		fmt.Fprintf(b, "  client = [[%s, %s]]\n", quote(t.CertFile), quote(t.KeyFile))
	}
	if t.InsecureSkipVerify {
		b.WriteString("  skip_verify = true\n")
	}
}

// upstreamServer is the address containerd falls back to after the mirrors.
func upstreamServer(registry string) string {
	if registry == "docker.io" {
		return "https://registry-1.docker.io"
	}
	return "https://" + registry
}

func endpointURL(e string) (*url.URL, error) {
	if !strings.Contains(e, "://") {
		e = "https://" + e
	}
	u, err := url.Parse(e)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("endpoint %q is not an http(s) URL", e)
	}
	return u, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
