package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"commpulse/pipeline/privacy"
	"commpulse/pipeline/store"
	"commpulse/pipeline/store/storetest"
)

// person export finds every stored row about one person in every table of
// store.PersonTables, mapping the raw id with ingest's key first.
func TestPersonExport(t *testing.T) {
	st, srv, db := storetest.Migrated(t)
	ctx := context.Background()
	key := bytes.Repeat([]byte("k"), 32)
	keyFile := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(keyFile, key, 0o600); err != nil {
		t.Fatal(err)
	}
	ps, err := privacy.NewPseudonymizer(key)
	if err != nil {
		t.Fatal(err)
	}
	me, other := ps.ID("p_subject"), ps.ID("p_other")
	now := time.Now().UTC()
	if err := st.InsertMessages(ctx, []store.Message{
		{EventID: "e1", OccurredAt: now, IngestedAt: now, Channel: "chat", Sender: me, Team: "t", Recipients: []string{other}, RecipientTeams: []string{"t"}},
		{EventID: "e2", OccurredAt: now, IngestedAt: now, Channel: "chat", Sender: other, Team: "t", Recipients: []string{me}, RecipientTeams: []string{"t"}},
		{EventID: "e3", OccurredAt: now, IngestedAt: now, Channel: "chat", Sender: other, Team: "t", Recipients: []string{"x"}, RecipientTeams: []string{"t"}},
	}); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"INSERT INTO " + db + ".edges (window_start, window_days, src, dst) VALUES (now(), 1, ?, ?), (now(), 1, ?, ?)",
		"INSERT INTO " + db + ".node_metrics (window_start, window_days, person) VALUES (now(), 1, ?)",
		"INSERT INTO " + db + ".erasures (person, erased_at) VALUES (?, now64(3))",
	} {
		args := []any{me}
		if strings.Contains(q, "edges") {
			args = []any{me, other, other, me}
		}
		if err := st.Conn().Exec(ctx, q, args...); err != nil {
			t.Fatal(err)
		}
	}
	var out, errb bytes.Buffer
	if code := run([]string{"person", "export", "--person", "p_subject", "--pseudonym-key-file", keyFile, "--ch-addr", srv.Addr(), "--ch-database", db}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	got := map[string]int{}
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var l personExportLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("not JSON Lines: %q: %v", sc.Text(), err)
		}
		if l.Person != me || !bytes.Contains(l.Row, []byte(me)) {
			t.Fatalf("line not about the subject: %s", sc.Text())
		}
		got[l.Table+"."+l.Column]++
	}
	want := map[string]int{"messages.sender": 1, "messages.recipients": 1, "edges.src": 1, "edges.dst": 1, "node_metrics.person": 1, "erasures.person": 1}
	for _, pc := range store.PersonTables {
		if _, ok := want[pc.Table+"."+pc.Column]; !ok {
			t.Errorf("PersonTables has %s.%s, which this test does not fill", pc.Table, pc.Column)
		}
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s: %d rows, want %d (all: %v)", k, got[k], n, got)
		}
	}
	if code := run([]string{"person", "export", "--ch-addr", srv.Addr()}, &out, &errb); code != 2 {
		t.Fatalf("missing --person: exit %d, want 2", code)
	}
}
