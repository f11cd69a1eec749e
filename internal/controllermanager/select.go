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
	// canonical maps every accepted name (and alias) to the controller's name.
	canonical := map[string]string{}
	for _, c := range all {
		canonical[c.Name] = c.Name
		for _, a := range c.Aliases {
			canonical[a] = c.Name
		}
	}
	star := false
	on, off := map[string]bool{}, map[string]bool{}
	for _, f := range flags {
		f = strings.TrimSpace(f)
		switch {
		case f == "*":
			star = true
		case strings.HasPrefix(f, "-"):
			name, ok := canonical[f[1:]]
			if !ok {
				return nil, fmt.Errorf("--controllers: unknown controller %q", f[1:])
			}
			off[name] = true
		default:
			name, ok := canonical[f]
			if !ok {
				return nil, fmt.Errorf("--controllers: unknown controller %q (known: %s)", f, strings.Join(names(all), ", "))
			}
			on[name] = true
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
