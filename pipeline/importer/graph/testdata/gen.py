#!/usr/bin/env python3
"""Writes the Graph fixtures of pipeline/importer/graph (run from this directory).

The pages have the shapes Microsoft Graph v1.0 returns for
GET /users/{id}/messages, /chats/{id}/messages, /teams/{id}/channels/{id}/messages
(?$expand=replies), .../messages/{id}/replies, /users, /users/{id}/chats?$expand=members.
Every name, address, subject, AAD id and chat id here is a secret the leak scans look for.
"""
import json, os

G = "https://graph.microsoft.com/v1.0/$metadata#"
ALICE, BOB, CAROL = "a1a1a1a1-0000-4000-8000-00000000a11c", "b0b0b0b0-0000-4000-8000-000000000b0b", "c4c4c4c4-0000-4000-8000-0000000ca401"
DMITRI, ERIN, GRETA = "d1d1d1d1-0000-4000-8000-0000000d1711", "e5e5e5e5-0000-4000-8000-000000000e51", "96969696-0000-4000-8000-000000096e7a"
FRANK = "f7f7f7f7-0000-4000-8000-0000000f7a4c"
TENANT, PARTNER_TENANT = "7e7e7e7e-0000-4000-8000-00000000c0de", "9a9a9a9a-0000-4000-8000-0000000a17e2"
PEOPLE = {
    ALICE: ("Alice Quartermaine", "alice@example.com"), BOB: ("Bob Lindqvist", "bob@example.com"),
    CAROL: ("Carol Ntozake", "carol@example.com"), DMITRI: ("Dmitri Vasquez-Oyelaran", "dmitri@example.com"),
    ERIN: ("Erin Castellanos", None), GRETA: ("Greta Halvorsen", "greta@contractor.example.net"),
    FRANK: ("Frank Oduya", None),
}

def write(path, obj, compact=False):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w") as f:
        if compact:
            json.dump(obj, f, ensure_ascii=False, separators=(",", ":"))
        else:
            json.dump(obj, f, ensure_ascii=False, indent=2)
        f.write("\n")

def ea(name, addr):
    return {"emailAddress": {"name": name, "address": addr}}

def mail(id, imid, conv, sent, frm, to, subject, html, cc=(), bcc=(), headers=None, unique=None, ctype="html", **kw):
    m = {"@odata.etag": 'W/"CQAAABYAAAB' + id[-6:] + '"', "id": id, "createdDateTime": sent, "lastModifiedDateTime": sent,
         "receivedDateTime": sent, "sentDateTime": sent, "hasAttachments": False, "internetMessageId": imid,
         "subject": subject, "bodyPreview": "", "importance": "normal", "parentFolderId": "AQMkAGInbox",
         "conversationId": conv, "isDeliveryReceiptRequested": False, "isReadReceiptRequested": False, "isRead": True,
         "isDraft": False, "webLink": "https://outlook.office365.com/owa/?ItemID=" + id, "inferenceClassification": "focused",
         "body": {"contentType": ctype, "content": html},
         "sender": ea(*frm), "from": ea(*frm), "toRecipients": [ea(*t) for t in to], "ccRecipients": [ea(*t) for t in cc],
         "bccRecipients": [ea(*t) for t in bcc], "replyTo": [], "flag": {"flagStatus": "notFlagged"}}
    if imid is None:
        del m["internetMessageId"]
    if headers is not None:
        m["internetMessageHeaders"] = [{"name": k, "value": v} for k, v in headers]
    if unique is not None:
        m["uniqueBody"] = {"contentType": "html", "content": unique}
    m.update(kw)
    return m

A, B, C, D = ("Alice Quartermaine", "alice@example.com"), ("Bob Lindqvist", "bob@example.com"), ("Carol Ntozake", "carol@example.com"), ("Dmitri Vasquez-Oyelaran", "dmitri@example.com")
F = ("Frank Oduya", "frank@partner.example.org")
HTML = '<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"><style>p{margin:0}</style></head><body><div dir="ltr">%s</div></body></html>'

