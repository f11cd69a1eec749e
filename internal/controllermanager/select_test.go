package controllermanager

import (
	"slices"
	"testing"
)

func TestSelectFollowsUpstreamControllersFlag(t *testing.T) {
	t.Parallel()
	all := []Controller{{Name: "a"}, {Name: "b", Aliases: []string{"old-b"}}, {Name: "c", DisabledByDefault: true}}
	for _, tc := range []struct {
		name    string
		flags   []string
		want    []string
		wantErr bool
	}{
		{"no flag runs every default controller", nil, []string{"a", "b"}, false},
		{"star runs every default controller", []string{"*"}, []string{"a", "b"}, false},
		{"star minus one drops it", []string{"*", "-a"}, []string{"b"}, false},
		{"naming an off-by-default controller enables it", []string{"*", "c"}, []string{"a", "b", "c"}, false},
		{"a name alone runs only it", []string{"b"}, []string{"b"}, false},
		{"an unknown name is an error", []string{"nope"}, nil, true},
		{"an alias names its controller", []string{"old-b"}, []string{"b"}, false},
		{"an alias disables its controller", []string{"*", "-old-b"}, []string{"a"}, false},
		{"an unknown negation is an error", []string{"*", "-nope"}, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := Select(all, tc.flags)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err %v, wantErr %v", err, tc.wantErr)
			}
			if !tc.wantErr && !slices.Equal(names(got), tc.want) {
				t.Errorf("selected %v, want %v", names(got), tc.want)
			}
		})
	}
}
