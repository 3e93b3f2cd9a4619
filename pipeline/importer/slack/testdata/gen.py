# gen.py writes the Slack export fixtures (kept in git; re-run to regenerate).
# Invented people and domains only: example.com is the company, example.org
# and example.net are external. Layout and fields as Slack's "Export data" writes them.
import json, os, shutil, calendar

HERE = os.path.dirname(os.path.abspath(__file__))

def ts(day, hh, mm, us=0):
    return "%d.%06d" % (calendar.timegm((2026, 11, day, hh, mm, 0)), us)

def user(uid, name, real, display, email=None, **flags):
    first, _, last = real.partition(" ")
    prof = {"title": "", "phone": "", "real_name": real, "real_name_normalized": real,
            "display_name": display, "display_name_normalized": display,
            "first_name": first, "last_name": last, "image_72": "https://avatars.example.com/%s.png" % uid, "team": "T01WORK"}
    if email:
        prof["email"] = email
    u = {"id": uid, "team_id": "T01WORK", "name": name, "deleted": False, "real_name": real,
         "tz": "Europe/Berlin", "profile": prof, "is_admin": False, "is_owner": False,
         "is_restricted": False, "is_ultra_restricted": False, "is_bot": False, "is_app_user": False, "updated": 1767225600}
    u.update(flags)
    return u

USERS = [
    user("U01ALICE", "alice.quartermaine", "Alice Quartermaine", "alice", "Alice@Example.com"),
    user("U02BOB", "bob.lindqvist", "Bob Lindqvist", "bobby", "bob@example.com"),
    user("U03CAROL", "carol", "Carol Ntozake", "caro", "carol@example.com"),
    user("U04DMITRI", "dmitri", "Dmitri Vasquez-Oyelaran", "dvo", "dmitri@example.com", deleted=True),
    user("U05ERIN", "erin.castellanos", "Erin Castellanos", "erin.c"),  # no e-mail in the profile
    user("U06FRANK", "frank", "Frank Oduya", "frankie", "frank@partner.example.org", is_restricted=True),
    user("U07GRETA", "greta", "Greta Halvorsen", "gretah", "greta@contractor.example.net"),
    user("U08DEPLOY", "deploybot", "Deploy Zebulon", "deploybot", is_bot=True),
    user("USLACKBOT", "slackbot", "Slackbot", "Slackbot"),
]
ALL = ["U01ALICE", "U02BOB", "U03CAROL", "U04DMITRI", "U05ERIN", "U06FRANK", "U07GRETA"]

def msg(uid, t, text, **kw):
    m = {"client_msg_id": "c-%s-%s" % (uid, t), "type": "message", "text": text, "user": uid, "ts": t,
         "team": "T01WORK", "user_team": "T01WORK"}
    if uid in {u["id"] for u in USERS}:
        u = [x for x in USERS if x["id"] == uid][0]
        m["user_profile"] = {"avatar_hash": "abc", "image_72": u["profile"]["image_72"], "first_name": u["profile"]["first_name"],
                             "real_name": u["real_name"], "display_name": u["profile"]["display_name"], "team": "T01WORK",
                             "name": u["name"], "is_restricted": u["is_restricted"], "is_ultra_restricted": False}
    m.update(kw)
    return m

def write(root, rel, obj):
    p = os.path.join(root, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=4, ensure_ascii=False)
        f.write("\n")

