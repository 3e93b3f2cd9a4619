# gen.py writes the hand-written fixtures (kept in git; re-run to regenerate).
# Invented people and domains only: example.com is the company, example.org external.
import base64, quopri, os

def b64(s, cs):
    b = base64.encodebytes(s.encode(cs)).decode()
    return b

def qp(s):
    return quopri.encodestring(s.encode('utf-8')).decode()

msgs = []
# 1 plain UTF-8 quoted-printable, with a signature and an external cc
msgs.append("""From alice@example.com Mon Nov  2 09:15:00 2026
Message-ID: <m1@mail.example.com>
Date: Mon, 02 Nov 2026 09:15:00 +0100
From: Alice Quartermaine <Alice@Example.com>
To: Bob Lindqvist <bob@example.com>
Cc: "Carol Ntozake" <carol@example.com>, Frank Oduya <frank@example.org>
Subject: Release
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

""" + qp("""Hi Bob,

Great work on the release, the team did an excellent job. Caf\u00e9 at three?

Thanks,
Alice
-- 
Alice Quartermaine | Example Corp | alice@example.com | +1 555 0100
""") + "\n")
# 2 reply, ISO-8859-1 base64, with a quoted block and a sign-off
msgs.append("""From bob@example.com Mon Nov  2 10:01:00 2026
Message-ID: <m2@mail.example.com>
In-Reply-To: <m1@mail.example.com>
References: <m1@mail.example.com>
Date: Mon, 02 Nov 2026 10:01:00 +0100
From: =?ISO-8859-1?Q?Bob_Lindqvist?= <bob@example.com>
To: Alice Quartermaine <alice@example.com>
Subject: Re: Release
MIME-Version: 1.0
Content-Type: text/plain; charset=ISO-8859-1
Content-Transfer-Encoding: base64

""" + b64("""Danke Alice, that's wonderful news. Ich bin sehr gl\u00fccklich \u00fcber das Ergebnis.

On Mon, 2 Nov 2026 at 09:15, Alice Quartermaine <alice@example.com> wrote:
> Hi Bob,
> Great work on the release QUOTEDSECRET
> Thanks, Alice

Best regards,
Bob Lindqvist
""", 'iso-8859-1') + "\n")
# 3 HTML only, quoted-printable, with a gmail quote
msgs.append("""From carol@example.com Mon Nov  2 11:30:00 2026
Message-ID: <m3@mail.example.com>
In-Reply-To: <m2@mail.example.com>
References: <m1@mail.example.com> <m2@mail.example.com>
Date: Mon, 02 Nov 2026 11:30:00 +0100
From: Carol Ntozake <carol@example.com>
To: alice@example.com, bob@example.com, carol@example.com
Subject: Re: Release
MIME-Version: 1.0
Content-Type: text/html; charset=utf-8
Content-Transfer-Encoding: quoted-printable

""" + qp("""<html><head><title>x</title><style>p { color: red }</style></head><body>
<p>The new dashboard is <b>really</b> confusing and slow. I&#39;m frustrated&nbsp;with it.</p>
<p>Can we talk tomorrow?</p>
<div class="gmail_quote">On Mon, Bob Lindqvist wrote:<blockquote>Danke Alice QUOTEDSECRET</blockquote></div>
<script>alert("SCRIPTSECRET")</script>
</body></html>
""") + "\n")
# 4 auto-reply
msgs.append("""From erin@example.com Mon Nov  2 11:31:00 2026
Message-ID: <m4@mail.example.com>
Date: Mon, 02 Nov 2026 11:31:00 +0100
From: Erin Castellanos <erin@example.com>
To: carol@example.com
Subject: Out of office
Auto-Submitted: auto-replied
Content-Type: text/plain

I am out of the office until Monday.
""")
# 5 list mail
msgs.append("""From news@example.com Mon Nov  2 12:00:00 2026
Message-ID: <m5@lists.example.com>
Date: Mon, 02 Nov 2026 12:00:00 +0100
From: Example Newsletter <news@example.com>
To: all@example.com
Subject: Weekly digest
List-Id: <weekly.lists.example.com>
List-Unsubscribe: <mailto:leave@example.com>
Precedence: list
Content-Type: text/plain

This week at Example Corp: many great things.
""")
# 6 calendar invite
msgs.append("""From alice@example.com Mon Nov  2 12:30:00 2026
Message-ID: <m6@mail.example.com>
Date: Mon, 02 Nov 2026 12:30:00 +0100
From: Alice Quartermaine <alice@example.com>
To: bob@example.com
Subject: Invitation: Sprint review @ Tue 3 Nov 2026
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="cal-b"

--cal-b
Content-Type: text/plain; charset=utf-8

You have been invited to Sprint review.
--cal-b
Content-Type: text/calendar; charset=utf-8; method=REQUEST

BEGIN:VCALENDAR
METHOD:REQUEST
BEGIN:VEVENT
SUMMARY:Sprint review
END:VEVENT
END:VCALENDAR
--cal-b--
""")
# 7 unknown charset (best effort)
msgs.append("""From bob@example.com Mon Nov  2 13:00:00 2026
Message-ID: <m7@mail.example.com>
Date: Mon, 02 Nov 2026 13:00:00 +0100
From: Bob Lindqvist <bob@example.com>
To: carol@example.com
Subject: Build
MIME-Version: 1.0
Content-Type: text/plain; charset=x-invented-charset

The build is green again, nice work everyone.
""")
# 8 malformed MIME: multipart without a single boundary line
msgs.append("""From carol@example.com Mon Nov  2 13:30:00 2026
Message-ID: <m8@mail.example.com>
Date: Mon, 02 Nov 2026 13:30:00 +0100
From: Carol Ntozake <carol@example.com>
To: bob@example.com
Subject: Broken
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="never-used"

This body has no boundary at all.
""")
# 9 an escaped From line and an unescaped body line that starts with From
msgs.append("""From bob@example.com Mon Nov  2 14:00:00 2026
Message-ID: <m9@mail.example.com>
Date: Mon, 02 Nov 2026 14:00:00 +0100
From: Bob Lindqvist <bob@example.com>
To: Erin Castellanos <erin@example.com>
Subject: Plan
Content-Type: text/plain

The plan looks solid to me.

>From now on we ship on Tuesdays.

From the ops side, everything is fine.
""")
# 10 no Message-ID
msgs.append("""From erin@example.com Mon Nov  2 14:30:00 2026
Date: Mon, 02 Nov 2026 14:30:00 +0100
From: Erin Castellanos <erin@example.com>
To: Carol Ntozake <carol@example.com>
Subject: Lunch
Content-Type: text/plain

Lunch was lovely, thank you Carol!
""")
# 11 bad date
msgs.append("""From erin@example.com Mon Nov  2 14:40:00 2026
Message-ID: <m11@mail.example.com>
Date: sometime last week
From: Erin Castellanos <erin@example.com>
To: carol@example.com
Subject: Undated
Content-Type: text/plain

No date on this one.
""")
# 12 a sender who did not opt in
msgs.append("""From dmitri@example.com Mon Nov  2 15:00:00 2026
Message-ID: <m12@mail.example.com>
Date: Mon, 02 Nov 2026 15:00:00 +0100
From: Dmitri Vasquez-Oyelaran <dmitri@example.com>
To: alice@example.com
Subject: Hello
Content-Type: text/plain

Hello from someone who never opted in.
""")
# 13 an Outlook-style reply, to an opted-in and a not-opted-in person
msgs.append("""From erin@example.com Mon Nov  2 15:30:00 2026
Message-ID: <m13@mail.example.com>
In-Reply-To: <m12@mail.example.com>
Date: Mon, 02 Nov 2026 15:30:00 +0100
From: Erin Castellanos <erin@example.com>
To: Alice Quartermaine <alice@example.com>; Dmitri Vasquez-Oyelaran <dmitri@example.com>
Subject: RE: Hello
Content-Type: text/plain

I am worried about the deadline, this is a disaster.

-----Original Message-----
From: Dmitri Vasquez-Oyelaran
Sent: Monday, November 2, 2026 3:00 PM
To: Alice Quartermaine
Subject: Hello

Hello from someone who never opted in.
""")
# 14 a mail loop
msgs.append("""From alice@example.com Mon Nov  2 16:00:00 2026
Message-ID: <m14@mail.example.com>
Date: Mon, 02 Nov 2026 16:00:00 +0100
From: Alice Quartermaine <alice@example.com>
To: bob@example.com
X-Loop: alice@example.com
Subject: Loop
Content-Type: text/plain

Looping.
""")
os.makedirs('mbox', exist_ok=True)
with open('mbox/inbox.mbox', 'w', newline='\n') as f:
    f.write("\n".join(msgs))

