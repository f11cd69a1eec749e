package server

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func TestServiceAccountFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    ServiceAccountOptions
		wantErr bool
	}{
		{name: "no flags keep the defaults", want: ServiceAccountOptions{}},
		{name: "issuers repeat and the extension turns off",
			args: []string{"--service-account-issuer=https://a", "--service-account-issuer=https://b", "--service-account-extend-token-expiration=false",
				"--service-account-max-token-expiration=1h", "--api-audiences=x,y"},
			want: ServiceAccountOptions{Issuers: []string{"https://a", "https://b"}, DisableTokenExtension: true, MaxTokenExpiration: time.Hour, APIAudiences: []string{"x", "y"}}},
		{name: "a bare extension flag means true", args: []string{"--service-account-extend-token-expiration"}, want: ServiceAccountOptions{}},
		{name: "a bad extension value is an error", args: []string{"--service-account-extend-token-expiration=maybe"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var o ServiceAccountOptions
			f := pflag.NewFlagSet("test", pflag.ContinueOnError)
			addServiceAccountFlags(f, &o)
			err := f.Parse(tt.args)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Parse: %v", err)
			}
			if tt.wantErr {
				return
			}
			if !slices.Equal(o.Issuers, tt.want.Issuers) || !slices.Equal(o.APIAudiences, tt.want.APIAudiences) ||
				o.DisableTokenExtension != tt.want.DisableTokenExtension || o.MaxTokenExpiration != tt.want.MaxTokenExpiration {
				t.Errorf("options %+v, want %+v", o, tt.want)
			}
		})
	}
}

func TestServiceAccountKeysLoad(t *testing.T) {
	dir := t.TempDir()
	keys, err := ServiceAccountOptions{}.load(dir)
	if err != nil || keys.key == nil {
		t.Fatalf("default key: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "service.key")); err != nil {
		t.Errorf("the default key was not written: %v", err)
	}
	again, err := ServiceAccountOptions{SigningKeyFile: filepath.Join(dir, "service.key"), KeyFiles: []string{filepath.Join(dir, "service.key")}}.load(t.TempDir())
	if err != nil || len(again.publicKeys) != 1 {
		t.Fatalf("named key: %v", err)
	}
	for name, o := range map[string]ServiceAccountOptions{
		"a missing signing key file": {SigningKeyFile: filepath.Join(dir, "missing.key")},
		"a missing public key file":  {KeyFiles: []string{filepath.Join(dir, "missing.pub")}},
	} {
		if _, err := o.load(dir); err == nil {
			t.Errorf("%s loaded", name)
		}
	}
}
