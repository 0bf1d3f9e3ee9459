#!/usr/bin/env python3
"""html-check.py - the HTML page of stored reports as headless Chromium shows it.

Starts /usr/bin/chromedriver on a free port of 127.0.0.1 and drives Chromium
through the W3C WebDriver HTTP API (Python's standard library only).  Checks
that the page logs no console error, makes no request but for itself, draws
per domain one bar per day with reports whose data-success and data-failure
are the sums of the data file, shows each verdict the data file expects,
and does not overflow a phone's width.  Saves screenshots (the first screen
and the whole page) at 1280x800 and at 390x844 into the artifacts directory
and prints their paths.

usage: html-check.py --page PAGE.html --data DATA.tsv --artifacts DIR
Exit 0 when every check passed, 1 otherwise.
"""
import argparse
import base64
import collections
import datetime
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM = ("/usr/lib/chromium/chromium", "/usr/bin/chromium")
PERIOD_START = datetime.datetime(2026, 11, 2, 10, 0, tzinfo=datetime.timezone.utc)
PERIOD_END = datetime.datetime(2026, 12, 2, 10, 0, tzinfo=datetime.timezone.utc)
SIZES = (("desktop", 1280, 800, False), ("phone", 390, 844, True))

failures = []


def check(condition, message):
    if not condition:
        failures.append(message)
        print("not ok - " + message)
    return condition


def expected_from(data_path):
    """Per domain: {day: [successes, failures]} in the period, and the verdicts."""
    days = collections.defaultdict(dict)
    verdicts = {}
    with open(data_path, encoding="utf-8") as data:
        for line in data:
            fields = line.rstrip("\n").split("\t")
            if fields[0] == "R":
                _, _, _, domain, day, ok, failed = fields
                start = datetime.datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=datetime.timezone.utc)
                if not PERIOD_START <= start < PERIOD_END:
                    continue
                figures = days[domain].setdefault(day, [0, 0])
                figures[0] += int(ok)
                figures[1] += int(failed)
            elif fields[0] == "V":
                verdicts[fields[1]] = fields[2]
    return days, verdicts


class WebDriver:
    """The few W3C WebDriver commands used, over HTTP to chromedriver."""

    def __init__(self, port):
        self.base = "http://127.0.0.1:%d" % port
        self.session = None

    def call(self, method, path, body=None, timeout=60):
        data = json.dumps(body).encode() if body is not None else None
        if method == "POST" and data is None:
            data = b"{}"
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as reply:
                return json.loads(reply.read() or b"{}").get("value")
        except urllib.error.HTTPError as error:
            raise RuntimeError("%s %s: %s" % (method, path, error.read().decode(errors="replace")[:600]))

    def s(self, method, path, body=None):
        return self.call(method, "/session/%s%s" % (self.session, path), body)

    def start(self, binary, profile):
        capabilities = {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": binary,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--hide-scrollbars", "--user-data-dir=" + profile, "--window-size=1280,800"],
            },
            "goog:loggingPrefs": {"browser": "ALL", "performance": "ALL"},
        }
        value = self.call("POST", "/session", {"capabilities": {"alwaysMatch": capabilities}}, timeout=120)
        self.session = value["sessionId"]

    def cdp(self, command, params=None):
        return self.s("POST", "/goog/cdp/execute", {"cmd": command, "params": params or {}})

    def script(self, source, *args):
        return self.s("POST", "/execute/sync", {"script": source, "args": list(args)})

    def log(self, kind):
        return self.s("POST", "/se/log", {"type": kind})


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(driver, process):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("chromedriver exited with status %d" % process.returncode)
        try:
            if driver.call("GET", "/status", timeout=2).get("ready"):
                return
        except (OSError, RuntimeError):
            pass
        time.sleep(0.1)
    raise RuntimeError("chromedriver did not become ready in 30 s")


READ_PAGE = """
const sections = [...document.querySelectorAll('section.domain')];
return {
  title: document.title,
  sections: sections.map(s => ({
    domain: s.dataset.domain,
    verdict: (s.querySelector('.verdict .sentence') || {}).textContent || null,
    bars: [...s.querySelectorAll('.day-chart .bar')].map(b => ({
      day: b.dataset.day, success: b.dataset.success, failure: b.dataset.failure,
      title: (b.querySelector('title') || {}).textContent || '',
      height: b.getBoundingClientRect().height})),
  })),
  scripts: document.scripts.length,
  text: document.body.innerText,
};
"""

WIDTHS = """
return {scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth,
        wide: [...document.querySelectorAll('body *')].filter(e => {
            const r = e.getBoundingClientRect();
            return r.right > window.innerWidth + 1 && !e.closest('.table-wrap');
        }).slice(0, 5).map(e => e.tagName + '.' + e.className)};
"""


