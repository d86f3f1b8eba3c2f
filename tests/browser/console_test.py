#!/usr/bin/python3
"""console_test: the operator console in a real browser (headless Chromium
driven by Selenium, Debian's chromium, chromium-driver and python3-selenium)
against the real server and simulated nodes, all on 127.0.0.1
(docs/API.md, "The console").

Steps, each with a screenshot under SHOT_DIR (NN-step.png):
  log in; see the rows; sort by duration; filter by customer; page; open a
  call; drop it (the row goes, and the node logged the disconnect); a failed
  node's banner when a node stops; switch the counts' grouping; the calls
  monitor's decisions (dry-run); the chart.
Fails on any error in the browser's console, a CSP violation among them.

Usage: console_test.py BIN NODESIM SHOT_DIR   (ctest passes them)"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

BIN, SIM, SHOTS = sys.argv[1:4]
PASSWORD = "Console-pw-7f2Kq9xZ"
procs = []
tmp = tempfile.mkdtemp(prefix="ac-browser-")


def spawn(name, argv):
    """Starts argv, stdout piped, stderr to tmp/name.log; returns (proc, address)."""
    log = open(os.path.join(tmp, name + ".log"), "w")
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=log, cwd=tmp, text=True)
    procs.append((name, p))
    line = p.stdout.readline()
    m = re.match(r"listening (\S+)", line)
    if not m:
        raise SystemExit(f"{name} did not start: {line!r}; log in {log.name}")
    return p, m.group(1)


def run(argv, stdin=None):
    subprocess.run(argv, input=stdin, text=True, check=True, cwd=tmp, stdout=subprocess.DEVNULL)


def api(addr, path, token=None, method="GET", body=None):
    headers = {"Accept": "application/vnd.api+json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(f"http://{addr}{path}", data=data, headers=headers, method=method)
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read() or b"null")


def stop(name, p):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            raise SystemExit(f"{name} did not stop within 10 s")
    if p.returncode != 0:
        print(open(os.path.join(tmp, name + ".log")).read(), file=sys.stderr)
        raise SystemExit(f"{name} exited with {p.returncode}")


def main():
    os.makedirs(SHOTS, exist_ok=True)
    db = os.path.join(tmp, "console.db")
    secret = os.path.join(tmp, "secret")
    with open(secret, "w") as f:
        f.write(os.urandom(24).hex() + "\n")
    run([BIN, "user", "add", "--db", db, "--username", "admin", "--roles", "root"], PASSWORD + "\n")
    run([BIN, "pop", "add", "--db", db, "--id", "1", "--name", "Amsterdam"])
    run([BIN, "demo-data", "--db", db])
    nodes = {}
    for n in (1, 2):
        p, addr = spawn(f"node{n}", [SIM, "--listen", "127.0.0.1:0", "--node-id", str(n), "--pop-id", "1",
                                      "--calls", "60", "--seed", str(n), "--log-requests"])
        nodes[n] = p
        run([BIN, "node", "add", "--db", db, "--id", str(n), "--name", f"node-{n}", "--endpoint", addr,
             "--pop-id", "1"])
    server, addr = spawn("server", [BIN, "serve", "--listen", "127.0.0.1:0", "--db", db, "--secret-file", secret,
                                    "--history-interval-s", "0", "--refresh-ms", "500", "--node-timeout-ms", "1000",
                                    "--monitor", "dry-run", "--monitor-interval-ms", "500"])
    token = api(addr, "/api/rest/admin/auth", method="POST",
                body={"auth": {"username": "admin", "password": PASSWORD}})["jwt"]

    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=1920,1080", "--no-first-run", "--disable-extensions"):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path="/usr/bin/chromedriver", log_path=os.path.join(tmp, "chromedriver.log"))
    d = webdriver.Chrome(options=opts, service=service)
    errors = []
    step = [0]

    def shot(name):
        step[0] += 1
        d.save_screenshot(os.path.join(SHOTS, f"{step[0]:02d}-{name}.png"))
        for e in d.get_log("browser"):
            if e["level"] == "SEVERE" or "Content Security Policy" in e["message"]:
                errors.append(f"{name}: {e['message']}")

    wait = WebDriverWait(d, 15, ignored_exceptions=(StaleElementReferenceException,))
    css = lambda sel: d.find_element(By.CSS_SELECTOR, sel)
    rows = lambda: [r.get_attribute("data-id") for r in d.find_elements(By.CSS_SELECTOR, "#calls-body tr[data-id]")]

    try:
        # log in
        d.get(f"http://{addr}/")
        wait.until(lambda _: d.current_url.endswith("/console/"))
        wait.until(lambda _: css("#login-form").is_displayed())
        shot("login")
        css("#login-username").send_keys("admin")
        css("#login-password").send_keys(PASSWORD)
        css("#login-submit").click()
        wait.until(lambda _: css("#app").is_displayed() and len(rows()) > 0)
        assert int(re.sub(r"\D", "", css("#calls-total").text)) == 120, css("#calls-total").text
        shot("rows")
        # every control has a name (axe-core's label rule; axe itself is not packaged in Debian 12)
        unnamed = d.execute_script("""
            return [...document.querySelectorAll('input, select, textarea, button')]
              .filter(e => e.offsetParent !== null)
              .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
                           && !e.getAttribute('aria-labelledby') && !(e.tagName === 'BUTTON' && e.textContent.trim()))
              .map(e => e.outerHTML.slice(0, 120));""")
        assert not unnamed, "controls without a label: " + "; ".join(unnamed)

        # sort by duration: the page is in order, and it is the page of all
        # 120 calls (its first row is the shortest, or longest, of them all)
        def durations():
            return [int(c.get_attribute("data-seconds") or -1)
                    for c in d.find_elements(By.CSS_SELECTOR, "#calls-body tr[data-id] .col-duration")]

        def sorted_page():
            sort = css('th[data-sort="duration"]').get_attribute("aria-sort")
            got = durations()
            if sort not in ("ascending", "descending") or len(got) != 25 or min(got) < 0:
                return False  # (unconnected calls, no duration, sort last: not on this page)
            all_d = [c["attributes"]["duration"] for c in
                     api(addr, "/api/rest/admin/active-calls?page%5Bsize%5D=1000", token)["data"]
                     if c["attributes"]["duration"] is not None]
            if sort == "ascending":
                return got == sorted(got) and got[0] <= min(all_d) + 2
            return got == sorted(got, reverse=True) and got[0] >= max(all_d) - 2
        Select(css("#page-size")).select_by_value("25")
        wait.until(lambda _: len(rows()) == 25)
        css('th[data-sort="duration"] button').click()
        wait.until(lambda _: sorted_page())
        shot("sorted")

        # page 2
        first_page = rows()
        css("#page-next").click()
        wait.until(lambda _: rows() and rows() != first_page)
        assert "2" in css("#page-info").text, css("#page-info").text
        shot("page-2")
        css("#page-prev").click()
        wait.until(lambda _: rows() == first_page)

        # filter by a customer
        counts = api(addr, "/api/rest/admin/active-call-counts?group-by=customer-id&sort=-count", token)
        cust = counts["data"][0]["attributes"]["customer-id"]
        mine = {c["id"] for c in api(addr, f"/api/rest/admin/active-calls?filter%5Bcustomer-id-eq%5D={cust}"
                                           f"&page%5Bsize%5D=1000", token)["data"]}
        css("#filter-customer-id-eq").clear()
        css("#filter-customer-id-eq").send_keys(str(cust))
        css("#filters-apply").click()
        wait.until(lambda _: rows() and set(rows()) <= mine)
        shot("filtered")
        css("#filters-clear").click()
        wait.until(lambda _: int(re.sub(r"\D", "", css("#calls-total").text)) == 120)

        # open a call, drop it
        victim = rows()[0]
        css(f'#calls-body tr[data-id="{victim}"]').click()
        wait.until(lambda _: css("#call-details").is_displayed())
        shot("details")
        css("#call-drop").click()
        wait.until(lambda _: css("#drop-confirm").is_displayed())
        shot("confirm")
        css("#drop-confirm-yes").click()
        wait.until(lambda _: css("#drop-result").text.strip() != "")
        assert re.search(r"dropped", css("#drop-result").text, re.I), css("#drop-result").text
        shot("dropped")
        css("#call-details-close").click()
        wait.until(lambda _: victim not in rows())
        node, tag = victim.split("*", 1)
        log = open(os.path.join(tmp, f"node{node}.log")).read()
        assert "method=yeti.request.call.disconnect" in log and tag in log, "the node saw no disconnect"
        shot("row-gone")

        # counts by another key
        Select(css("#counts-group")).select_by_value("vendor-id")
        wait.until(lambda _: len(d.find_elements(By.CSS_SELECTOR, "#counts-bars .count-bar")) > 0)
        shot("counts-vendor")

        # the calls monitor's decisions (dry-run: the demo data has a customer account below its minimum)
        wait.until(lambda _: css("#monitor-panel").is_displayed()
                   and "customer-min-balance" in css("#monitor-decisions").text)
        assert "dry run" in css("#monitor-mode").text, css("#monitor-mode").text
        shot("monitor")

        # the chart
        wait.until(lambda _: len(d.find_elements(By.CSS_SELECTOR, "#chart svg path, #chart svg polyline, "
                                                                  "#chart svg rect")) > 0)
        shot("chart")

        # a node fails: its banner
        stop("node2", nodes[2])
        wait.until(lambda _: css("#health-banner").is_displayed() and "node-2" in css("#health-banner").text)
        wait.until(lambda _: "connection-refused" in css('#node-list tr[data-node="2"]').text)
        shot("node-failed")
    finally:
        shot("last")
        d.quit()
    if errors:
        raise SystemExit("errors in the browser's console:\n" + "\n".join(errors))


try:
    main()
    for name, p in procs:
        if name != "node2":
            stop(name, p)
    print("console_test: ok")
finally:
    for _, p in procs:
        if p.poll() is None:
            p.kill()
    if not os.environ.get("AC_KEEP_TMP"):
        shutil.rmtree(tmp, ignore_errors=True)