# truncated mbox: garbage before the first separator, one good message, one cut in its attachment
with open('mbox/truncated.mbox', 'w', newline='\n') as f:
    f.write("this line is not an mbox separator\n\n")
    f.write("""From bob@example.com Tue Nov  3 09:00:00 2026
Message-ID: <t1@mail.example.com>
Date: Tue, 03 Nov 2026 09:00:00 +0100
From: Bob Lindqvist <bob@example.com>
To: alice@example.com
Subject: Morning
Content-Type: text/plain

Good morning, happy to help with the review today.

From bob@example.com Tue Nov  3 09:05:00 2026
Message-ID: <t2@mail.example.com>
Date: Tue, 03 Nov 2026 09:05:00 +0100
From: Bob Lindqvist <bob@example.com>
To: alice@example.com
Subject: Report
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="cut"

--cut
Content-Type: text/plain

See the attached report.
--cut
Content-Type: application/pdf
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename="report.pdf"

JVBERi0xLjQKJcfsj6IKNSAwIG9iago8PC9MZW5ndGggNiAwIFIvRmlsdGVyIC9GbGF0ZURlY29k
ZT4+CnN0cmVhbQp4nCvkMlAwUDC1NNUzMVGwMDHWszRSKErlCtfiyuMK5AIAXQ8GCgplbmRzdHJl""")

