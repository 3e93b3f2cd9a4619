# genexport.py OUT.zip MESSAGES [USERS] writes a synthetic Slack export for
# the throughput benchmark: USERS (default 500) people at example.com, 40
# public channels of 5-80 members, 20 private channels, 200 DMs; about one
# message in four is a thread reply, one in 40 a join, bot or topic message;
# texts of 20-600 characters with mentions and links.
import json, random, sys, zipfile

out, n = sys.argv[1], int(sys.argv[2])
nusers = int(sys.argv[3]) if len(sys.argv) > 3 else 500
rnd = random.Random(13)
words = ("the release went well and the team is happy about the progress but the tests are slow "
         "and I am worried about the deadline great work everyone thanks for the help can we talk "
         "tomorrow about the plan this is frustrating the build is broken again nice job").split()
users = [{"id": "U%07d" % i, "name": "user%d" % i, "real_name": "Person Number%d" % i, "deleted": i % 97 == 0,
          "is_bot": False, "is_restricted": i % 53 == 0,
          "profile": {"email": "user%d@example.com" % i, "real_name": "Person Number%d" % i, "display_name": "p%d" % i}}
         for i in range(nusers)]
users.append({"id": "UBOT", "name": "bot", "is_bot": True, "profile": {"real_name": "Bot"}})
ids = [u["id"] for u in users[:-1]]
convs = []
for i in range(40):
    convs.append(("channels", {"id": "C%05d" % i, "name": "chan-%d" % i, "members": rnd.sample(ids, rnd.randint(5, 80))}))
for i in range(20):
    convs.append(("groups", {"id": "G%05d" % i, "name": "priv-%d" % i, "members": rnd.sample(ids, rnd.randint(3, 12))}))
for i in range(200):
    convs.append(("dms", {"id": "D%05d" % i, "members": rnd.sample(ids, 2)}))
days = {}
t0 = 1793610000
threads = {}
for k in range(n):
    kind, c = rnd.choice(convs)
    folder = c.get("name", c["id"])
    ts = t0 + k * 3
    u = rnd.choice(c["members"])
    text = " ".join(rnd.choice(words) for _ in range(rnd.randint(4, 100)))
    if rnd.random() < 0.1:
        text = "<@%s> %s <https://wiki.example.com/x|the page>" % (rnd.choice(c["members"]), text)
    m = {"type": "message", "user": u, "text": text, "ts": "%d.%06d" % (ts, k % 1000000)}
    r = rnd.random()
    if r < 0.01:
        m["subtype"] = "channel_join"
    elif r < 0.02:
        m.update(subtype="bot_message", bot_id="B1", user="UBOT")
    elif r < 0.025:
        m["subtype"] = "channel_topic"
    elif r < 0.27 and threads.get(folder):
        m["thread_ts"] = rnd.choice(threads[folder][-20:])
    elif r < 0.35:
        m["thread_ts"] = m["ts"]
        threads.setdefault(folder, []).append(m["ts"])
    day = "2026-11-%02d" % (1 + (ts - t0) * 28 // (3 * n + 1))
    days.setdefault((folder, day), []).append(m)
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("users.json", json.dumps(users))
    for kind in ("channels", "groups", "dms"):
        z.writestr(kind + ".json", json.dumps([c for k, c in convs if k == kind]))
    for (folder, day), msgs in sorted(days.items()):
        z.writestr("%s/%s.json" % (folder, day), json.dumps(msgs, indent=4))
