package images

import (
	"archive/tar"
	"io"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func TestPackIsDeterministicAndComplete(t *testing.T) {
	t.Parallel()
	files := map[string]File{
		"bin/busybox": {Data: []byte("#!binary"), Mode: 0o755},
		"bin/sh":      {Link: "busybox"},
		"tmp":         {Dir: true, Mode: 0o1777},
	}
	cfg := ImageConfig{Cmd: []string{"sh"}, Env: []string{"PATH=/bin"}}
	a, err := Pack(files, cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Pack(files, cfg)
	if err != nil {
		t.Fatal(err)
	}
	da, _ := a.Digest()
	db, _ := b.Digest()
	if da != db {
		t.Fatalf("two packs of the same files differ: %s %s", da, db)
	}
	layers, err := a.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers = %v, %v; want one", layers, err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var got []string
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, h.Name+" "+string(h.Typeflag)+" "+h.Linkname)
	}
	want := []string{"bin/ 5 ", "bin/busybox 0 ", "bin/sh 2 busybox", "tmp/ 5 "}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("layer entries = %q, want %q", got, want)
	}
	cf, _ := a.ConfigFile()
	if cf.OS != "linux" || !reflect.DeepEqual(cf.Config.Cmd, []string{"sh"}) {
		t.Fatalf("config = %+v", cf)
	}
}

func TestWriteTarballIsReadableBack(t *testing.T) {
	t.Parallel()
	img, err := PauseImageFor("amd64")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "pause.tar")
	if err := WriteTarball(path, PauseImage, img); err != nil {
		t.Fatal(err)
	}
	back, err := tarball.ImageFromPath(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := img.ConfigName()
	got, _ := back.ConfigName()
	if got != want {
		t.Fatalf("config digest read back %s, want %s", got, want)
	}
}

func TestIsTarball(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{"a.tar": true, "a.tar.gz": true, "a.tgz": true, "a.txt": false, "tar": false, ".import-record.json": false} {
		if IsTarball(name) != want {
			t.Errorf("IsTarball(%q) = %v", name, !want)
		}
	}
}
