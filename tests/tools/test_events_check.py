#!/usr/bin/python3
"""The soak's stream audit (bench/events_check, audit_rounds) on a small
record made by hand: it passes a stream that matches the node's record
round by round, and fails one that lost an event, doubled one, or says a
call connected that its node never connected. Also that a node's `boot`
line forgets the calls of the process before. Exit status 0 when every
case does what it must."""
import importlib.machinery
import os
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ec = importlib.machinery.SourceFileLoader("events_check", os.path.join(ROOT, "bench", "events_check")).load_module()

CHURN = """100 boot
101 start a
102 start b
103 list
104 connect a
105 start c
106 list
107 end b
108 list
109 start d
110 list
111 boot
112 start e
113 list
"""
# the server's rounds: ids 10-11, 12, 13, 14-17
ROUNDS = "".join(f"msg=events-round seq={s} first_id={f} events={n} end_unix_ms={s}\n"
                 for s, f, n in ((1, 10, 0), (2, 10, 2), (3, 12, 1), (4, 13, 1), (5, 14, 4)))
STREAM = ["reset 9 1*a 1*b", "10 call-connected 1*a", "11 call-started 1*c", "12 call-ended 1*b",
          "13 call-started 1*d", "14 call-ended 1*a", "15 call-ended 1*c", "16 call-ended 1*d",
          "17 call-started 1*e"]


def audit(tmp, lines):
    path = os.path.join(tmp, "audit.txt")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return ec.audit_rounds(path, ec.rounds_of(os.path.join(tmp, "server.log")), {1: os.path.join(tmp, "churn1.log")})


def main():
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "churn1.log"), "w") as f:
            f.write(CHURN)
        with open(os.path.join(tmp, "server.log"), "w") as f:
            f.write(ROUNDS)
        cases = [
            ("matches", STREAM, True),
            ("lost an end", STREAM[:3] + STREAM[4:], False),
            ("doubled a start", STREAM[:3] + STREAM[2:], False),
            ("connected what never connected", [STREAM[0], "10 call-connected 1*b"] + STREAM[2:], False),
            ("kept a call over the boot", STREAM[:-2] + STREAM[-1:], False),
        ]
        for name, lines, ok in cases:
            events, problems = audit(tmp, lines)
            if (not problems) != ok or events == 0:
                failures.append(f"{name}: {events} events, problems {problems}")
        states = ec.node_states(os.path.join(tmp, "churn1.log"))
        if [sorted(s[0]) for s in states] != [["a", "b"], ["a", "b", "c"], ["a", "c"], ["a", "c", "d"], ["e"]]:
            failures.append(f"node_states: {states}")
    for f in failures:
        print("FAIL", f)
    print(f"test_events_check: {len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
