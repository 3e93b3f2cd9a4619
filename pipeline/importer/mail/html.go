package mail

import (
	"strings"

	"golang.org/x/net/html"
)

// HTMLToText turns an HTML body into plain text with golang.org/x/net/html's
// tokenizer (no DOM is built). The rules:
//   - text nodes are kept, entities decoded, runs of white space collapsed
//     to one space;
//   - block elements (p, div, br, li, tr, h1-h6, table, blockquote, hr, ...)
//     end a line, so the reply and signature rules still see lines;
//   - the content of script, style, head, title, template, noscript, svg and
//     object is dropped;
//   - quoted history is dropped: the content of <blockquote> and of any
//     element whose class or id names a quote or signature of a common
//     client (gmail_quote, gmail_signature, moz-cite-prefix, moz-signature,
//     yahoo_quoted, OutlookMessageHeader, divRplyFwdMsg, Signature);
//   - a <br> inside a dropped element stays dropped; an unclosed element is
//     closed at the end of the input.
func HTMLToText(src string) string {
	z := html.NewTokenizer(strings.NewReader(src))
	var out strings.Builder
	skip := 0 // depth inside a dropped element
	type open struct {
		tag  string
		drop bool
	}
	var stack []open  // open elements, innermost last
	space := false    // a space is pending before the next word
	lineStart := true // nothing written on the current line yet
	newline := func() {
		if skip > 0 {
			return
		}
		if !lineStart {
			out.WriteByte('\n')
		}
		lineStart, space = true, false
	}
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return strings.TrimSpace(out.String())
		case html.TextToken:
			if skip > 0 {
				continue
			}
			for _, f := range strings.Fields(string(z.Text())) {
				if space && !lineStart {
					out.WriteByte(' ')
				}
				out.WriteString(f)
				space, lineStart = true, false
			}
			// A text node that ends in white space separates words.
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			tag := string(name)
			drop := dropContent[tag]
			for hasAttr {
				var k, v []byte
				k, v, hasAttr = z.TagAttr()
				if (string(k) == "class" || string(k) == "id") && quoteMarker(string(v)) {
					drop = true
				}
			}
			if blockTag[tag] {
				newline()
			}
			if tt == html.SelfClosingTagToken || voidTag[tag] {
				continue
			}
			stack = append(stack, open{tag, drop})
			if drop {
				skip++
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			tag := string(name)
			// Close up to the innermost open element of that name; a stray
			// end tag closes nothing.
			for i := len(stack) - 1; i >= 0; i-- {
				if stack[i].tag != tag {
					continue
				}
				for _, o := range stack[i:] {
					if o.drop {
						skip--
					}
				}
				stack = stack[:i]
				break
			}
			if blockTag[tag] {
				newline()
			}
		}
	}
}

var dropContent = map[string]bool{
	"script": true, "style": true, "head": true, "title": true, "template": true,
	"noscript": true, "svg": true, "object": true, "blockquote": true,
}

var blockTag = map[string]bool{
	"p": true, "div": true, "br": true, "li": true, "ul": true, "ol": true, "tr": true,
	"table": true, "h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true,
	"blockquote": true, "hr": true, "pre": true, "section": true, "article": true,
	"header": true, "footer": true, "dd": true, "dt": true,
}

var voidTag = map[string]bool{
	"br": true, "hr": true, "img": true, "meta": true, "link": true, "input": true,
	"area": true, "base": true, "col": true, "embed": true, "source": true, "wbr": true,
}

var quoteMarkers = []string{
	"gmail_quote", "gmail_signature", "moz-cite-prefix", "moz-signature", "yahoo_quoted",
	"outlookmessageheader", "divrplyfwdmsg", "signature",
}

func quoteMarker(v string) bool {
	v = strings.ToLower(v)
	for _, m := range quoteMarkers {
		if strings.Contains(v, m) {
			return true
		}
	}
	return false
}