def export():
    root = os.path.join(HERE, "export")
    shutil.rmtree(root, ignore_errors=True)
    write(root, "users.json", USERS)
    write(root, "channels.json", [
        {"id": "C01GENERAL", "name": "general", "created": 1767225600, "creator": "U01ALICE", "is_archived": False, "is_general": True,
         "members": ALL, "topic": {"value": "Company-wide", "creator": "U01ALICE", "last_set": 0},
         "purpose": {"value": "Everyone", "creator": "U01ALICE", "last_set": 0}},
        {"id": "C02ENG", "name": "engineering", "created": 1767225600, "creator": "U02BOB", "is_archived": False, "is_general": False,
         "members": ["U01ALICE", "U02BOB", "U03CAROL", "U05ERIN"], "topic": {"value": "", "creator": "", "last_set": 0},
         "purpose": {"value": "", "creator": "", "last_set": 0}},
    ])
    write(root, "groups.json", [
        {"id": "G01LEADS", "name": "leads", "created": 1767225600, "creator": "U01ALICE", "is_archived": False,
         "members": ["U01ALICE", "U03CAROL"], "topic": {"value": "", "creator": "", "last_set": 0}, "purpose": {"value": "", "creator": "", "last_set": 0}},
    ])
    write(root, "dms.json", [{"id": "D01AB", "created": 1767225600, "members": ["U01ALICE", "U02BOB"]}])
    write(root, "mpims.json", [{"id": "G02MPIM", "name": "mpdm-alice.quartermaine--bob.lindqvist--greta-1", "created": 1767225600,
                                "creator": "U01ALICE", "is_archived": False, "members": ["U01ALICE", "U02BOB", "U07GRETA"],
                                "topic": {"value": "", "creator": "", "last_set": 0}, "purpose": {"value": "Group messaging", "creator": "U01ALICE", "last_set": 0}}])
    write(root, "integration_logs.json", {"logs": []})
    # general: 7 members.
    write(root, "general/2026-11-02.json", [
        msg("U05ERIN", ts(2, 8, 0), "<@U05ERIN> has joined the channel", subtype="channel_join"),
        msg("U01ALICE", ts(2, 8, 5), "set the channel purpose: Everyone", subtype="channel_purpose", purpose="Everyone"),
        msg("U01ALICE", ts(2, 9, 0), "Good morning everyone! Welcome Erin Castellanos, we are delighted to have you <!channel>"),
        msg("U04DMITRI", ts(2, 9, 10), "Thanks Alice, happy to help with onboarding."),
        msg("U05ERIN", ts(2, 9, 20), "Thank you all, I am excited to be here. Write to me at erin.castellanos@example.com"),
        msg("U06FRANK", ts(2, 9, 30), "Hello from the partner side, looking forward to working with you."),
        msg("USLACKBOT", ts(2, 9, 31), "Reminder: fill in the survey."),
        {"type": "message", "subtype": "bot_message", "text": "Build 42 deployed", "ts": ts(2, 9, 40), "bot_id": "B01DEPLOY", "username": "deploybot"},
        msg("U99GHOST", ts(2, 9, 50), "Who am I?"),
        msg("U02BOB", ts(2, 10, 0), "<@U06FRANK|frank> welcome aboard, see <https://wiki.example.com/onboarding|the onboarding page> &amp; ping <#C02ENG|engineering>"),
    ])
    # engineering: a thread over two days, a broadcast reply, a file share, a bot with a user.
    parent = ts(2, 11, 0)
    write(root, "engineering/2026-11-02.json", [
        msg("U02BOB", parent, "The release is blocked, the tests are failing again and I am frustrated.",
            thread_ts=parent, reply_count=4, reply_users_count=3, latest_reply=ts(3, 9, 0),
            reply_users=["U01ALICE", "U03CAROL", "U05ERIN"],
            replies=[{"user": "U01ALICE", "ts": ts(2, 11, 5)}, {"user": "U03CAROL", "ts": ts(2, 11, 10)},
                     {"user": "U02BOB", "ts": ts(2, 11, 20)}, {"user": "U05ERIN", "ts": ts(3, 9, 0)}]),
        msg("U01ALICE", ts(2, 11, 5), "I can look at it after lunch, Bob.", thread_ts=parent, parent_user_id="U02BOB"),
        msg("U03CAROL", ts(2, 11, 10), "Found it: a flaky timeout. Fix is up, Lindqvist please review.", thread_ts=parent, parent_user_id="U02BOB"),
        msg("U02BOB", ts(2, 11, 20), "Brilliant, thank you both!", thread_ts=parent, parent_user_id="U02BOB"),
        msg("U03CAROL", ts(2, 14, 0), "Here are the benchmark numbers.", subtype="file_share",
            files=[{"id": "F01", "name": "Carol Ntozake benchmark.csv", "title": "benchmark", "mimetype": "text/csv", "user": "U03CAROL"}]),
        msg("U08DEPLOY", ts(2, 14, 30), "Deploy finished.", bot_id="B01DEPLOY"),
        msg("U02BOB", ts(2, 15, 0), "set the channel topic: Release week", subtype="channel_topic", topic="Release week"),
    ])
    write(root, "engineering/2026-11-03.json", [
        msg("U05ERIN", ts(3, 9, 0), "Late to the party, but the fix works for me too. Great job Ntozake!",
            thread_ts=parent, parent_user_id="U02BOB", subtype="thread_broadcast"),
        msg("U01ALICE", ts(3, 10, 0), "Standup moved to 10:30 today."),
        msg("U03CAROL", ts(3, 10, 5), "<@U03CAROL> has left the channel", subtype="channel_leave"),
    ])
    write(root, "leads/2026-11-02.json", [
        msg("U03CAROL", ts(2, 16, 0), "I am worried about the team's workload this month."),
        msg("U01ALICE", ts(2, 16, 5), "Agreed, let us talk tomorrow. Quartermaine out."),
    ])
    write(root, "D01AB/2026-11-02.json", [
        msg("U01ALICE", ts(2, 17, 0), "Bob, nice work on the release today."),
        msg("U02BOB", ts(2, 17, 2), "Thanks, that means a lot :slightly_smiling_face:"),
    ])
    write(root, "mpdm-alice.quartermaine--bob.lindqvist--greta-1/2026-11-03.json", [
        msg("U07GRETA", ts(3, 12, 0), "Greta Halvorsen here, the contract draft is ready."),
        msg("U01ALICE", ts(3, 12, 10), "Thank you Greta, we will read it today."),
    ])
    write(root, "old-archived/2026-10-01.json", [msg("U01ALICE", ts(1, 8, 0), "orphan")])