def check_page(driver, expected_days, verdicts):
    page = driver.script(READ_PAGE)
    check(page["scripts"] == 0, "the page runs no script (%d found)" % page["scripts"])
    shown = {s["domain"]: s for s in page["sections"]}
    check(sorted(shown) == sorted(expected_days),
          "domains shown %s, expected %s" % (sorted(shown), sorted(expected_days)))
    for domain, days in sorted(expected_days.items()):
        section = shown.get(domain)
        if section is None:
            continue
        bars = {b["day"]: b for b in section["bars"]}
        check(len(section["bars"]) == len(days),
              "%s: %d bars, expected %d (days with reports)" % (domain, len(section["bars"]), len(days)))
        for day, (ok, failed) in sorted(days.items()):
            bar = bars.get(day)
            if not check(bar is not None, "%s: no bar for %s" % (domain, day)):
                continue
            check(bar["success"] == str(ok) and bar["failure"] == str(failed),
                  "%s %s: bar says %s/%s, expected %d/%d" % (domain, day, bar["success"], bar["failure"],
                                                             ok, failed))
            check("%s successful" % format(ok, ",") in bar["title"], "%s %s: title %r" % (domain, day, bar["title"]))
            check(bar["height"] > 0, "%s %s: the bar is not drawn" % (domain, day))
        if domain in verdicts:
            check(section["verdict"] == verdicts[domain],
                  "%s: verdict %r, expected %r" % (domain, section["verdict"], verdicts[domain]))
    for domain, sentence in verdicts.items():
        check(sentence in page["text"], "the text of the page holds the verdict of %s" % domain)
    print("ok - %d domains, %d bars checked" % (len(shown), sum(len(s["bars"]) for s in page["sections"])))


def check_logs(driver, page_url):
    errors = [e for e in driver.log("browser") if e.get("level") == "SEVERE"]
    for e in errors:
        print("console: %s" % e.get("message"))
    check(not errors, "%d console errors" % len(errors))
    urls = []
    for entry in driver.log("performance"):
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            urls.append(message["params"]["request"]["url"])
    others = [u for u in urls if u != page_url]
    check(page_url in urls, "the page itself was requested (%d requests seen)" % len(urls))
    check(not others, "requests other than the page: %s" % others[:5])
    print("ok - requests: %s" % urls)


def screenshots(driver, artifacts):
    paths = []
    for name, width, height, mobile in SIZES:
        driver.cdp("Emulation.setDeviceMetricsOverride",
                   {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile})
        driver.script("window.scrollTo(0, 0); return document.body.offsetHeight;")
        time.sleep(0.3)
        widths = driver.script(WIDTHS)
        check(widths["innerWidth"] == width, "%s: the viewport is %d wide, expected %d"
              % (name, widths["innerWidth"], width))
        check(widths["scrollWidth"] <= widths["innerWidth"],
              "%s: the page overflows: scrollWidth %d > innerWidth %d (%s)"
              % (name, widths["scrollWidth"], widths["innerWidth"], widths["wide"]))
        shot = driver.cdp("Page.captureScreenshot", {"format": "png"})
        path = os.path.join(artifacts, "report-html-%s.png" % name)
        with open(path, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        paths.append(path)
        metrics = driver.cdp("Page.getLayoutMetrics")
        full_height = int(metrics["cssContentSize"]["height"])
        # a viewport as tall as the page paints all of it (capturing beyond
        # the viewport leaves scrolled boxes blank)
        driver.cdp("Emulation.setDeviceMetricsOverride",
                   {"width": width, "height": full_height, "deviceScaleFactor": 1, "mobile": mobile})
        time.sleep(0.3)
        shot = driver.cdp("Page.captureScreenshot", {"format": "png"})
        path = os.path.join(artifacts, "report-html-%s-full.png" % name)
        with open(path, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        paths.append(path)
    driver.cdp("Emulation.clearDeviceMetricsOverride")
    for path in paths:
        print("screenshot: %s" % path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--page", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--artifacts", required=True)
    args = parser.parse_args()

    chromium = next((c for c in CHROMIUM if os.access(c, os.X_OK)), None)
    if not os.access(CHROMEDRIVER, os.X_OK) or chromium is None:
        print("not ok - chromium and chromium-driver are missing (%s, %s): "
              "scripts/install-deps --lab installs them" % (CHROMEDRIVER, " or ".join(CHROMIUM)))
        return 1
    expected_days, verdicts = expected_from(args.data)
    page_url = "file://" + os.path.abspath(args.page)
    os.makedirs(args.artifacts, exist_ok=True)
    profile = tempfile.mkdtemp(prefix="mtasts-chromium.")
    port = free_port()
    log = open(os.path.join(profile, "chromedriver.log"), "w")
    process = subprocess.Popen([CHROMEDRIVER, "--port=%d" % port, "--allowed-ips=127.0.0.1"],
                               stdout=log, stderr=subprocess.STDOUT)
    driver = WebDriver(port)
    try:
        wait_ready(driver, process)
        driver.start(chromium, os.path.join(profile, "profile"))
        # what the browser loads of its own at start (a new tab page) is not the page's
        driver.s("POST", "/url", {"url": "about:blank"})
        driver.log("performance")
        driver.log("browser")
        driver.s("POST", "/url", {"url": page_url})
        check_page(driver, expected_days, verdicts)
        screenshots(driver, args.artifacts)
        check_logs(driver, page_url)
    except (RuntimeError, OSError, KeyError, TypeError, ValueError) as error:
        check(False, "the browser could not be driven: %s" % error)
    finally:
        if driver.session:
            try:
                driver.s("DELETE", "")
            except (RuntimeError, OSError):
                pass
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        shutil.rmtree(profile, ignore_errors=True)
    if failures:
        print("not ok - %d checks failed" % len(failures))
        return 1
    print("ok - the page passed every check")
    return 0


if __name__ == "__main__":
    sys.exit(main())
