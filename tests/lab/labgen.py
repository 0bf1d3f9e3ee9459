#!/usr/bin/env python3
"""labgen.py - build every file of the lab from tests/lab/scenarios.toml.

Usage: labgen.py SCENARIOS WORKDIR

Writes into WORKDIR (which must exist and be empty apart from the marker):
  ca/        the lab CA (root.pem), the untrusted CA and one certificate per host
  dns/       Knot configuration, zone files, TSIG key, Unbound configuration
  web/       nginx configuration and the policy files
  mail/      Postfix configuration directory, queue and maildir locations
  fault/     payload files for lab-faultd
  lab.env    shell variables for tests/lab/lab (addresses, daemon arguments)
  lab.json   the resolved plan: every domain with its addresses and expectations

Only the Python 3.11 standard library and the openssl command are used.
"""

import base64
import datetime
import hashlib
import json
import os
import re
import secrets
import shlex
import subprocess
import sys
import tomllib

# ---------------------------------------------------------------- address plan

RESOLVER = "127.53.0.1"      # Unbound, the validating resolver clients use
AUTH = "127.53.0.2"          # Knot, authoritative for test. and its children
DNS_DROP = "127.53.0.3"      # lab-faultd dns-drop: never answers
DNS_SERVFAIL = "127.53.0.4"  # lab-faultd dns-servfail
FAULT_ADDR = {               # lab-faultd HTTPS fault modes, port 443
    "trickle": "127.2.0.1",
    "reset": "127.2.0.2",
    "hang": "127.2.0.3",
    "silent": "127.2.0.4",
    "chunked": "127.2.0.5",
    "close": "127.2.0.6",
}
# The response head lab-faultd sends in each mode that serves a payload file.
FAULT_HEAD = {
    "trickle": "Content-Length: {length}\r\nConnection: close\r\n",
    "reset": "Content-Length: {length}\r\nConnection: close\r\n",
    "chunked": "Transfer-Encoding: chunked\r\nConnection: close\r\n",
    "close": "Connection: close\r\n",
}
STRIPD = "127.26.0.1"        # lab-stripd, port 25
V6_PREFIX = "fd00:6d74:6173::"
V6_RESOLVER = V6_PREFIX + "53"


def policy_v4(i):
    return f"127.1.{i // 250}.{i % 250 + 1}"


def bulk_v4(k):
    """Bulk domains take the upper half of 127.1/16: 127.1.128.1 onwards."""
    return f"127.1.{BULK_OCTET + k // 250}.{k % 250 + 1}"


def policy_v6(i):
    return f"{V6_PREFIX}1:{i + 1:x}"


def extra_v4(k):
    """The k-th additional policy host address (host.extra), 127.3.0.1 on."""
    return f"127.3.{k // 250}.{k % 250 + 1}"


def https_v4(k):
    """The k-th further HTTPS host of the domains (https_hosts), 127.4.0.1 on."""
    return f"127.4.{k // 250}.{k % 250 + 1}"


def mx_v4(i):
    return f"127.25.{i // 250}.{i % 250 + 1}"


def mx_v6(i):
    return f"{V6_PREFIX}25:{i + 1:x}"


BULK_OCTET = 128             # first third octet of the bulk policy hosts
BULK_MAX = 10000            # 127.1.128.1 - 127.1.167.250
BULK_CERT_NAMES = 100       # policy host names per bulk certificate

TTL = 2                      # zone default; Unbound serves TTLs as published
DEFAULT_TXT = "v=STSv1; id=20250101000000;"
CERT_KINDS = ("good", "expired", "not-yet-valid", "wrong-name", "untrusted",
              "self-signed", "wildcard", "expiring", "cn-only", "weak-key",
              "many-names", "escape")
EXPIRING_DAYS = 5            # the "expiring" kind ends this many days from now
# Sound certificates end on a fixed day, so what `check` prints of them
# (and the README shows) is the same whenever the lab was brought up.
GOOD_UNTIL = datetime.datetime(2036, 1, 1, 12, 0, tzinfo=datetime.timezone.utc)
WEAK_KEY = ("-newkey", "rsa:1024", "-nodes")   # the "weak-key" kind
MANY_NAMES = 120             # dNSNames of the "many-names" kind; the host's is last
# The "escape" kind names "<ESCAPE_LABEL>.<parent>" only: terminal control
# sequences (clear screen, red, window title) and other control bytes, all
# 7-bit, so that they fit an IA5String.
ESCAPE_LABEL = "\x1b[2J\x1b[31mowned\x1b]0;lab\x07\x08\r\n\x7f\x1b[0m"
# Servers must lower OpenSSL's security level (Debian's default is 2) to
# load a certificate with a key this weak at all.
WEAK_SECLEVEL = "DEFAULT:@SECLEVEL=1"
HTTP_REASONS = {200: "OK", 301: "Moved Permanently", 302: "Found",
                404: "Not Found", 500: "Internal Server Error"}


def die(msg):
    print(f"labgen: {msg}", file=sys.stderr)
    sys.exit(1)