page1 = {"@odata.context": G + "users('alice%40example.com')/messages(id,internetMessageId,conversationId,sentDateTime,receivedDateTime,from,sender,toRecipients,ccRecipients,bccRecipients,subject,body,uniqueBody,isDraft,meetingMessageType,inferenceClassification,internetMessageHeaders,hasAttachments)",
    "value": [
    mail("AAMkAGI1AAAB00001", "<CAB001.quokka@mail.example.com>", "AAQkAGConvQ1", "2026-11-02T09:15:00Z", B, [A], "Quarterly Zeppelin budget",
         HTML % ("<p>Hi Alice,</p><p>Thank you so much for the great review of the plan, I really appreciate it.</p>"
                 "<p>Best regards,<br>Bob Lindqvist</p>"), cc=[C],
         headers=[("Received", "from mail.example.com by mx.example.com; Mon, 2 Nov 2026 09:15:01 +0000"),
                  ("Message-ID", "<CAB001.quokka@mail.example.com>"), ("Subject", "Quarterly Zeppelin budget")]),
    mail("AAMkAGI1AAAB00002", "<CAA002.wombat@mail.example.com>", "AAQkAGConvQ1", "2026-11-02T10:01:00Z", A, [B], "RE: Quarterly Zeppelin budget",
         HTML % ("<p>Glad it helped, Bob! The numbers look solid.</p>"
                 '<div id="divRplyFwdMsg"><b>From:</b> Bob Lindqvist &lt;bob@example.com&gt;<br><b>Subject:</b> Quarterly Zeppelin budget</div>'
                 "<blockquote>Hi Alice, Thank you so much</blockquote>"), cc=[C],
         headers=[("In-Reply-To", "<CAB001.quokka@mail.example.com>"), ("References", "<CAB001.quokka@mail.example.com>")]),
    mail("AAMkAGI1AAAB00003", "<oof003@mail.example.com>", "AAQkAGConvOOF", "2026-11-02T10:02:00Z", C, [A], "Automatic reply: Quarterly Zeppelin budget",
         HTML % "<p>I am out of the office until Monday.</p>",
         headers=[("Auto-Submitted", "auto-replied"), ("X-Auto-Response-Suppress", "All")]),
    mail("AAMkAGI1AAAB00004", "<oof004@mail.example.com>", "AAQkAGConvOOF2", "2026-11-02T10:03:00Z", D, [A], "Out of office: Marzipan offsite",
         HTML % "<p>I am away, back on the 9th.</p>", headers=[("X-Auto-Response-Suppress", "All")]),
    mail("AAMkAGI1AAAB00005", "<news005@lists.example.com>", "AAQkAGConvNews", "2026-11-02T11:00:00Z", ("Example News", "news@example.com"), [A], "Weekly Gazebo digest",
         HTML % "<p>This week: everything is wonderful.</p>", headers=[("List-Id", "<weekly.lists.example.com>"), ("Precedence", "bulk")]),
    dict(mail("AAMkAGI1AAAB00006", "<meet006@mail.example.com>", "AAQkAGConvMeet", "2026-11-02T12:00:00Z", B, [A, C], "Invitation: Trombone sync",
         HTML % "<p>Let us meet and sync on the plan.</p>"), **{"@odata.type": "#microsoft.graph.eventMessageRequest", "meetingMessageType": "meetingRequest"}),
    mail("AAMkAGI1AAAB00007", "<draft007@mail.example.com>", "AAQkAGConvDraft", "2026-11-02T12:30:00Z", A, [D], "Pelican draft",
         HTML % "<p>Unfinished angry words.</p>", isDraft=True),
    mail("AAMkAGI1AAAB00008", "<ext008@partner.example.org>", "AAQkAGConvExt", "2026-11-02T13:00:00Z", F, [A], "Contract Flamingo",
         HTML % "<p>Dear Alice, the contract is signed. Wonderful working with you.</p><p>Frank Oduya<br>Partner Ltd</p>"
         '<div class="gmail_signature">Frank Oduya | frank@partner.example.org</div>'),
    mail("AAMkAGI1AAAB00009", "<CAC009.numbat@mail.example.com>", "AAQkAGConvQ1", "2026-11-02T14:00:00Z", C, [A, B], "RE: Quarterly Zeppelin budget",
         "I am worried the deadline is too tight.\r\n\r\nOn Mon, 2 Nov 2026 at 10:01, Alice Quartermaine <alice@example.com> wrote:\r\n> Glad it helped\r\n",
         ctype="text", unique="<div>I am worried the deadline is too tight.</div>", inferenceClassification="other"),
    ],
    "@odata.nextLink": "https://graph.microsoft.com/v1.0/users('alice%40example.com')/messages?$select=id&$top=9&$skip=9"}