# Maildir: a copy of message 1 (same Message-ID, another folder), a new message, an unfinished delivery in tmp
for d in ('maildir/cur', 'maildir/new', 'maildir/tmp'):
    os.makedirs(d, exist_ok=True)
m1 = msgs[0].split("\n", 1)[1].replace("Message-ID: <m1@mail.example.com>", "Message-ID:   <M1@MAIL.EXAMPLE.COM> ")
with open('maildir/cur/1762071300.M1P1.host,S=1!2,S', 'w', newline='\n') as f:
    f.write(m1)
with open('maildir/new/1762074000.M2P1.host', 'w', newline='\n') as f:
    f.write("""Message-ID: <d2@mail.example.com>
Date: Mon, 02 Nov 2026 17:00:00 +0100
From: Bob Lindqvist <bob@example.com>
To: Erin Castellanos <erin@example.com>, Bob Lindqvist <bob@example.com>, erin@example.com
Subject: Thanks
Content-Type: text/plain; charset=utf-8

Thanks for the quick fix, really appreciated.
""")
with open('maildir/tmp/1762074001.M3P1.host', 'w', newline='\n') as f:
    f.write("Message-ID: <tmp@mail.example.com>\nDate: Mon, 02 Nov 2026 17:01:00 +0100\nFrom: bob@example.com\nTo: erin@example.com\n\nhalf delivered\n")

# a directory of .eml files (recursive), with an external sender
os.makedirs('eml/2026/11', exist_ok=True)
with open('eml/2026/11/partner.eml', 'w', newline='\r\n') as f:
    f.write("""Message-ID: <p1@partner.example.org>
Date: Tue, 03 Nov 2026 10:00:00 -0500
From: Frank Oduya <frank@example.org>
To: Alice Quartermaine <alice@example.com>, Greta Halvorsen <greta@sub.example.org>, frank@example.org
Subject: Contract
Content-Type: text/plain; charset=us-ascii

We are very happy with the collaboration so far.

Cheers,
Frank
""")
with open('eml/README.txt', 'w') as f:
    f.write("not a message: ignored by the walker\n")

with open('consent.csv', 'w') as f:
    f.write("address\n# opted in via the HR portal\nalice@example.com\nBob@Example.com\ncarol@example.com\nerin@example.com\nfrank@example.org\n")
with open('directory.csv', 'w') as f:
    f.write("address,team\nalice@example.com,team-a\nbob@example.com,team-a\ncarol@example.com,team-b\nerin@example.com,team-b\ndmitri@example.com,team-b\n")
