package version

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestGetFillsEveryField(t *testing.T) {
	t.Parallel()
	info := Get()
	fields := map[string]string{
		"Major":        info.Major,
		"Minor":        info.Minor,
		"GitVersion":   info.GitVersion,
		"GitCommit":    info.GitCommit,
		"GitTreeState": info.GitTreeState,
		"BuildDate":    info.BuildDate,
		"GoVersion":    info.GoVersion,
		"Compiler":     info.Compiler,
		"Platform":     info.Platform,
	}
	for name, value := range fields {
		if value == "" {
			t.Errorf("%s is empty in %+v", name, info)
		}
	}
	if !strings.HasPrefix(info.GitVersion, "v"+info.Major+"."+info.Minor+".") {
		t.Errorf("GitVersion %q does not start with v%s.%s.", info.GitVersion, info.Major, info.Minor)
	}
}

// The unstamped version must name the Kubernetes API version this build implements: that of
// the k8s.io/api module in go.mod (k8s.io/api v0.X.Y is Kubernetes v1.X.Y). Test binaries carry
// no dependency list in their build info, so the test reads go.mod.
func TestDefaultVersionTracksTheKubernetesAPIModule(t *testing.T) {
	t.Parallel()
	gomod, err := os.ReadFile(filepath.Join("..", "..", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*k8s\.io/api v0\.(\d+\.\d+)\b`).FindSubmatch(gomod)
	if m == nil {
		t.Fatal("go.mod does not require k8s.io/api v0.X.Y")
	}
	want := "v1." + string(m[1]) + "-capstan."
	if !strings.HasPrefix(gitVersion, want) {
		t.Errorf("default gitVersion %q should start with %q, after k8s.io/api v0.%s in go.mod", gitVersion, want, m[1])
	}
}

func TestMajorMinor(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in, major, minor string
	}{
		{"a stamped version yields its first two fields", "v1.37.2-capstan.0a1b2c3", "1", "37"},
		{"a dirty build is still read", "v1.37.2-capstan.0a1b2c3-dirty", "1", "37"},
		{"the v prefix is optional", "1.40.0", "1", "40"},
		{"a version without a minor yields nothing", "v1", "", ""},
		{"a non-numeric field yields nothing", "v1.x.0", "", ""},
		{"an empty version yields nothing", "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			major, minor := majorMinor(tc.in)
			if major != tc.major || minor != tc.minor {
				t.Errorf("majorMinor(%q) = %q, %q; want %q, %q", tc.in, major, minor, tc.major, tc.minor)
			}
		})
	}
}