write("mail/alice-inbox-001.json", page1)

page2 = {"@odata.context": G + "users('alice%40example.com')/messages(id,internetMessageId,conversationId,sentDateTime,receivedDateTime,from,sender,toRecipients,ccRecipients,bccRecipients,subject,body,uniqueBody,isDraft,meetingMessageType,inferenceClassification,internetMessageHeaders,hasAttachments)",
    "value": [
    # The first mail again, from another folder: a new Graph id, the same internetMessageId.
    mail("AAMkAGI1AAAB99901", "<cab001.QUOKKA@mail.example.com>", "AAQkAGConvQ1", "2026-11-02T09:15:00Z", B, [A], "Quarterly Zeppelin budget",
         HTML % "<p>Hi Alice, thank you</p>", cc=[C]),
    dict(mail("AAMkAGI1AAAB00010", "<rcv010@mail.example.com>", "AAQkAGConv10", "2026-11-03T08:00:00Z", D, [A], "Sprocket question",
         HTML % "<p>Could you help me with the report? I am stuck and frustrated.</p>", hasAttachments=True), sentDateTime=None),
    dict(mail("AAMkAGI1AAAB00011", "<nodate011@mail.example.com>", "AAQkAGConv11", "", D, [A], "Undated Kumquat", "no date"), sentDateTime=None, receivedDateTime=None),
    mail("AAMkAGI1AAAB00012", "<extext012@partner.example.org>", "AAQkAGConv12", "2026-11-03T09:00:00Z", F, [("Someone", "someone@elsewhere.example.net")], "Forwarded Gnocchi", "hi"),
    mail("AAMkAGI1AAAB00013", "<baddate013@mail.example.com>", "AAQkAGConv13", "yesterday", D, [A], "Bad date Rutabaga", "x"),
    mail("AAMkAGI1AAAB00014", None, "AAQkAGConv14", "2026-11-03T10:00:00Z", B, [D], "No message id Parsnip",
         HTML % "<p>Dmitri, the build is green again. Nice!</p>"),
    {"@odata.type": "#microsoft.graph.user", "id": ALICE, "displayName": "Alice Quartermaine"},
    ]}
write("mail/alice-inbox-002.json", page2, compact=True)

def cm(id, conv, at, uid, html, mtype="message", reply=None, mentions=(), attachments=(), deleted=None, app=None, ctype="html", channel=None):
    m = {"id": id, "replyToId": reply, "etag": id, "messageType": mtype, "createdDateTime": at, "lastModifiedDateTime": at,
         "lastEditedDateTime": None, "deletedDateTime": deleted, "subject": None, "summary": None, "chatId": conv,
         "importance": "normal", "locale": "en-us", "webUrl": None, "channelIdentity": None, "policyViolation": None,
         "eventDetail": None, "from": None, "body": {"contentType": ctype, "content": html},
         "attachments": list(attachments), "mentions": [], "reactions": []}
    if channel:
        m["chatId"] = None
        m["channelIdentity"] = {"teamId": channel[0], "channelId": channel[1]}
    if app:
        m["from"] = {"application": {"@odata.type": "#microsoft.graph.teamworkApplicationIdentity", "id": "app-0001", "displayName": app, "applicationIdentityType": "bot"}, "device": None, "user": None}
    elif uid:
        name, _ = PEOPLE[uid]
        typ, tenant = ("federatedUser", PARTNER_TENANT) if uid == FRANK else ("aadUser", TENANT)
        m["from"] = {"application": None, "device": None, "user": {"@odata.type": "#microsoft.graph.teamworkUserIdentity", "id": uid, "displayName": name, "userIdentityType": typ, "tenantId": tenant}}
    for i, (text, u) in enumerate(mentions):
        m["mentions"].append({"id": i, "mentionText": text, "mentioned": {"application": None, "device": None, "conversation": None, "tag": None,
            "user": {"@odata.type": "#microsoft.graph.teamworkUserIdentity", "id": u, "displayName": PEOPLE[u][0], "userIdentityType": "aadUser", "tenantId": TENANT}}})
    if mtype != "message":
        m["from"] = None
        m["eventDetail"] = {"@odata.type": "#microsoft.graph.membersAddedEventMessageDetail", "visibleHistoryStartDateTime": "0001-01-01T00:00:00Z",
                            "members": [{"id": DMITRI, "displayName": "Dmitri Vasquez-Oyelaran", "userIdentityType": "aadUser", "tenantId": TENANT}],
                            "initiator": {"user": {"id": ALICE, "displayName": None, "userIdentityType": "aadUser"}}}
    return m