def hostile():
    root = os.path.join(HERE, "hostile")
    shutil.rmtree(root, ignore_errors=True)
    # badday: one broken day file among good ones, invalid UTF-8, a huge
    # message, elements that are not messages, unknown members, bad ts.
    b = os.path.join(root, "badday")
    write(b, "users.json", USERS[:3])
    write(b, "channels.json", [{"id": "C09X", "name": "x", "members": ["U01ALICE", "U02BOB", "U03CAROL", "U77NOBODY"]}])
    write(b, "x/2026-11-02.json", [msg("U01ALICE", ts(2, 9, 0), "first day is fine")])
    os.makedirs(os.path.join(b, "x"), exist_ok=True)
    with open(os.path.join(b, "x/2026-11-03.json"), "w") as f:
        f.write('[{"type": "message", "user": "U01ALICE", "text": "cut short", "ts": "%s"' % ts(3, 9, 0))
    with open(os.path.join(b, "x/2026-11-04.json"), "wb") as f:
        f.write(('[{"type":"message","user":"U02BOB","ts":"%s","text":"bad \xff\xfe bytes \\u0001 here"},' % ts(4, 9, 0)).encode("latin-1"))
        f.write(b'42, "not a message", {"type":"message","user":"U02BOB","ts":17},')
        f.write(('{"type":"message","user":"U02BOB","ts":"not-a-ts","text":"x"},'
                 '{"type":"message","user":"U02BOB","ts":"%s","text":"from the far future"},'
                 '{"type":"message","ts":"%s","text":"no user"}]') .encode() % (b"4102444800.000000", ts(4, 9, 2).encode()))
    write(b, "x/2026-11-05.json", [msg("U03CAROL", ts(5, 9, 0), "great " * 20000)])
    # nousers: no users.json.
    n = os.path.join(root, "nousers")
    write(n, "channels.json", [{"id": "C09X", "name": "x", "members": []}])
    write(n, "x/2026-11-02.json", [])
    # badusers: users.json is not JSON.
    u = os.path.join(root, "badusers")
    os.makedirs(u, exist_ok=True)
    with open(os.path.join(u, "users.json"), "w") as f:
        f.write('[{"id": "U01ALICE", "real_name": "Alice Quartermaine"')
    write(u, "channels.json", [])

export()
hostile()