def write(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w" if isinstance(text, str) else "wb") as f:
        f.write(text)
    os.chmod(path, mode)


def run(*args, cwd=None):
    r = subprocess.run(args, cwd=cwd, capture_output=True, text=True, errors="replace")
    if r.returncode != 0:
        die(f"{' '.join(args)} failed:\n{r.stderr}")
    return r.stdout

# ---------------------------------------------------------------------- CA


CA_CNF = """\
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = mtasts lab
[ ca ]
default_ca = root
[ root ]
dir = {dir}/root
database = $dir/index.txt
new_certs_dir = $dir/new
serial = $dir/serial
certificate = {dir}/root.pem
private_key = {dir}/root.key
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
[ untrusted ]
dir = {dir}/untrusted
database = $dir/index.txt
new_certs_dir = $dir/new
serial = $dir/serial
certificate = {dir}/untrusted.pem
private_key = {dir}/untrusted.key
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
[ any ]
commonName = supplied
[ v3_ca ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[ v3_self ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
"""

LEAF_EXT = """\
[ leaf ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
{san_line}
"""

KEYOPTS = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")


def asn1_time(dt):
    return dt.strftime("%Y%m%d%H%M%SZ")


def der_length(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def san_line(names):
    """The subjectAltName line of an extension section for these dNSNames.

    Names with bytes the configuration syntax cannot carry (control
    characters, commas) are given as DER: GeneralNames, a SEQUENCE of
    [2] IA5String, so that every byte reaches the certificate as it is.
    """
    if not names:
        return ""
    if all(n.isprintable() and "," not in n for n in names):
        return "subjectAltName = " + ",".join(f"DNS:{n}" for n in names)
    body = b""
    for n in names:
        raw = n.encode("ascii")
        body += b"\x82" + der_length(len(raw)) + raw
    der = b"\x30" + der_length(len(body)) + body
    return "subjectAltName = DER:" + der.hex(":")


def cert_names(name, kind):
    """(subject CN, dNSNames) of a certificate of this kind for host name."""
    parent = name.split(".", 1)[1]
    if kind == "wrong-name":
        return f"elsewhere.{parent}", [f"elsewhere.{parent}"]
    if kind == "wildcard":
        return f"*.{parent}", [f"*.{parent}"]
    if kind == "cn-only":
        return name, []
    if kind == "many-names":
        names = [f"n{k:03d}.{name}" for k in range(1, MANY_NAMES)] + [name]
        return names[0], names
    if kind == "escape":
        return f"{ESCAPE_LABEL}.{parent}", [f"{ESCAPE_LABEL}.{parent}"]
    return name, [name]


class CA:
    """The lab's certificate authority: a trusted root and an untrusted one."""

    def __init__(self, top):
        self.dir = os.path.join(top, "ca")
        self.cnf = os.path.join(self.dir, "ca.cnf")
        self.now = datetime.datetime.now(datetime.timezone.utc)
        self.issued = {}
        for name in ("root", "untrusted"):
            os.makedirs(os.path.join(self.dir, name, "new"))
            write(os.path.join(self.dir, name, "index.txt"), "")
            write(os.path.join(self.dir, name, "serial"), secrets.token_hex(8) + "\n")
        write(self.cnf, CA_CNF.format(dir=self.dir))
        for name, cn in (("root", "mtasts lab root CA"),
                         ("untrusted", "mtasts lab untrusted CA")):
            run("openssl", "req", "-config", self.cnf, "-x509", *KEYOPTS,
                "-keyout", f"{self.dir}/{name}.key", "-out", f"{self.dir}/{name}.pem",
                "-days", "3650", "-subj", f"/CN={cn}", "-extensions", "v3_ca")

    def leaf(self, name, kind):
        """Issue a certificate of the given kind for host name; return paths."""
        if kind not in CERT_KINDS:
            die(f"unknown certificate kind '{kind}' for {name}")
        key = (name, kind)
        if key in self.issued:
            return self.issued[key]
        stem = os.path.join(self.dir, "hosts", f"{name}.{kind}")
        os.makedirs(os.path.dirname(stem), exist_ok=True)
        cn, names = cert_names(name, kind)
        keyopts = WEAK_KEY if kind == "weak-key" else KEYOPTS
        if kind == "self-signed":
            run("openssl", "req", "-config", self.cnf, "-x509", *keyopts,
                "-keyout", stem + ".key", "-out", stem + ".pem",
                "-days", str((self.good_end().date() - self.now.date()).days),
                "-subj", f"/CN={cn}", "-extensions", "v3_self",
                "-addext", f"subjectAltName=DNS:{cn}")
        else:
            start, end = self.now - datetime.timedelta(days=1), self.good_end()
            if kind == "expired":
                start, end = self.now - datetime.timedelta(days=60), self.now - datetime.timedelta(days=1)
            elif kind == "not-yet-valid":
                start, end = self.now + datetime.timedelta(days=30), self.now + datetime.timedelta(days=400)
            elif kind == "expiring":
                start = self.now - datetime.timedelta(days=60)
                end = self.now + datetime.timedelta(days=EXPIRING_DAYS)
            write(stem + ".ext", LEAF_EXT.format(san_line=san_line(names)))
            run("openssl", "req", "-config", self.cnf, "-new", *keyopts,
                "-keyout", stem + ".key", "-out", stem + ".csr", "-subj", f"/CN={cn}")
            run("openssl", "ca", "-batch", "-config", self.cnf,
                "-name", "untrusted" if kind == "untrusted" else "root",
                "-in", stem + ".csr", "-out", stem + ".pem", "-notext",
                "-startdate", asn1_time(start), "-enddate", asn1_time(end),
                "-extfile", stem + ".ext", "-extensions", "leaf")
        self.issued[key] = (stem + ".pem", stem + ".key")
        return self.issued[key]

    def multi(self, label, names):
        """A good certificate with several names (lab-faultd, bulk hosts)."""
        stem = os.path.join(self.dir, "hosts", label)
        os.makedirs(os.path.dirname(stem), exist_ok=True)
        names = names or ["faultd.test"]
        write(stem + ".ext", LEAF_EXT.format(san_line=san_line(names)))
        run("openssl", "req", "-config", self.cnf, "-new", *KEYOPTS,
            "-keyout", stem + ".key", "-out", stem + ".csr", "-subj", f"/CN={names[0]}")
        run("openssl", "ca", "-batch", "-config", self.cnf, "-name", "root",
            "-in", stem + ".csr", "-out", stem + ".pem", "-notext",
            "-startdate", asn1_time(self.now - datetime.timedelta(days=1)),
            "-enddate", asn1_time(self.good_end()),
            "-extfile", stem + ".ext", "-extensions", "leaf")
        return stem + ".pem", stem + ".key"

    def good_end(self):
        """GOOD_UNTIL, or a year from now once that is less than a month away."""
        if GOOD_UNTIL - self.now > datetime.timedelta(days=30):
            return GOOD_UNTIL
        return self.now + datetime.timedelta(days=365)


def spki_sha256(cert):
    pub = run("openssl", "x509", "-in", cert, "-noout", "-pubkey")
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"],
                         input=pub.encode(), capture_output=True, check=True).stdout
    return hashlib.sha256(der).hexdigest()

# -------------------------------------------------------------- scenarios


def policy_body(d, mx_hosts):
    if "policy_raw" in d:
        body = d["policy_raw"]
    else:
        p = d.get("policy", {})
        mode = p.get("mode", "enforce")
        mxs = p.get("mx", mx_hosts)
        lines = ["version: STSv1", f"mode: {mode}"]
        lines += [f"mx: {m}" for m in mxs]
        lines.append(f"max_age: {p.get('max_age', 2419200)}")
        body = "".join(line + "\r\n" for line in lines)
    pad = d.get("policy_pad", 0)
    n = 0
    while len(body) < pad:
        body += f"x-lab-pad-{n:05d}: " + "a" * 100 + "\r\n"
        n += 1
    return body


class Zones:
    """Resource records sorted into the zones Knot serves."""

    def __init__(self):
        self.zones = {"test.": {"signed": True, "rrs": []}}
        self.max_ttl = TTL

    def add_zone(self, apex, signed):
        self.zones[apex] = {"signed": signed, "rrs": []}

    def zone_of(self, owner):
        owner = owner.rstrip(".") + "."
        best = None
        for apex in self.zones:
            if (owner == apex or owner.endswith("." + apex)) and (best is None or len(apex) > len(best)):
                best = apex
        if best is None:
            die(f"{owner} is in no lab zone")
        return best

    def add(self, owner, rtype, rdata, ttl=None):
        """Add a record to the zone that holds owner; return that zone's apex."""
        owner = owner.rstrip(".") + "."
        best = self.zone_of(owner)
        self.zones[best]["rrs"].append(f"{owner} {ttl or TTL} IN {rtype} {rdata}")
        self.max_ttl = max(self.max_ttl, ttl or TTL)
        return best

    def text(self, apex):
        head = [f"$ORIGIN {apex}", f"$TTL {TTL}",
                f"{apex} {TTL} IN SOA ns.{apex} hostmaster.{apex} 1 3600 600 86400 {TTL}",
                f"{apex} {TTL} IN NS ns.{apex}",
                f"ns.{apex} {TTL} IN A {AUTH}"]
        return "\n".join(head + self.zones[apex]["rrs"]) + "\n"


def txt_rdata(s):
    chunks = [s[i:i + 255] for i in range(0, len(s), 255)] or [""]
    return " ".join('"' + c.replace("\\", "\\\\").replace('"', '\\"') + '"' for c in chunks)


def check_domain(d):
    for key in ("name", "expect"):
        if key not in d:
            die(f"domain entry without '{key}': {d}")
    e = d["expect"]
    if e.get("status") not in ("policy", "no-policy", "temp-fail", "invalid"):
        die(f"{d['name']}: bad expect.status {e.get('status')!r}")
    if e.get("result_type", "") not in ("", "sts-policy-fetch-error", "sts-policy-invalid",
                                         "sts-webpki-invalid"):
        die(f"{d['name']}: bad expect.result_type {e.get('result_type')!r}")
    if d.get("zone", "test") not in ("test", "bogus", "insecure", "dns-timeout", "dns-servfail"):
        die(f"{d['name']}: bad zone {d.get('zone')!r}")
    server = d.get("host", {}).get("server", "nginx")
    if server not in ("nginx", "refused", "none") and server not in FAULT_ADDR:
        die(f"{d['name']}: bad host.server {server!r}")
    for x in d.get("host", {}).get("extra", []):
        if x.get("server", "nginx") not in ("nginx", "refused"):
            die(f"{d['name']}: host.extra server must be nginx or refused, not {x.get('server')!r}")
        if server not in ("nginx", "refused"):
            die(f"{d['name']}: host.extra needs host.server nginx or refused")
    for x in d.get("https_hosts", []):
        if not str(x.get("name", "")).endswith(f".{d['name']}.test"):
            die(f"{d['name']}: https_hosts name {x.get('name')!r} must be below {d['name']}.test")
        if x.get("server", "nginx") not in ("nginx", "refused"):
            die(f"{d['name']}: https_hosts server must be nginx or refused, not {x.get('server')!r}")
    ttl = d.get("txt_ttl", TTL)
    if not isinstance(ttl, int) or not 1 <= ttl <= 2147483647:
        die(f"{d['name']}: bad txt_ttl {ttl!r}")


def bulk_names(bulk, taken):
    """The domain names of the [bulk] table: <prefix>-0001.test and on."""
    if bulk is None:
        bulk = {}
    count = bulk.get("count", 0)
    override = os.environ.get("MTASTS_LAB_BULK")
    if override is not None:
        if not override.isdigit():
            die(f"MTASTS_LAB_BULK={override!r} is not a number")
        count = int(override)
    prefix = bulk.get("prefix", "bulk")
    if not isinstance(count, int) or not 0 <= count <= BULK_MAX:
        die(f"bulk.count must be a number from 0 to {BULK_MAX}, not {count!r}")
    if not (isinstance(prefix, str) and 0 < len(prefix) <= 40
            and all(c in "abcdefghijklmnopqrstuvwxyz0123456789-" for c in prefix)
            and prefix[0] != "-"):
        die(f"bulk.prefix must be lower-case letters, digits and '-' (at most 40), not {prefix!r}")
    unknown = set(bulk) - {"count", "prefix", "about", "mx"}
    if unknown:
        die(f"unknown keys in [bulk]: {sorted(unknown)}")
    width = max(4, len(str(count)))
    labels = [f"{prefix}-{k:0{width}d}" for k in range(1, count + 1)]
    clash = sorted(set(labels) & taken)
    if clash:
        die(f"[bulk] names clash with [[domain]] names: {clash[:3]}")
    return [f"{label}.test" for label in labels]


class Lab:
    def __init__(self, scenarios, top):
        self.top = top
        with open(scenarios, "rb") as f:
            self.data = tomllib.load(f)
        self.domains = self.data.get("domain", [])
        self.mxhosts = self.data.get("mxhost", [])
        names = [d.get("name") for d in self.domains]
        if len(set(names)) != len(names):
            die("duplicate domain names in scenarios")
        for d in self.domains:
            check_domain(d)
        self.bulk = bulk_names(self.data.get("bulk"), set(names))
        if len(self.domains) > BULK_OCTET * 250:
            die("too many domains: their policy addresses would reach the bulk ones")
        self.zones = Zones()
        self.ca = CA(top)
        self.v6 = [V6_RESOLVER]
        self.mx = {}          # name -> resolved mx host
        self.plan = []        # resolved domains for lab.json
        self.nginx_servers = []
        self.fault_names = {m: [] for m in FAULT_ADDR}
        self.fault_payload = {}
        self.extra_count = 0  # host.extra addresses handed out so far
        self.https_count = 0  # https_hosts addresses handed out so far

    # ---- MX hosts
    def build_mxhosts(self):
        for i, m in enumerate(self.mxhosts):
            name = m["name"]
            tls = m.get("tls", "good")
            r = {"name": name, "tls": tls, "ipv4": None, "ipv6": None,
                 "listen4": None, "listen6": None, "cert": None, "key": None,
                 "cert_names": None, "banner": m.get("banner"),
                 "via": m.get("via"), "postfix": list(m.get("postfix", []))}
            for opt in r["postfix"]:
                if not re.fullmatch(r"[a-z_]+=[^\s]+", opt):
                    raise SystemExit(f"labgen: mxhost {name}: postfix option {opt!r} "
                                     "is not NAME=VALUE without spaces")
            if r["banner"] is not None and ("\n" in r["banner"] or "}" in r["banner"]):
                die(f"mxhost {name}: banner must not contain a newline or '}}'")
            if tls != "none":
                r["cert"], r["key"] = self.ca.leaf(name, tls)
                r["cert_names"] = cert_names(name, tls)[1]
            if tls == "weak-key":
                # smtpd sets its cipher list before it loads the key.
                r["postfix"] += ["smtpd_tls_ciphers=medium",
                                 f"tls_medium_cipherlist={WEAK_SECLEVEL}"]
            if m.get("ipv4", True):
                r["listen4"] = mx_v4(i)
            if m.get("ipv6", False):
                r["listen6"] = mx_v6(i)
                self.v6.append(r["listen6"])
            self.mx[name] = r
        for r in self.mx.values():
            if r["via"] == "stripd":
                target = next(m for m in self.mxhosts if m["name"] == r["name"])["target"]
                r["target"] = self.mx[target]["listen4"]
                r["listen4"] = r["listen6"] = None
                r["ipv4"] = STRIPD
            else:
                r["ipv4"], r["ipv6"] = r["listen4"], r["listen6"]
        self.stripd = [r for r in self.mx.values() if r["via"] == "stripd"]
        if len(self.stripd) > 1:
            die("only one mxhost can be behind stripd")

    def mx_records(self):
        for r in self.mx.values():
            if r["ipv4"]:
                self.zones.add(r["name"], "A", r["ipv4"])
            if r["ipv6"]:
                self.zones.add(r["name"], "AAAA", r["ipv6"])

    # ---- domains
    def add_child_zone(self, d, domain):
        kind = d.get("zone", "test")
        if kind == "test":
            return
        ns = f"ns.{domain}"
        self.zones.add(domain, "NS", ns + ".")
        if kind in ("bogus", "insecure"):
            self.zones.add(ns, "A", AUTH)
            if kind == "bogus":
                # A DS that matches no key of the child: validation fails.
                self.zones.add(domain, "DS", "4711 13 2 " + "00" * 32)
            self.zones.add_zone(domain + ".", signed=(kind == "bogus"))
            self.zones.add(ns, "A", AUTH)
        else:
            self.zones.add(ns, "A", DNS_DROP if kind == "dns-timeout" else DNS_SERVFAIL)

    def build_domain(self, i, d):
        name = d["name"]
        domain = f"{name}.test"
        delegated_away = d.get("zone") in ("dns-timeout", "dns-servfail")
        mx = d.get("mx", ["10 mx1.mail.test"])
        mx_hosts = [m.split()[1] for m in mx if m.split()[1] != "."]
        for h in mx_hosts:
            if h not in self.mx and not d.get("mx_unlisted", False):
                die(f"{name}: MX host {h} is not an [[mxhost]] (set mx_unlisted to allow it)")
        body = policy_body(d, mx_hosts)
        host = dict(d.get("host", {}))
        server = host.get("server", "nginx")
        policy_name = f"mta-sts.{domain}"
        rec = {"name": name, "domain": domain, "about": d.get("about", ""),
               "zone": d.get("zone", "test"), "signed": d.get("zone", "test") in ("test", "bogus"),
               "txt": d.get("txt", [] if "txt_cname" in d else [DEFAULT_TXT]), "txt_cname": d.get("txt_cname"),
               "txt_ttl": d.get("txt_ttl", TTL), "apex_txt": d.get("apex_txt", []),
               "mx": mx, "tlsrpt": d.get("tlsrpt", []), "tlsa": [],
               "policy": body, "policy_host": policy_name,
               "host": {"server": server, "cert": host.get("cert", "good"),
                        "status": host.get("status", 200),
                        "content_type": host.get("content_type", "text/plain"),
                        "tls_protocols": host.get("tls_protocols", "TLSv1.2 TLSv1.3"),
                        "ipv4": None, "ipv6": None, "extra": [], "cert_names": None},
               "https_hosts": [],
               "expect": d["expect"], "check": d.get("check", [])}
        h = rec["host"]
        if server == "nginx":
            h["cert_names"] = cert_names(policy_name, h["cert"])[1]
        if server in ("nginx", "refused"):
            if host.get("ipv4", True):
                h["ipv4"] = policy_v4(i)
            if host.get("ipv6", False):
                h["ipv6"] = policy_v6(i)
                self.v6.append(h["ipv6"])
        elif server in FAULT_ADDR:
            h["ipv4"] = FAULT_ADDR[server]
            self.fault_names[server].append(policy_name)
            self.fault_payload.setdefault(server, body)
        # More A records for the policy host, each its own server.
        for x in host.get("extra", []):
            xbody = policy_body(x, mx_hosts) if ("policy" in x or "policy_raw" in x) else body
            h["extra"].append({"ipv4": extra_v4(self.extra_count),
                               "server": x.get("server", "nginx"), "policy": xbody})
            self.extra_count += 1
        # Further HTTPS hosts of the domain (TLSRPT https: rua).
        for x in d.get("https_hosts", []):
            rec["https_hosts"].append({"name": x["name"], "ipv4": https_v4(self.https_count),
                                       "server": x.get("server", "nginx")})
            self.https_count += 1
        if delegated_away:
            self.plan.append(rec)
            return
        # DNS records
        if rec["txt_cname"]:
            self.zones.add(f"_mta-sts.{domain}", "CNAME", rec["txt_cname"].rstrip(".") + ".")
        for t in rec["txt"]:
            self.zones.add(f"_mta-sts.{domain}", "TXT", txt_rdata(t), rec["txt_ttl"])
        for t in rec["apex_txt"]:
            self.zones.add(domain, "TXT", txt_rdata(t))
        for t in rec["tlsrpt"]:
            self.zones.add(f"_smtp._tls.{domain}", "TXT", txt_rdata(t))
        for m in mx:
            pref, target = m.split()
            self.zones.add(domain, "MX", f"{pref} {target.rstrip('.')}.")
        if h["ipv4"]:
            self.zones.add(policy_name, "A", h["ipv4"])
        if h["ipv6"]:
            self.zones.add(policy_name, "AAAA", h["ipv6"])
        for x in h["extra"]:
            self.zones.add(policy_name, "A", x["ipv4"])
        for x in rec["https_hosts"]:
            self.zones.add(x["name"], "A", x["ipv4"])
            if x["server"] == "nginx":
                cert, key = self.ca.leaf(x["name"], "good")
                self.nginx_servers.append(({"policy_host": x["name"], "https_host": True,
                                            "host": {"ipv4": x["ipv4"], "ipv6": None,
                                                     "cert": "good", "status": 200,
                                                     "content_type": "text/plain",
                                                     "tls_protocols": "TLSv1.2 TLSv1.3"}},
                                           cert, key, None))
        for t in d.get("tlsa", []):
            if "cname" in t:
                # The TLSA name an alias, e.g. into the bogus zone.
                owner = f"_{t.get('port', 25)}._tcp.{t['host']}"
                self.zones.add(owner, "CNAME", t["cname"].rstrip(".") + ".")
                continue
            mxh = self.mx[t["host"]]
            data = t["data"]
            if data == "auto":
                data = spki_sha256(mxh["cert"])
            rdata = f"{t.get('usage', 3)} {t.get('selector', 1)} {t.get('mtype', 1)} {data}"
            owner = f"_{t.get('port', 25)}._tcp.{t['host']}"
            apex = self.zones.add(owner, "TLSA", rdata)
            rec["tlsa"].append({"owner": owner, "rdata": rdata,
                                "signed": self.zones.zones[apex]["signed"]})
        # policy host
        if server == "nginx":
            cert, key = self.ca.leaf(policy_name, h["cert"])
            docdir = os.path.join(self.top, "web", "docs", name)
            write(os.path.join(docdir, "mta-sts.txt"), body)
            self.nginx_servers.append((rec, cert, key, docdir))
        for n, x in enumerate(h["extra"]):
            if x["server"] == "nginx":
                cert, key = self.ca.leaf(policy_name, h["cert"])
                docdir = os.path.join(self.top, "web", "docs", f"{name}.{n + 2}")
                write(os.path.join(docdir, "mta-sts.txt"), x["policy"])
                xrec = {"policy_host": policy_name,
                        "host": dict(h, ipv4=x["ipv4"], ipv6=None, extra=[])}
                self.nginx_servers.append((xrec, cert, key, docdir))
        self.plan.append(rec)

    def build_bulk(self):
        """Look-alike good domains of [bulk]: records, policy files, hosts.

        They go to lab.json under "bulk" (names only), never into "domains",
        so tests that walk the [[domain]] entries do not see them.  Their
        certificates name up to BULK_CERT_NAMES policy hosts each, which
        keeps `lab up` to a few openssl runs whatever the count.
        """
        mx = (self.data.get("bulk") or {}).get("mx", "mx1.mail.test")
        if self.bulk and mx not in self.mx:
            die(f"[bulk] domains need the [[mxhost]] {mx}")
        body = policy_body({}, [mx])
        hosts = [f"mta-sts.{n}" for n in self.bulk]
        for c in range(0, len(hosts), BULK_CERT_NAMES):
            cert, key = self.ca.multi(f"bulk-{c // BULK_CERT_NAMES + 1}",
                                      hosts[c:c + BULK_CERT_NAMES])
            for k in range(c, min(c + BULK_CERT_NAMES, len(hosts))):
                domain, host, addr = self.bulk[k], hosts[k], bulk_v4(k)
                self.zones.add(f"_mta-sts.{domain}", "TXT",
                               txt_rdata(f"v=STSv1; id=20250101{k + 1:06d};"))
                self.zones.add(domain, "MX", f"10 {mx}.")
                self.zones.add(host, "A", addr)
                docdir = os.path.join(self.top, "web", "docs", domain[:-len(".test")])
                write(os.path.join(docdir, "mta-sts.txt"), body)
                rec = {"policy_host": host,
                       "host": {"ipv4": addr, "ipv6": None, "status": 200,
                                "content_type": "text/plain",
                                "tls_protocols": "TLSv1.2 TLSv1.3"}}
                self.nginx_servers.append((rec, cert, key, docdir))

    # ---- outputs
    def write_dns(self):
        dns = os.path.join(self.top, "dns")
        for sub in ("zones", "db", "run"):
            os.makedirs(os.path.join(dns, sub), exist_ok=True)
        for apex in self.zones.zones:
            write(os.path.join(dns, "zones", apex + "zone"), self.zones.text(apex))
        secret = base64.b64encode(secrets.token_bytes(32)).decode()
        write(os.path.join(dns, "tsig.key"), f"hmac-sha256:lab-update:{secret}\n", 0o600)
        zones = []
        for apex, z in self.zones.zones.items():
            zones.append(f"  - domain: {apex}\n    template: lab\n"
                         + ("    dnssec-signing: on\n    dnssec-policy: lab\n" if z["signed"] else ""))
        write(os.path.join(dns, "knot.conf"), f"""\
# Knot DNS for the mtasts lab (generated by tests/lab/labgen.py)
server:
    rundir: "{dns}/run"
    pidfile: "{dns}/run/knot.pid"
    listen: {AUTH}@53
    identity: ""
    version: ""

control:
    listen: "{dns}/run/knot.sock"

database:
    storage: "{dns}/db"

log:
  - target: "{dns}/knot.log"
    any: info

key:
  - id: lab-update
    algorithm: hmac-sha256
    secret: {secret}

acl:
  - id: update
    key: lab-update
    action: update
  - id: transfer
    address: 127.0.0.0/8
    action: transfer

policy:
  - id: lab
    algorithm: ecdsap256sha256
    single-type-signing: on
    nsec3: off
    dnskey-ttl: {TTL}
    zone-max-ttl: {self.zones.max_ttl}
    propagation-delay: 0

template:
  - id: lab
    storage: "{dns}/zones"
    file: "%s.zone"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: changes
    semantic-checks: on
    acl: [update, transfer]

zone:
""" + "".join(zones))
        write(os.path.join(dns, "unbound.conf"), f"""\
# Unbound, the lab's validating resolver (generated by tests/lab/labgen.py)
server:
    username: ""
    chroot: ""
    directory: "{dns}"
    pidfile: "{dns}/run/unbound.pid"
    logfile: "{dns}/unbound.log"
    use-syslog: no
    verbosity: 1
    val-log-level: 2
    num-threads: 1
    interface: {RESOLVER}
    interface: {V6_RESOLVER}
    port: 53
    access-control: 127.0.0.0/8 allow
    access-control: ::1 allow
    access-control: {V6_PREFIX}/64 allow
    do-not-query-localhost: no
    qname-minimisation: no
    # Answers carry the TTL of the zone (2 s unless a scenario sets its
    # own, such as txt_ttl), so clients see the published TTL; with
    # serve-original-ttl, cache-max-ttl no longer applies, and the short
    # zone TTL is what keeps the cache fresh.
    serve-original-ttl: yes
    cache-max-ttl: 2
    cache-max-negative-ttl: 2
    infra-host-ttl: 5
    trust-anchor-file: "{dns}/trust-anchor.txt"
    trust-anchor-signaling: no
    # Nothing but the lab: every other name is refused, so no query ever
    # leaves for the real root servers.
    local-zone: "." refuse
    local-zone: "test." transparent

stub-zone:
    name: "test."
    stub-addr: {AUTH}

remote-control:
    control-enable: yes
    control-interface: "{dns}/run/unbound.ctl"
    control-use-cert: no
""")

    def write_nginx(self):
        web = os.path.join(self.top, "web")
        for sub in ("tmp", "logs"):
            os.makedirs(os.path.join(web, sub), exist_ok=True)
        servers = []
        # Each listening socket takes one of the worker's connections.
        listens = sum(bool(r["host"]["ipv4"]) + bool(r["host"]["ipv6"])
                      for r, _, _, _ in self.nginx_servers)
        connections = listens + 1024
        for rec, cert, key, docdir in self.nginx_servers:
            h = rec["host"]
            listens = []
            if h["ipv4"]:
                listens.append(f"        listen {h['ipv4']}:443 ssl;")
            if h["ipv6"]:
                listens.append(f"        listen [{h['ipv6']}]:443 ssl;")
            status = h["status"]
            if status in (301, 302):
                action = f"return {status} https://mta-sts.good-enforce.test/.well-known/mta-sts.txt;"
            elif status != 200:
                action = f"return {status};"
            else:
                action = f"alias {docdir}/mta-sts.txt;"
            ciphers = ""
            if "TLSv1.2" not in h["tls_protocols"] and "TLSv1.3" not in h["tls_protocols"]:
                ciphers = "        ssl_ciphers DEFAULT:@SECLEVEL=0;\n"
            certificate = cert
            if h.get("cert") == "weak-key":
                # nginx loads a static certificate before it applies
                # ssl_ciphers, at the security level that refuses this key;
                # a variable in the path defers loading to the handshake.
                ciphers = f"        ssl_ciphers {WEAK_SECLEVEL};\n"
                certificate = cert + "$lab_load_late"
            if rec.get("https_host"):
                # A further HTTPS host (TLSRPT https: rua): any request, 204.
                locations = """        location / {
            return 204;
        }"""
            else:
                locations = f"""        location = /.well-known/mta-sts.txt {{
            types {{ }}
            default_type {h['content_type']};
            {action}
        }}
        location / {{
            return 404;
        }}"""
            servers.append(f"""\
    server {{
{chr(10).join(listens)}
        server_name {rec['policy_host']};
        ssl_certificate {certificate};
        ssl_certificate_key {key};
        ssl_protocols {h['tls_protocols']};
{ciphers}{locations}
    }}
""")
        write(os.path.join(web, "nginx.conf"), f"""\
# nginx for the mtasts lab policy hosts (generated by tests/lab/labgen.py)
daemon on;
master_process on;
user root;
worker_processes 1;
worker_rlimit_nofile {2 * connections + 64};
pid {web}/nginx.pid;
error_log {web}/logs/error.log info;

events {{
    worker_connections {connections};
}}

http {{
    access_log {web}/logs/access.log;
    client_body_temp_path {web}/tmp/body;
    proxy_temp_path {web}/tmp/proxy;
    fastcgi_temp_path {web}/tmp/fastcgi;
    uwsgi_temp_path {web}/tmp/uwsgi;
    scgi_temp_path {web}/tmp/scgi;
    server_tokens off;
    keepalive_timeout 5;
    server_names_hash_bucket_size 128;
    server_names_hash_max_size {max(512, 2 * len(self.nginx_servers))};
    # Always empty: see the weak-key servers.
    map $server_port $lab_load_late {{
        default "";
    }}

{"".join(servers)}}}
""")

    def write_postfix(self):
        mail = os.path.join(self.top, "mail")
        conf = os.path.join(mail, "conf")
        os.makedirs(os.path.join(mail, "data"), exist_ok=True)
        os.makedirs(os.path.join(mail, "spool"), exist_ok=True)
        os.makedirs(os.path.join(mail, "maildir"), exist_ok=True)
        domains = sorted({r["domain"] for r in self.plan} | set(self.bulk)
                         | {"mail.test", "wild.test"})
        write(os.path.join(conf, "domains"), "".join(f"{d} OK\n" for d in domains))
        write(os.path.join(conf, "mailboxes"), "".join(f"@{d} {d}/\n" for d in domains))
        write(os.path.join(conf, "main.cf"), f"""\
# Postfix for the mtasts lab MX hosts (generated by tests/lab/labgen.py)
compatibility_level = 3.6
queue_directory = {mail}/spool
data_directory = {mail}/data
maillog_file = {mail}/maillog
maillog_file_prefixes = {mail}
mail_owner = postfix
myhostname = lab-mx.localdomain
mydomain = localdomain
myorigin = $myhostname
mydestination =
local_recipient_maps =
relay_domains =
alias_maps =
alias_database =
inet_interfaces = all
inet_protocols = all
mynetworks = 127.0.0.1/32
smtpd_relay_restrictions = reject_unauth_destination
smtpd_banner = $myhostname ESMTP mtasts lab
smtpd_peername_lookup = no
default_transport = error:5.7.1 the lab sends no mail out
relay_transport = error:5.7.1 the lab sends no mail out
local_transport = error:5.7.1 no local delivery in the lab
virtual_mailbox_domains = texthash:{conf}/domains
virtual_mailbox_maps = texthash:{conf}/mailboxes
virtual_mailbox_base = {mail}/maildir
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
virtual_minimum_uid = 100
smtpd_tls_security_level = may
smtpd_tls_loglevel = 1
smtpd_tls_received_header = yes
biff = no
append_dot_mydomain = no
readme_directory = no
# room for every bulk domain's probe at once (bench/bench-check)
default_process_limit = 400
""")
        services = []
        for r in self.mx.values():
            if r["via"] == "stripd":
                continue
            opts = [f"-o myhostname={r['name']}"]
            if r["tls"] == "none":
                opts.append("-o smtpd_tls_security_level=none")
            else:
                opts += [f"-o smtpd_tls_cert_file={r['cert']}", f"-o smtpd_tls_key_file={r['key']}"]
            opts += [f"-o {opt}" for opt in r["postfix"]]
            if r["banner"] is not None:
                # The { name = value } form lets the value carry spaces.
                opts.append(f"-o {{ smtpd_banner = {r['banner']} }}")
            for addr in (r["listen4"], f"[{r['listen6']}]" if r["listen6"] else None):
                if addr:
                    services.append(f"{addr}:25 inet n - n - - smtpd\n  " + "\n  ".join(opts))
        write(os.path.join(conf, "master.cf"), "# Postfix services of the mtasts lab (generated)\n"
              + "\n".join(services) + "\n" + """\
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
""")

    def write_fault(self):
        fault = os.path.join(self.top, "fault")
        os.makedirs(fault, exist_ok=True)
        names = sorted({n for ns in self.fault_names.values() for n in ns})
        cert, key = self.ca.multi("faultd", names)
        specs = []
        for mode, addr in FAULT_ADDR.items():
            spec = f"{mode},{addr},443,tls"
            if mode in FAULT_HEAD:
                body = self.fault_payload.get(mode, policy_body({}, ["mx1.mail.test"]))
                path = os.path.join(fault, f"{mode}.http")
                write(path, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                      + FAULT_HEAD[mode].format(length=len(body)) + "\r\n" + body)
                spec += f",file={path}"
            specs.append(spec)
        specs.append(f"dns-drop,{DNS_DROP},53")
        specs.append(f"dns-servfail,{DNS_SERVFAIL},53")
        self.faultd_args = ["-c", cert, "-k", key, "-p", os.path.join(self.top, "run", "faultd.pid")] + specs
        if self.stripd:
            s = self.stripd[0]
            self.stripd_args = ["-p", os.path.join(self.top, "run", "stripd.pid"),
                                STRIPD, "25", s["target"], "25"]
        else:
            self.stripd_args = []

    def write_env(self):
        os.makedirs(os.path.join(self.top, "run"), exist_ok=True)

        def arr(name, items):
            return f"{name}=(" + " ".join(shlex.quote(x) for x in items) + ")\n"
        write(os.path.join(self.top, "lab.env"),
              "# generated by tests/lab/labgen.py; sourced by tests/lab/lab\n"
              f"LAB_RESOLVER={RESOLVER}\nLAB_AUTH={AUTH}\n"
              + arr("LAB_V6_ADDRS", sorted(set(self.v6)))
              + arr("LAB_FAULTD_ARGS", self.faultd_args)
              + arr("LAB_STRIPD_ARGS", self.stripd_args))
        manifest = {
            "resolver": RESOLVER, "auth": AUTH, "dns_drop": DNS_DROP,
            "dns_servfail": DNS_SERVFAIL, "fault": FAULT_ADDR, "stripd": STRIPD,
            "v6_resolver": V6_RESOLVER, "ttl": TTL,
            "ca": os.path.join(self.top, "ca", "root.pem"),
            "tsig_key": os.path.join(self.top, "dns", "tsig.key"),
            "maildir": os.path.join(self.top, "mail", "maildir"),
            "zones": {a: z["signed"] for a, z in self.zones.zones.items()},
            "mxhosts": list(self.mx.values()),
            "domains": self.plan,
            "bulk": self.bulk,
        }
        write(os.path.join(self.top, "lab.json"), json.dumps(manifest, indent=1) + "\n")

    def build(self):
        # Child zones first, so that MX hosts and TLSA records below a
        # child apex (e.g. mx.<insecure domain>) land in the child zone.
        for d in self.domains:
            self.add_child_zone(d, f"{d['name']}.test")
        self.build_mxhosts()
        self.mx_records()
        for i, d in enumerate(self.domains):
            self.build_domain(i, d)
        self.build_bulk()
        self.write_dns()
        self.write_nginx()
        self.write_postfix()
        self.write_fault()
        self.write_env()


def main():
    if len(sys.argv) != 3:
        die("usage: labgen.py SCENARIOS WORKDIR")
    Lab(sys.argv[1], os.path.abspath(sys.argv[2])).build()


if __name__ == "__main__":
    main()
