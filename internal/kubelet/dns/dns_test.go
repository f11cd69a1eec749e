package dns

import (
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const hostResolv = `# generated
nameserver 192.0.2.53
nameserver 192.0.2.54 ; second
search corp.example lab.example
options edns0 timeout:2
`

func TestParseResolvConf(t *testing.T) {
	t.Parallel()
	got := ParseResolvConf(hostResolv)
	want := Config{Servers: []string{"192.0.2.53", "192.0.2.54"}, Searches: []string{"corp.example", "lab.example"}, Options: []string{"edns0", "timeout:2"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v", got)
	}
}

func TestForPod(t *testing.T) {
	t.Parallel()
	host := ParseResolvConf(hostResolv)
	cluster := Cluster{Servers: []string{"10.43.0.10"}, Domain: "cluster.local"}
	two := "2"
	pod := func(policy corev1.DNSPolicy, hostNet bool, cfg *corev1.PodDNSConfig) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "shop"}, Spec: corev1.PodSpec{DNSPolicy: policy, HostNetwork: hostNet, DNSConfig: cfg}}
	}
	clusterFirst := "search shop.svc.cluster.local svc.cluster.local cluster.local corp.example lab.example\nnameserver 10.43.0.10\noptions ndots:5\n"
	hostFile := "search corp.example lab.example\nnameserver 192.0.2.53\nnameserver 192.0.2.54\noptions edns0 timeout:2\n"
	for _, tc := range []struct {
		name string
		pod  *corev1.Pod
		want string
	}{
		{"ClusterFirst", pod(corev1.DNSClusterFirst, false, nil), clusterFirst},
		{"an empty policy is ClusterFirst", pod("", false, nil), clusterFirst},
		{"ClusterFirst on the host network uses the host's", pod(corev1.DNSClusterFirst, true, nil), hostFile},
		{"ClusterFirstWithHostNet", pod(corev1.DNSClusterFirstWithHostNet, true, nil), clusterFirst},
		{"Default", pod(corev1.DNSDefault, false, nil), hostFile},
		{"None with a dnsConfig", pod(corev1.DNSNone, false, &corev1.PodDNSConfig{
			Nameservers: []string{"1.2.3.4"}, Searches: []string{"a.example"}, Options: []corev1.PodDNSConfigOption{{Name: "ndots", Value: &two}},
		}), "search a.example\nnameserver 1.2.3.4\noptions ndots:2\n"},
		{"ClusterFirst with a dnsConfig merges", pod(corev1.DNSClusterFirst, false, &corev1.PodDNSConfig{
			Searches: []string{"cluster.local", "extra.example"}, Options: []corev1.PodDNSConfigOption{{Name: "ndots", Value: &two}, {Name: "single-request"}},
		}), "search shop.svc.cluster.local svc.cluster.local cluster.local corp.example lab.example extra.example\nnameserver 10.43.0.10\noptions ndots:2 single-request\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(Render(ForPod(tc.pod, cluster, host))); got != tc.want {
				t.Fatalf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
	t.Run("without cluster DNS ClusterFirst falls back to the host's", func(t *testing.T) {
		if got := string(Render(ForPod(pod(corev1.DNSClusterFirst, false, nil), Cluster{Domain: "cluster.local"}, host))); got != hostFile {
			t.Fatalf("got %s", got)
		}
	})
	t.Run("search paths are capped", func(t *testing.T) {
		var many []string
		for i := 0; i < 40; i++ {
			many = append(many, strings.Repeat("x", 60)+string(rune('a'+i%26))+string(rune('a'+i/26)))
		}
		c := ForPod(pod(corev1.DNSNone, false, &corev1.PodDNSConfig{Searches: many}), cluster, host)
		if len(c.Searches) > MaxSearchPaths || len(strings.Join(c.Searches, " ")) > MaxSearchLength {
			t.Fatalf("%d searches of %d characters", len(c.Searches), len(strings.Join(c.Searches, " ")))
		}
	})
}

func TestHostsFile(t *testing.T) {
	t.Parallel()
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "web-0", Namespace: "shop"}, Spec: corev1.PodSpec{
		Hostname: "web-0", Subdomain: "web",
		HostAliases: []corev1.HostAlias{{IP: "192.0.2.9", Hostnames: []string{"db.local", "cache.local"}}},
	}}
	got := string(HostsFile(pod, []string{"10.42.0.5"}, Hostname(pod), "cluster.local", nil))
	want := "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n" +
		"10.42.0.5\tweb-0.web.shop.svc.cluster.local\tweb-0\n\n# Entries added by HostAliases.\n192.0.2.9\tdb.local\tcache.local\n"
	if got != want {
		t.Fatalf("got\n%q\nwant\n%q", got, want)
	}
	pod.Spec.HostNetwork = true
	got = string(HostsFile(pod, nil, "node1", "cluster.local", []byte("127.0.0.1 localhost node1")))
	if !strings.HasPrefix(got, "# Kubernetes-managed hosts file (host network).\n127.0.0.1 localhost node1\n\n# Entries added by HostAliases.") {
		t.Fatalf("host network hosts file:\n%s", got)
	}
}

func TestHostname(t *testing.T) {
	t.Parallel()
	long := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: strings.Repeat("a", 62) + "-bcd"}}
	if h := Hostname(long); h != strings.Repeat("a", 62) {
		t.Fatalf("Hostname = %q", h)
	}
}