GRP = "19:4f6e7a2d0c9b4a1e8d3f@thread.v2"
chat = {"@odata.context": G + "chats('19%3A4f6e7a2d0c9b4a1e8d3f%40thread.v2')/messages",
    "@odata.count": 6, "@odata.nextLink": "https://graph.microsoft.com/v1.0/chats/19:4f6e7a2d0c9b4a1e8d3f@thread.v2/messages?$top=6&$skiptoken=xyz",
    "value": [  # newest first, as Graph returns them
    cm("1793618100000", GRP, "2026-11-02T09:15:00.000Z", CAROL, '<p>Here are the slides for tomorrow <attachment id="a7c1b2"></attachment></p>',
       attachments=[{"id": "a7c1b2", "contentType": "reference", "contentUrl": "https://example.sharepoint.com/sites/x/Shared%20Documents/Carol%20Ntozake%20slides.pptx", "content": None, "name": "Carol Ntozake slides.pptx", "thumbnailUrl": None}]),
    cm("1793617920000", GRP, "2026-11-02T09:12:00.000Z", CAROL, "<p>oops wrong chat</p>", deleted="2026-11-02T09:12:30.000Z"),
    cm("1793617800000", GRP, "2026-11-02T09:10:00.000Z", None, '<attachment id="card1"></attachment>', app="Polly",
       attachments=[{"id": "card1", "contentType": "application/vnd.microsoft.card.adaptive", "content": "{\"body\":\"Poll: lunch?\"}"}]),
    cm("1793617620000", GRP, "2026-11-02T09:07:00.000Z", BOB, '<p>Yes, all good. Carol did a great job <emoji id="smile" alt="🙂" title="Smile"></emoji></p>'),
    cm("1793617500000", GRP, "2026-11-02T09:05:00.000Z", ALICE, '<p>Morning <at id="0">Bob</at>! Ready for the demo? I am excited.</p>', mentions=[("Bob", BOB)]),
    cm("1793617200000", GRP, "2026-11-02T09:00:00.000Z", None, "<systemEventMessage/>", mtype="systemEventMessage"),
    ]}
write("teams/chat-group.json", chat)

ONE = "19:%s_%s@unq.gbl.spaces" % (ALICE, ERIN)
lines = [
    cm("1793620800000", ONE, "2026-11-02T10:00:00.000Z", ALICE, "<p>Hi Erin, do you have a minute? Write to alice@example.com if not.</p>"),
    cm("1793620860000", ONE, "2026-11-02T10:01:00.000Z", ERIN, "Sure, happy to help. Call me.", ctype="text"),
    cm("1793620900000", ONE, "not a date", ERIN, "<p>x</p>"),
    cm("1793620960000", ONE, "2026-11-02T10:02:40.000Z", None, "<p>call ended</p>", mtype="chatEvent"),
]
os.makedirs("teams", exist_ok=True)
with open("teams/chat-oneonone.jsonl", "w") as f:
    for l in lines:
        f.write(json.dumps(l, ensure_ascii=False, separators=(",", ":")) + "\n")

EXT = "19:0e1d2c3b4a59687f@thread.v2"
ext = {"@odata.context": G + "chats('19%3A0e1d2c3b4a59687f%40thread.v2')/messages", "value": [
    cm("1793624400000", EXT, "2026-11-02T11:00:00.000Z", GRETA, "<p>Hello from the contractor side, the draft is ready.</p>"),
    cm("1793624460000", EXT, "2026-11-02T11:01:00.000Z", FRANK, '<p>Thanks <at id="0">Alice</at>, looks great to us.</p>', mentions=[("Alice", ALICE)]),
]}
write("teams/chat-external.json", ext)

