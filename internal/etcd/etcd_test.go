package etcd

import (
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"
)

func TestStartWriteRestartRead(t *testing.T) {
	dir := t.TempDir()
	opts := Options{DataDir: dir, ClientURL: "http://127.0.0.1:0", PeerURL: "http://127.0.0.1:0"}
	for i, step := range []func(c *clientv3.Client) error{
		func(c *clientv3.Client) error { _, err := c.Put(t.Context(), "/k", "v"); return err },
		func(c *clientv3.Client) error {
			r, err := c.Get(t.Context(), "/k")
			if err == nil && (len(r.Kvs) != 1 || string(r.Kvs[0].Value) != "v") {
				t.Fatalf("after restart got %v, want /k=v", r.Kvs)
			}
			return err
		},
	} {
		s, err := Start(t.Context(), opts)
		if err != nil {
			t.Fatalf("start %d: %v", i, err)
		}
		c, err := NewClient(ClientOptions{Endpoints: s.Endpoints()})
		if err != nil {
			t.Fatal(err)
		}
		if err := step(c); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		c.Close()
		s.Close()
	}
}

func TestStartRequiresDataDir(t *testing.T) {
	if _, err := Start(t.Context(), Options{}); err == nil {
		t.Fatal("Start without DataDir succeeded, want an error")
	}
}
