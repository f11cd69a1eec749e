// Package version reports which build of Capstan is running.
//
// Capstan tracks the Kubernetes API version it implements, so its version reads like
// upstream's with a Capstan suffix: v1.37.2-capstan.<short commit>. The values are stamped by
// the linker (-ldflags -X, see hack/version.sh); an unstamped build (plain `go build`, `go test`)
// reports the defaults below. The linker-set variables are the one kind of package state this
// project allows; nothing else may write them.
package version

import (
	"fmt"
	"runtime"
	"strings"

	apimachineryversion "k8s.io/apimachinery/pkg/version"
)

// Set by the linker; see hack/version.sh.
var (
	gitVersion   = "v1.37.2-capstan.dev"  // v<kube version>-capstan.<short commit>[-dirty]
	gitCommit    = "unknown"              // output of git rev-parse HEAD
	gitTreeState = "unknown"              // "clean" or "dirty"
	buildDate    = "1970-01-01T00:00:00Z" // ISO 8601, UTC
)

// Get returns the version of this binary. Major and Minor are those of the Kubernetes API
// Capstan implements, taken from the git version so the two cannot disagree.
func Get() apimachineryversion.Info {
	major, minor := majorMinor(gitVersion)
	return apimachineryversion.Info{
		Major:        major,
		Minor:        minor,
		GitVersion:   gitVersion,
		GitCommit:    gitCommit,
		GitTreeState: gitTreeState,
		BuildDate:    buildDate,
		GoVersion:    runtime.Version(),
		Compiler:     runtime.Compiler,
		Platform:     fmt.Sprintf("%s/%s", runtime.GOOS, runtime.GOARCH),
	}
}

// majorMinor returns the first two numeric fields of a version such as "v1.37.2-capstan.abc",
// or empty strings when it does not have that shape.
func majorMinor(v string) (major, minor string) {
	fields := strings.SplitN(strings.TrimPrefix(v, "v"), ".", 3)
	if len(fields) < 2 || !isDigits(fields[0]) || !isDigits(fields[1]) {
		return "", ""
	}
	return fields[0], fields[1]
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