TEAM, GEN = "5d5d5d5d-0000-4000-8000-0000000a7e01", "19:a1b2c3d4e5f6@thread.tacv2"
CH = (TEAM, GEN)
root1 = cm("1793628000000", None, "2026-11-02T12:00:00.000Z", BOB, "<p>Release 2.0 is out! Thanks everyone for the hard work.</p>", channel=CH)
root1["subject"] = "Release Xylophone"
root1["replies"] = [
    cm("1793628300000", None, "2026-11-02T12:05:00.000Z", ALICE, "<p>Fantastic news, well done!</p>", reply="1793628000000", channel=CH),
    cm("1793628360000", None, "2026-11-02T12:06:00.000Z", CAROL, "<p>Great teamwork.</p>", reply="1793628000000", channel=CH),
    cm("1793628480000", None, "2026-11-02T12:08:00.000Z", BOB, "<p>Thank you both.</p>", reply="1793628000000", channel=CH),
]
root2 = cm("1793631600000", None, "2026-11-02T13:00:00.000Z", DMITRI, '<p><at id="0">Alice</at> can you review the incident report? It was a bad night.</p>', channel=CH, mentions=[("Alice", ALICE)])
root2["replies"] = []
sysmsg = cm("1793633400000", None, "2026-11-02T13:30:00.000Z", None, "<systemEventMessage/>", mtype="systemEventMessage", channel=CH)
write("teams/channel-general.json", {"@odata.context": G + "teams('5d5d5d5d-0000-4000-8000-0000000a7e01')/channels('19%3Aa1b2c3d4e5f6%40thread.tacv2')/messages(replies())",
    "@odata.count": 3, "value": [sysmsg, root2, root1]})
write("teams/channel-general-replies.json", {"@odata.context": G + "teams('5d5d5d5d-0000-4000-8000-0000000a7e01')/channels('19%3Aa1b2c3d4e5f6%40thread.tacv2')/messages('1793631600000')/replies",
    "@odata.count": 1, "value": [
    cm("1793631900000", None, "2026-11-02T13:05:00.000Z", ERIN, "<p>I can help with that too.</p>", reply="1793631600000", channel=CH)]})

users = {"@odata.context": G + "users(id,mail,userPrincipalName,userType,displayName,givenName,surname)", "value": [
    {"id": ALICE, "mail": "Alice@Example.com", "userPrincipalName": "alice@example.com", "userType": "Member", "displayName": "Alice Quartermaine", "givenName": "Alice", "surname": "Quartermaine"},
    {"id": BOB, "mail": "bob@example.com", "userPrincipalName": "bob@example.com", "userType": "Member", "displayName": "Bob Lindqvist", "givenName": "Bob", "surname": "Lindqvist"},
    {"id": CAROL, "mail": None, "userPrincipalName": "carol@example.com", "userType": "Member", "displayName": "Carol Ntozake", "givenName": "Carol", "surname": "Ntozake"},
    {"id": DMITRI, "mail": "dmitri@example.com", "userPrincipalName": "dmitri@example.com", "userType": "Member", "displayName": "Dmitri Vasquez-Oyelaran", "givenName": "Dmitri", "surname": "Vasquez-Oyelaran"},
    {"id": GRETA, "mail": "greta@contractor.example.net", "userPrincipalName": "greta_contractor.example.net#EXT#@example.onmicrosoft.com", "userType": "Guest", "displayName": "Greta Halvorsen", "givenName": "Greta", "surname": "Halvorsen"},
]}
write("users.json", users)

def member(uid, roles=("owner",)):
    name, addr = PEOPLE[uid]
    return {"@odata.type": "#microsoft.graph.aadUserConversationMember", "id": "MCMj" + uid[:8], "roles": list(roles), "displayName": name,
            "visibleHistoryStartDateTime": "0001-01-01T00:00:00Z", "userId": uid, "email": addr, "tenantId": TENANT}
