package containerd

import (
	"strings"
	"testing"

	"capstan/internal/testing/golden"
)

func TestRenderConfig(t *testing.T) {
	t.Parallel()
	base := Config{
		Root: "/var/lib/capstan/agent/containerd/root", State: DefaultState, Socket: DefaultSocket,
		SandboxImage: "registry.k8s.io/pause:3.10", CNIBinDir: DefaultCNIBin,
		CNIConfDir: "/var/lib/capstan/agent/etc/cni/net.d",
	}
	t.Run("a plain node", func(t *testing.T) {
		golden.Check(t, "config.toml", Render(base))
	})
	t.Run("a node with registry mirrors and credentials", func(t *testing.T) {
		c := base
		c.LogLevel = "debug"
		c.RegistryConfigPath = "/var/lib/capstan/agent/containerd/certs.d"
		r, err := ParseRegistries([]byte(registriesYAML))
		if err != nil {
			t.Fatal(err)
		}
		c.RegistryAuth = r.AuthTOML()
		golden.Check(t, "config-registries.toml", Render(c))
	})
}

const registriesYAML = `
mirrors:
  docker.io:
    endpoint: ["https://mirror.internal:5000", "http://10.0.0.5:5000"]
  "*":
    endpoint: ["mirror.internal:5000"]
configs:
  mirror.internal:5000:
    auth: {username: user, password: "p\"w"}
    tls: {ca_file: /etc/ca.pem, cert_file: /etc/c.pem, key_file: /etc/k.pem}
  private.example:443:
    tls: {insecure_skip_verify: true}
`

func TestRegistriesHostsFiles(t *testing.T) {
	t.Parallel()
	r, err := ParseRegistries([]byte(registriesYAML))
	if err != nil {
		t.Fatal(err)
	}
	files := r.HostsFiles()
	if len(files) != 4 {
		t.Fatalf("got %d hosts files, want docker.io, _default, mirror.internal:5000 and private.example:443: %q", len(files), keys(files))
	}
	for dir, data := range files {
		golden.Check(t, "hosts-"+strings.ReplaceAll(dir, ":", "_")+".toml", data)
	}
}

func TestParseRegistriesRejectsBadInput(t *testing.T) {
	t.Parallel()
	for name, in := range map[string]string{
		"an unknown field":        "mirror: {}",
		"a mirror that is no URL": `mirrors: {docker.io: {endpoint: ["ftp://x"]}}`,
		"not YAML at all":         "{{",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseRegistries([]byte(in)); err == nil {
				t.Fatalf("ParseRegistries(%q) succeeded", in)
			}
		})
	}
}

func keys(m map[string][]byte) []string { return sortedKeys(m) }
