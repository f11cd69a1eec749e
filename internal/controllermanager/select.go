package controllermanager

import (
	"fmt"
	"slices"
	"strings"
)

// Select applies upstream's --controllers rules: "*" enables every controller that is on
// by default, "name" enables one, "-name" disables one; the default is "*".
func Select(all []Controller, flags []string) ([]Controller, error) {
	if len(flags) == 0 {
		flags = []string{"*"}
	}
	known := map[string]bool{}
	for _, c := range all {
		known[c.Name] = true
	}
	star := false
	on, off := map[string]bool{}, map[string]bool{}
	for _, f := range flags {
		f = strings.TrimSpace(f)
		switch {
		case f == "*":
			star = true
		case strings.HasPrefix(f, "-"):
			if !known[f[1:]] {
				return nil, fmt.Errorf("--controllers: unknown controller %q", f[1:])
			}
			off[f[1:]] = true
		default:
			if !known[f] {
				return nil, fmt.Errorf("--controllers: unknown controller %q (known: %s)", f, strings.Join(names(all), ", "))
			}
			on[f] = true
		}
	}
	var out []Controller
	for _, c := range all {
		if off[c.Name] {
			continue
		}
		if on[c.Name] || (star && !c.DisabledByDefault) {
			out = append(out, c)
		}
	}
	return out, nil
}

func names(all []Controller) []string {
	var out []string
	for _, c := range all {
		out = append(out, c.Name)
	}
	slices.Sort(out)
	return out
}
