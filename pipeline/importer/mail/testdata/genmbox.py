# genmbox.py OUT N: a generated mbox for the throughput and memory measurements (not a fixture).
import random, sys
random.seed(7)
words = "the team release great thanks problem deadline happy review meeting worried excellent slow build fix ship plan customer report budget really good bad late".split()
pool = []
for k in range(2000):
    L = random.choice([250]*10 + [500]*10 + [900]*9 + [8000]*1)  
    body, n = [], 0
    while n < L:
        w = random.choice(words); body.append(w); n += len(w) + 1
    pool.append("\n".join(" ".join(body[j:j+12]) for j in range(0, len(body), 12)))
n = int(sys.argv[2]); out = open(sys.argv[1], 'w', buffering=1<<20)
for i in range(n):
    text = pool[i % 2000]
    a, b = random.randrange(300), random.randrange(300)
    out.write(f"From u{a}@example.com Mon Nov  2 09:15:00 2026\nMessage-ID: <g{i}@mail.example.com>\nDate: Mon, 02 Nov 2026 {i%24:02d}:{i%60:02d}:00 +0000\nFrom: User {a} <u{a}@example.com>\nTo: User {b} <u{b}@example.com>, ext{b}@example.org\nSubject: note {i}\nContent-Type: text/plain; charset=utf-8\n\n{text}\n\nOn Mon, someone wrote:\n> quoted line\n\nThanks,\nUser {a}\n\n")