members = {"@odata.context": G + "chats(members())", "value": [
    {"id": GRP, "topic": "Demo Pineapple prep", "chatType": "group", "createdDateTime": "2026-11-01T08:00:00Z", "tenantId": TENANT,
     "members": [member(ALICE), member(BOB), member(CAROL), member(DMITRI)]},
    {"id": EXT, "topic": None, "chatType": "group", "createdDateTime": "2026-11-01T08:00:00Z", "tenantId": TENANT,
     "members": [member(ALICE), member(GRETA, ("guest",))]},
]}
write("members.json", members)

# The same mail as a Graph message and as an .eml: the two importers must agree.
agree_html = ("<html><body><p>Hi Bob,</p><p>The offsite plan looks great, thank you.</p>"
              "<p>Thanks,<br>Alice</p></body></html>")
write("agree/graph.json", {"@odata.context": G + "users('bob%40example.com')/messages", "value": [
    mail("AAMkAGAgree01", "<Agree-01.Heron@mail.example.com>", "AAQkAGConvAgree", "2026-11-04T15:30:00Z", A, [B], "Offsite Walrus plan",
         agree_html, cc=[C, F], headers=[("Message-ID", "<Agree-01.Heron@mail.example.com>"), ("In-Reply-To", "<Root-00.Heron@mail.example.com>"),
                                        ("References", "<Root-00.Heron@mail.example.com>")])]})
with open("agree/same.eml", "w", newline="") as f:
    f.write("Message-ID: <Agree-01.Heron@mail.example.com>\r\nDate: Wed, 04 Nov 2026 16:30:00 +0100\r\n"
            "From: Alice Quartermaine <alice@example.com>\r\nTo: Bob Lindqvist <bob@example.com>\r\n"
            "Cc: Carol Ntozake <carol@example.com>, Frank Oduya <frank@partner.example.org>\r\n"
            "In-Reply-To: <Root-00.Heron@mail.example.com>\r\nReferences: <Root-00.Heron@mail.example.com>\r\n"
            "Subject: Offsite Walrus plan\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + agree_html + "\r\n")

# Hostile inputs.
os.makedirs("hostile", exist_ok=True)
full = json.dumps(page1, indent=2)
open("hostile/cut.json", "w").write(full[: len(full) // 2])
open("hostile/error.json", "w").write(json.dumps({"error": {"code": "InvalidAuthenticationToken", "message": "Access token has expired for alice@example.com.",
    "innerError": {"date": "2026-11-02T09:00:00", "request-id": "r1"}}}, indent=2))
open("hostile/array.json", "w").write(json.dumps([page1["value"][0]]))
open("hostile/notalist.json", "w").write(json.dumps({"@odata.context": G + "users", "value": "Alice Quartermaine"}))
open("hostile/badline.jsonl", "w").write(json.dumps(lines[0]) + "\n" + "{\"id\":\"17936208\n")
open("hostile/unknownobject.json", "w").write(json.dumps({"displayName": "Alice Quartermaine", "mail": "alice@example.com"}))
# A page of odd items: wrong types, missing fields, non-objects; each is a counted skip.
odd = {"@odata.context": G + "chats('19%3A4f6e7a2d0c9b4a1e8d3f%40thread.v2')/messages", "value": [
    42, "Alice Quartermaine", None, [],
    {"messageType": "message", "createdDateTime": "2026-11-02T09:00:00Z", "from": {"user": {"id": ALICE}}, "body": {"content": "no id"}},
    {"id": "1", "messageType": "message", "createdDateTime": 17, "from": {"user": {"id": ALICE}}},
    {"id": "2", "messageType": "message", "createdDateTime": "2026-11-02T09:00:00Z", "from": "Alice Quartermaine", "body": 5},
    {"id": "3", "messageType": "message", "createdDateTime": "2026-11-02T09:00:00Z", "from": {"user": {"id": ALICE}}, "body": {"contentType": "html", "content": 5}, "mentions": "x"},
    {"id": "4", "messageType": "message", "createdDateTime": "2026-11-02T09:00:00Z", "from": {"user": {"id": ALICE}}, "chatId": 7},
    {"@odata.type": "#microsoft.graph.chatMessage", "id": "5"},
    {"internetMessageId": 5, "from": 3, "toRecipients": {"a": 1}, "sentDateTime": "2026-11-02T09:00:00Z"},
    {"@odata.type": "#microsoft.graph.driveItem", "id": "x"},
]}
write("hostile/odd-items.json", odd)
