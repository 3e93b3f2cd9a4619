package slack

import "strings"

// PlainText turns Slack's message markup into plain text before it is
// redacted: a user mention (<@U123>, <@U123|name>) becomes "[name]", a
// channel reference (<#C123|name>) "[channel]", a user-group mention
// (<!subteam^S1|@group>) "[group]", <!here>, <!channel> and <!everyone>
// "@here", "@channel" and "@everyone", a date (<!date^...|fallback>) its
// fallback, a mailto link "[email]", a link with a label (<https://x|label>)
// its label and one without (<https://x>) its URL; &lt; &gt; &amp; are
// decoded last, so that an escaped "&lt;@U1&gt;" stays text.
func PlainText(s string) string {
	if !strings.ContainsAny(s, "<&") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			break
		}
		j := strings.IndexByte(s[i:], '>')
		if j < 0 {
			break
		}
		b.WriteString(s[:i])
		b.WriteString(token(s[i+1 : i+j]))
		s = s[i+j+1:]
	}
	b.WriteString(s)
	out := b.String()
	if strings.IndexByte(out, '&') >= 0 {
		out = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(out)
	}
	return out
}

func token(t string) string {
	target, label, hasLabel := strings.Cut(t, "|")
	switch {
	case strings.HasPrefix(target, "@"):
		return "[name]"
	case strings.HasPrefix(target, "#"):
		return "[channel]"
	case strings.HasPrefix(target, "!subteam^"):
		return "[group]"
	case target == "!here" || target == "!channel" || target == "!everyone":
		return "@" + target[1:]
	case strings.HasPrefix(target, "!date^"):
		return label
	case strings.HasPrefix(target, "!"):
		return ""
	case strings.HasPrefix(strings.ToLower(target), "mailto:"):
		return "[email]"
	case hasLabel:
		return label
	}
	return target
}
