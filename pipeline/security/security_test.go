package security

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSecret(t *testing.T) {
	f := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(f, []byte("hunter2-value\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, value, file, want, wantErr string
	}{
		{name: "value", value: "v", want: "v"},
		{name: "file trims newline", file: f, want: "hunter2-value"},
		{name: "both", value: "v", file: f, wantErr: "not both"},
		{name: "missing file", file: f + ".nope", wantErr: "pw file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Secret("pw", tc.value, tc.file)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Fatal("error shows the secret")
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v", got, err)
			}
		})
	}
}

func TestKafkaSASL(t *testing.T) {
	for _, tc := range []struct {
		mech    string
		user    string
		wantNil bool
		wantErr bool
	}{
		{mech: "", wantNil: true},
		{mech: "plain", user: "u"},
		{mech: "SCRAM-SHA-256", user: "u"},
		{mech: "scram-sha-512", user: "u"},
		{mech: "gssapi", user: "u", wantErr: true},
		{mech: "plain", user: "", wantErr: true},
	} {
		m, err := KafkaSASL(tc.mech, tc.user, "p")
		if (err != nil) != tc.wantErr || (m == nil) != (tc.wantNil || tc.wantErr) {
			t.Errorf("%q: mechanism %v, err %v", tc.mech, m, err)
		}
	}
}

func TestTLSConfig(t *testing.T) {
	if c, err := (TLS{}).Config(); c != nil || err != nil {
		t.Fatalf("off: %v %v", c, err)
	}
	if _, err := (TLS{CAFile: "x"}).Config(); err == nil {
		t.Fatal("files without enable must be an error")
	}
	if _, err := (TLS{Enable: true, CertFile: "c"}).Config(); err == nil {
		t.Fatal("cert without key must be an error")
	}
	bad := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(bad, []byte("not pem"), 0o600)
	if _, err := (TLS{Enable: true, CAFile: bad}).Config(); err == nil {
		t.Fatal("a CA file without PEM must be an error")
	}
	c, err := (TLS{Enable: true, ServerName: "ch.internal"}).Config()
	if err != nil || c.ServerName != "ch.internal" || c.MinVersion == 0 {
		t.Fatalf("%+v %v", c, err)
	}
}
