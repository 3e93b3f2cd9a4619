package graph

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"commpulse/pipeline/importer"
)

// writeMailPages writes n Graph mail messages as pages of perPage, the
// shape GET /users/{id}/messages returns with the $select of
// docs/importers.md: Outlook-style HTML bodies whose own text is 200-800
// characters and one in 100 of 10,000 (mean about 600), a quoted reply
// block and a signature to strip, 1-6 recipients among 500 people and
// internetMessageHeaders on received mail. It returns the bytes written.
func writeMailPages(tb testing.TB, dir string, n, perPage int) int64 {
	tb.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	r := rand.New(rand.NewSource(13))
	words := strings.Fields("the team plan review thanks great worried deadline happy release customer meeting " +
		"budget report numbers look good bad late early tomorrow today please could you help with this issue " +
		"we should discuss again soon excellent work frustrated about delays appreciate support progress")
	para := func(chars int) string {
		var b strings.Builder
		for b.Len() < chars {
			b.WriteString(words[r.Intn(len(words))])
			b.WriteByte(' ')
		}
		return strings.TrimSpace(b.String())
	}
	person := func(i int) map[string]any {
		return map[string]any{"emailAddress": map[string]string{"name": fmt.Sprintf("Person%03d Surname%03d", i, i), "address": fmt.Sprintf("p%03d@example.com", i)}}
	}
	var total int64
	for page := 0; page*perPage < n; page++ {
		var items []map[string]any
		for k := page * perPage; k < min(n, (page+1)*perPage); k++ {
			chars := 200 + r.Intn(600)
			if r.Intn(100) == 0 {
				chars = 10000
			}
			var body strings.Builder
			body.WriteString(`<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"><style type="text/css" style="display:none;"> P {margin-top:0;margin-bottom:0;} </style></head><body dir="ltr"><div class="elementToProof" style="font-family: Aptos, Arial, Helvetica, sans-serif; font-size: 12pt; color: rgb(0, 0, 0);">`)
			body.WriteString("Hi Person,</div><div>")
			for chars > 0 {
				l := min(chars, 150+r.Intn(250))
				body.WriteString("<p>" + para(l) + "</p>")
				chars -= l
			}
			body.WriteString(`<p>Best regards,<br>Person Surname</p></div><div id="Signature"><p>Person Surname | Team | +1 555 0100</p></div>`)
			body.WriteString(`<hr style="display:inline-block;width:98%"><div id="divRplyFwdMsg" dir="ltr"><b>From:</b> Someone Else &lt;p001@example.com&gt;<br><b>Sent:</b> Monday<br><b>Subject:</b> Re: plan</div><div>` + para(300) + `</div></body></html>`)
			from, to := r.Intn(500), r.Intn(500)
			recips := []map[string]any{person(to)}
			for j := r.Intn(6); j > 0; j-- {
				recips = append(recips, person(r.Intn(500)))
			}
			m := map[string]any{
				"@odata.etag": `W/"CQAAABYAAAA"`, "id": fmt.Sprintf("AAMkAGBench%08d", k), "internetMessageId": fmt.Sprintf("<bench-%d@mail.example.com>", k),
				"conversationId": fmt.Sprintf("AAQkAGConv%06d", k/4), "sentDateTime": fmt.Sprintf("2026-11-%02dT%02d:%02d:00Z", 1+k%28, k%24, k%60),
				"receivedDateTime": fmt.Sprintf("2026-11-%02dT%02d:%02d:01Z", 1+k%28, k%24, k%60), "subject": "Re: plan " + strconv.Itoa(k),
				"isDraft": false, "inferenceClassification": "focused", "hasAttachments": r.Intn(10) == 0,
				"from": person(from), "sender": person(from), "toRecipients": recips[:1], "ccRecipients": recips[1:], "bccRecipients": []any{},
				"body": map[string]string{"contentType": "html", "content": body.String()},
			}
			if k%2 == 0 {
				m["internetMessageHeaders"] = []map[string]string{{"name": "Received", "value": "from a by b; Mon, 2 Nov 2026 09:15:01 +0000"},
					{"name": "Message-ID", "value": m["internetMessageId"].(string)}, {"name": "Content-Type", "value": "text/html"}}
			}
			items = append(items, m)
		}
		b, err := json.Marshal(map[string]any{"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users('p000%40example.com')/messages",
			"value": items, "@odata.nextLink": "https://graph.microsoft.com/v1.0/users/p000@example.com/messages?$skip=" + strconv.Itoa((page+1)*perPage)})
		if err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("page-%05d.json", page)), b, 0o644); err != nil {
			tb.Fatal(err)
		}
		total += int64(len(b))
	}
	return total
}

// TestWriteBenchPages writes the benchmark's pages to
// COMMPULSE_WRITE_GRAPH_PAGES (a directory) for timing the command:
// COMMPULSE_WRITE_GRAPH_N messages (default 100,000), 250 per page.
func TestWriteBenchPages(t *testing.T) {
	dir := os.Getenv("COMMPULSE_WRITE_GRAPH_PAGES")
	if dir == "" {
		t.Skip("COMMPULSE_WRITE_GRAPH_PAGES not set")
	}
	n := 100_000
	if s := os.Getenv("COMMPULSE_WRITE_GRAPH_N"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	t.Logf("%d bytes", writeMailPages(t, dir, n, 250))
}

// BenchmarkImportMailPages checks and imports Graph mail pages: those in
// COMMPULSE_BENCH_GRAPH (a directory), else 20,000 generated messages.
func BenchmarkImportMailPages(b *testing.B) {
	dir := os.Getenv("COMMPULSE_BENCH_GRAPH")
	if dir == "" {
		dir = b.TempDir()
		writeMailPages(b, dir, 20_000, 250)
	}
	ins, _, err := Inputs([]string{dir})
	if err != nil {
		b.Fatal(err)
	}
	var size int64
	for _, in := range ins {
		size += in.Size
	}
	b.SetBytes(size)
	msgs := 0
	b.ResetTimer()
	for range b.N {
		im := testImporter(b, nil, 0)
		for _, in := range ins {
			if err := im.Check(in); err != nil {
				b.Fatal(err)
			}
		}
		for _, in := range ins {
			if err := im.Import(in, nil, func(importer.Record) error { return nil }); err != nil {
				b.Fatal(err)
			}
		}
		st := im.Stats()
		if st.Imported == 0 {
			b.Fatalf("nothing imported: %s", st)
		}
		msgs = st.Messages
	}
	b.ReportMetric(float64(msgs)*float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
