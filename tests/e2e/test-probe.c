/*
 * test-probe.c - end-to-end test of lib/io/probe.c against the lab: every
 * MX host over SMTP + STARTTLS and a few policy hosts over TLS, all at once
 * on one event loop, then what each result must say.
 *
 * usage: test-probe LAB_JSON
 *	LAB_JSON is the lab's resolved plan (<work dir>/lab.json): MX hosts and
 *	domains with their addresses, and the CA.  Runs inside the lab's
 *	namespace (the wrapper tests/e2e/test-probe puts it there).
 *
 * Prints "ok - ..." or "not ok - ..." per assertion, then "N passed, N
 * failed"; exits 0 only when none failed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <jansson.h>
#include <openssl/x509_vfy.h>

#include "probe.h"

#define PROBES_MAX 64
#define FAST_MS 1500		/* "fast" for a refused connection */

/* What a callback saw, copied: the result itself dies with the call. */
struct snapshot {
	enum probe_stage stage;
	bool timed_out;
	char error[256];
	char address[64];
	char greeting[256];
	bool starttls_offered;
	int starttls_reply;
	char tls_version[32];
	char cipher[64];
	bool has_certificate;
	char subject[256];
	char issuer[256];
	size_t name_count;
	char first_name[256];
	time_t not_before, not_after;
	long days_to_expiry;
	bool chain_valid;
	long verify_error;
	bool name_matches;
	bool self_signed;
};

enum kind {
	K_MX_GOOD, K_MX_PLAIN, K_MX_STRIPPED, K_MX_EXPIRED, K_MX_NOTYET,
	K_MX_WRONGNAME, K_MX_UNTRUSTED, K_MX_SELFSIGNED, K_MX_WILDCARD, K_MX_EXPIRING,
	K_MX_LATER, K_MX_SYSTEM_STORE,
	K_WEB_GOOD, K_WEB_TLS10, K_WEB_EXPIRED, K_WEB_SELFSIGNED,
	K_REFUSED, K_TLS_TO_SMTP, K_HANG_TLS, K_HANG_SMTP, K_SILENT, K_FAKE,
};

/* A scripted SMTP peer on 127.0.0.1.  It sends all its replies at once, so
 * the probe reads them as pipelined replies, and ignores what it gets. */
struct fake_script {
	const char *label;
	const char *replies;		/* NULL: long_line or many_lines */
	bool many_lines;
	bool close_after;		/* close once the replies are sent */
	enum probe_stage want_stage;
	const char *want_error;		/* a part of result.error */
	bool want_offered;
	int want_reply;
};


/* The lab's sound certificates end on 2036-01-01 (labgen.py GOOD_UNTIL),
 * or a year from when it came up once that is near. */
static long good_days_left(void)
{
	struct tm tm = { .tm_year = 2036 - 1900, .tm_mon = 0, .tm_mday = 1, .tm_hour = 12 };
	time_t until = timegm(&tm), now = time(NULL);

	return until - now > 30L * 86400 ? (long)((until - now) / 86400) : 365;
}

static char long_line[700], many_lines[1000];

static const struct fake_script scripts[] = {
	{ "554 greeting", "554 5.7.1 no thanks\r\n", false, false,
	  PROBE_STAGE_GREETING, "greeting: 554 5.7.1 no thanks", false, 0 },
	{ "multi-line greeting, STARTTLS refused",
	  "220-fake.test ESMTP\r\n220-more\r\n220 end\r\n"
	  "250-fake.test\r\n250-PIPELINING\r\n250 starttls\r\n"
	  "454 4.7.0 TLS not available\r\n", false, false,
	  PROBE_STAGE_STARTTLS, "454 4.7.0", true, 454 },
	{ "LF line endings", "220 ok\n250-x\n250 STARTTLS\n454 no\n", false, false,
	  PROBE_STAGE_STARTTLS, "454 no", true, 454 },
	{ "reply line of 600 octets", NULL, false, false,
	  PROBE_STAGE_GREETING, "longer than 512", false, 0 },
	{ "greeting of 102 lines", NULL, true, false,
	  PROBE_STAGE_GREETING, "longer than 100 lines", false, 0 },
	{ "STARTTLS in the first EHLO line and inside a keyword",
	  "220 ok\r\n250-STARTTLS\r\n250-XSTARTTLS\r\n250 8BITMIME\r\n", false, false,
	  PROBE_STAGE_STARTTLS, "not offered", false, 0 },
	{ "EHLO refused", "220 ok\r\n502 5.5.2 no EHLO here\r\n", false, false,
	  PROBE_STAGE_EHLO, "502 5.5.2", false, 0 },
	{ "codes differ within one reply", "220-ok\r\n250 odd\r\n", false, false,
	  PROBE_STAGE_GREETING, "another code than the first, after 220-ok", false, 0 },
	{ "not SMTP", "HTTP/1.1 400 Bad Request\r\n", false, false,
	  PROBE_STAGE_GREETING, "malformed", false, 0 },
	{ "closed after the greeting", "220 ok\r\n", false, true,
	  PROBE_STAGE_EHLO, "connection", false, 0 },
};

#define SCRIPT_COUNT (sizeof(scripts) / sizeof(scripts[0]))

static struct evconnlistener *listeners[SCRIPT_COUNT];

struct probe_case {
	char label[128];
	enum kind kind;
	char host[256];
	char address[64];
	char want_version[32];	/* TLS version to be negotiated, if known */
	const struct fake_script *script;
	bool ipv6;
	struct probe_request req;
	struct sockaddr_storage ss;
	struct timespec started;
	long elapsed_ms;
	int calls;
	bool sync_call;
	struct snapshot got;
};

static struct probe_case cases[PROBES_MAX];
static size_t case_count;
static size_t outstanding;
static bool starting;		/* inside probe_start */
static int passed, failed;
static const char *ca_file;
static time_t now;

static void check(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void check(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%s - ", ok ? "ok" : "not ok");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (ok)
		passed++;
	else
		failed++;
}

static long ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

static void copy(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src != NULL ? src : "");
}

static void take_snapshot(struct snapshot *s, const struct probe_result *r)
{
	const struct probe_certificate *c = &r->certificate;

	s->stage = r->stage;
	s->timed_out = r->timed_out;
	copy(s->error, sizeof(s->error), r->error);
	copy(s->address, sizeof(s->address), r->address);
	copy(s->greeting, sizeof(s->greeting), r->greeting);
	s->starttls_offered = r->starttls_offered;
	s->starttls_reply = r->starttls_reply;
	copy(s->tls_version, sizeof(s->tls_version), r->tls_version);
	copy(s->cipher, sizeof(s->cipher), r->cipher);
	s->has_certificate = r->has_certificate;
	copy(s->subject, sizeof(s->subject), c->subject);
	copy(s->issuer, sizeof(s->issuer), c->issuer);
	s->name_count = c->name_count;
	copy(s->first_name, sizeof(s->first_name), c->name_count > 0 ? c->names[0] : NULL);
	s->not_before = c->not_before;
	s->not_after = c->not_after;
	s->days_to_expiry = c->days_to_expiry;
	s->chain_valid = c->chain_valid;
	s->verify_error = c->verify_error;
	s->name_matches = c->name_matches;
	s->self_signed = c->self_signed;
}

static void free_listeners(void)
{
	size_t i;

	for (i = 0; i < SCRIPT_COUNT; i++) {
		if (listeners[i] != NULL)
			evconnlistener_free(listeners[i]);
		listeners[i] = NULL;
	}
}

static void on_done(void *arg, const struct probe_result *result)
{
	struct probe_case *pc = arg;

	pc->calls++;
	if (starting)
		pc->sync_call = true;
	pc->elapsed_ms = ms_since(&pc->started);
	if (pc->calls == 1) {
		take_snapshot(&pc->got, result);
		if (--outstanding == 0)
			free_listeners();
	}
}

static bool parse_address(const char *text, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, text, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, text, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		return true;
	}
	return false;
}

static struct probe_case *add_case(enum kind kind, const char *label, const char *host,
				   const char *address, uint16_t port, bool smtp,
				   unsigned timeout_ms)
{
	struct probe_case *pc;

	if (address == NULL || case_count == PROBES_MAX) {
		check(false, "%s: an address in lab.json", label);
		return NULL;
	}
	pc = &cases[case_count];
	memset(pc, 0, sizeof(*pc));
	if (!parse_address(address, &pc->ss)) {
		check(false, "%s: address %s parses", label, address);
		return NULL;
	}
	case_count++;
	pc->kind = kind;
	copy(pc->label, sizeof(pc->label), label);
	copy(pc->host, sizeof(pc->host), host);
	copy(pc->address, sizeof(pc->address), address);
	pc->ipv6 = pc->ss.ss_family == AF_INET6;
	pc->req.address = &pc->ss;
	pc->req.port = port;
	pc->req.smtp = smtp;
	pc->req.server_name = pc->host;
	pc->req.ca_file = ca_file;
	pc->req.helo_name = "probe.mtasts.invalid";
	pc->req.timeout_ms = timeout_ms;
	return pc;
}

static const char *json_str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

static void add_mx_cases(const json_t *mxhosts)
{
	static const struct { const char *tls; enum kind kind; } kinds[] = {
		{ "good", K_MX_GOOD }, { "none", K_MX_PLAIN },
		{ "expired", K_MX_EXPIRED }, { "not-yet-valid", K_MX_NOTYET },
		{ "wrong-name", K_MX_WRONGNAME }, { "untrusted", K_MX_UNTRUSTED },
		{ "self-signed", K_MX_SELFSIGNED }, { "wildcard", K_MX_WILDCARD },
		{ "expiring", K_MX_EXPIRING },
	};
	const json_t *mx;
	size_t i, k;

	json_array_foreach(mxhosts, i, mx) {
		const char *name = json_str(mx, "name"), *tls = json_str(mx, "tls");
		const char *via = json_str(mx, "via");
		const char *addr = json_str(mx, "ipv4") ? json_str(mx, "ipv4") : json_str(mx, "ipv6");
		enum kind kind = K_MX_GOOD;
		char label[128];

		/* Listeners with settings of their own are for mtasts check. */
		if (json_array_size(json_object_get(mx, "postfix")) > 0)
			continue;
		if (name == NULL || tls == NULL)
			continue;
		for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
			if (strcmp(tls, kinds[k].tls) == 0)
				kind = kinds[k].kind;
		if (via != NULL && strcmp(via, "stripd") == 0)
			kind = K_MX_STRIPPED;
		snprintf(label, sizeof(label), "mx %s [%s]", name, addr ? addr : "?");
		add_case(kind, label, name, addr, 25, true, 5000);
	}
}

static const json_t *find_by_name(const json_t *array, const char *name)
{
	const json_t *e;
	size_t i;

	json_array_foreach(array, i, e) {
		const char *n = json_str(e, "name");

		if (n != NULL && strcmp(n, name) == 0)
			return e;
	}
	return NULL;
}

static void add_web_case(const json_t *domains, const char *name, enum kind kind)
{
	const json_t *d = find_by_name(domains, name), *host;
	const char *addr, *protocols;
	struct probe_case *pc;
	char label[128];

	if (d == NULL) {
		check(false, "lab.json has domain %s", name);
		return;
	}
	host = json_object_get(d, "host");
	addr = json_str(host, "ipv4") ? json_str(host, "ipv4") : json_str(host, "ipv6");
	snprintf(label, sizeof(label), "policy host %s [%s]", json_str(d, "policy_host"),
		 addr ? addr : "?");
	pc = add_case(kind, label, json_str(d, "policy_host"), addr, 443, false, 5000);
	/* nginx's ssl_protocols lists them in order: the last is the best. */
	protocols = json_str(host, "tls_protocols");
	if (pc != NULL && protocols != NULL) {
		const char *last = strrchr(protocols, ' ');

		copy(pc->want_version, sizeof(pc->want_version), last ? last + 1 : protocols);
	}
}

static void fake_read(struct bufferevent *bev, void *arg)
{
	struct evbuffer *in = bufferevent_get_input(bev);

	evbuffer_drain(in, evbuffer_get_length(in));
}

static void fake_written(struct bufferevent *bev, void *arg)
{
	bufferevent_free(bev);
}

static void fake_event(struct bufferevent *bev, short what, void *arg)
{
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		bufferevent_free(bev);
}

static void fake_accept(struct evconnlistener *l, evutil_socket_t fd,
			struct sockaddr *sa, int len, void *arg)
{
	const struct fake_script *sc = arg;
	struct bufferevent *bev;
	const char *text = sc->replies;

	if (text == NULL)
		text = sc->many_lines ? many_lines : long_line;
	bev = bufferevent_socket_new(evconnlistener_get_base(l), fd, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		evutil_closesocket(fd);
		return;
	}
	bufferevent_setcb(bev, fake_read, sc->close_after ? fake_written : NULL, fake_event,
			  NULL);
	bufferevent_write(bev, text, strlen(text));
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

static void make_texts(void)
{
	size_t pos, i;

	memcpy(long_line, "220 ", 4);
	memset(long_line + 4, 'a', 600);
	memcpy(long_line + 604, "\r\n", 3);
	pos = 0;
	for (i = 0; i < 101; i++)
		pos += (size_t)snprintf(many_lines + pos, sizeof(many_lines) - pos, "220-x\r\n");
	snprintf(many_lines + pos, sizeof(many_lines) - pos, "220 end\r\n");
}

/* One listener per script on 127.0.0.1, each on a port of its own. */
static void add_fake_cases(struct event_base *base)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len;
	size_t i;

	make_texts();
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (i = 0; i < SCRIPT_COUNT; i++) {
		struct probe_case *pc;
		char label[128];

		sin.sin_port = 0;
		listeners[i] = evconnlistener_new_bind(base, fake_accept, (void *)&scripts[i],
						       LEV_OPT_CLOSE_ON_FREE, 16,
						       (struct sockaddr *)&sin, sizeof(sin));
		len = sizeof(sin);
		if (listeners[i] == NULL ||
		    getsockname(evconnlistener_get_fd(listeners[i]), (struct sockaddr *)&sin,
				&len) != 0) {
			check(false, "fake SMTP server for %s", scripts[i].label);
			continue;
		}
		snprintf(label, sizeof(label), "fake SMTP: %s", scripts[i].label);
		pc = add_case(K_FAKE, label, "fake.test", "127.0.0.1", ntohs(sin.sin_port),
			      true, 3000);
		if (pc != NULL)
			pc->script = &scripts[i];
	}
}

static void expect_fake(const struct probe_case *pc)
{
	const struct fake_script *sc = pc->script;
	const struct snapshot *g = &pc->got;

	if (pc->kind != K_FAKE)
		return;
	check(g->stage == sc->want_stage && !g->timed_out && !g->has_certificate,
	      "%s: stage %d (got %d%s)", pc->label, sc->want_stage, g->stage,
	      g->timed_out ? ", timed out" : "");
	check(strstr(g->error, sc->want_error) != NULL, "%s: error says \"%s\" (%s)",
	      pc->label, sc->want_error, g->error);
	check(g->starttls_offered == sc->want_offered && g->starttls_reply == sc->want_reply,
	      "%s: STARTTLS offered %d, reply %d (got %d, %d)", pc->label, sc->want_offered,
	      sc->want_reply, g->starttls_offered, g->starttls_reply);
}

/* Cases that are not one lab host each: injected time, other trust store,
 * refused and hanging peers. */
static void add_special_cases(const json_t *lab, const json_t *mxhosts)
{
	const json_t *mx1 = find_by_name(mxhosts, "mx1.mail.test");
	const json_t *fault = json_object_get(lab, "fault");
	const json_t *refused = find_by_name(json_object_get(lab, "domains"), "host-refused");
	const char *mx1_addr = json_str(mx1, "ipv4");
	const char *hang = json_str(fault, "hang"), *silent = json_str(fault, "silent");
	struct probe_case *pc;

	pc = add_case(K_MX_LATER, "mx mx1.mail.test 35 days after its end", "mx1.mail.test",
		      mx1_addr, 25, true, 5000);
	if (pc != NULL)
		pc->req.now = now + (good_days_left() + 35) * 86400L;
	pc = add_case(K_MX_SYSTEM_STORE, "mx mx1.mail.test with the system trust store",
		      "mx1.mail.test", mx1_addr, 25, true, 5000);
	if (pc != NULL)
		pc->req.ca_file = NULL;
	add_case(K_REFUSED, "nothing listening (host-refused:443)", "mta-sts.host-refused.test",
		 json_str(json_object_get(refused, "host"), "ipv4"), 443, false, 5000);
	add_case(K_TLS_TO_SMTP, "TLS at once to an SMTP port", "mx1.mail.test", mx1_addr,
		 25, false, 3000);
	add_case(K_HANG_TLS, "faultd hang over TLS", "mta-sts.host-timeout.test", hang,
		 443, false, 1000);
	add_case(K_HANG_SMTP, "faultd hang spoken to as SMTP", "mta-sts.host-timeout.test",
		 hang, 443, true, 800);
	add_case(K_SILENT, "faultd silent over TLS", "mta-sts.host-silent.test", silent,
		 443, false, 800);
}

static void expect_done(const struct probe_case *pc, bool smtp)
{
	const struct snapshot *g = &pc->got;

	check(g->stage == PROBE_STAGE_DONE && !g->timed_out,
	      "%s: handshake done (stage %d, %s)", pc->label, g->stage, g->error);
	check(g->has_certificate && g->tls_version[0] != '\0' && g->cipher[0] != '\0',
	      "%s: certificate, version and cipher (%s, %s)", pc->label, g->tls_version,
	      g->cipher);
	check(g->subject[0] != '\0' && g->issuer[0] != '\0' && g->name_count > 0,
	      "%s: subject, issuer, names (%s; %s; %zu names, first %s)", pc->label,
	      g->subject, g->issuer, g->name_count, g->first_name);
	check(g->not_before != 0 && g->not_before < g->not_after,
	      "%s: validity dates read", pc->label);
	if (smtp)
		check(g->starttls_offered && g->starttls_reply == 220 &&
		      strncmp(g->greeting, "220", 3) == 0,
		      "%s: greeting, STARTTLS offered, reply 220 (%s)", pc->label, g->greeting);
}

static void expect_valid(const struct probe_case *pc)
{
	const struct snapshot *g = &pc->got;

	check(g->chain_valid && g->verify_error == X509_V_OK && g->name_matches &&
	      !g->self_signed, "%s: chain valid, name matches (%ld %s)", pc->label,
	      g->verify_error, g->chain_valid ? "" : "invalid");
	check(labs(g->days_to_expiry - good_days_left()) <= 1,
	      "%s: ends when the lab's sound certificates end (%ld days, %ld expected)",
	      pc->label, g->days_to_expiry, good_days_left());
}

static void expect_verify_error(const struct probe_case *pc, long want, const char *want_name)
{
	const struct snapshot *g = &pc->got;

	check(!g->chain_valid && g->verify_error == want,
	      "%s: verify error %s (got %ld)", pc->label, want_name, g->verify_error);
}

static void expect_no_starttls(const struct probe_case *pc)
{
	const struct snapshot *g = &pc->got;

	check(g->stage == PROBE_STAGE_STARTTLS && !g->starttls_offered &&
	      g->starttls_reply == 0 && !g->timed_out && !g->has_certificate &&
	      g->tls_version[0] == '\0',
	      "%s: STARTTLS not offered (stage %d, %s)", pc->label, g->stage, g->error);
	check(strncmp(g->greeting, "220", 3) == 0, "%s: greeting read (%s)", pc->label,
	      g->greeting);
}

static void expect_mx(const struct probe_case *pc)
{
	const struct snapshot *g = &pc->got;

	switch (pc->kind) {
	case K_MX_GOOD:
		expect_done(pc, true);
		expect_valid(pc);
		if (pc->ipv6)
			check(strchr(g->address, ':') != NULL && strcmp(g->address, pc->address) == 0,
			      "%s: probed over IPv6 (%s)", pc->label, g->address);
		break;
	case K_MX_EXPIRING:
		/* valid now, but the lab made it to end within a week */
		expect_done(pc, true);
		check(g->chain_valid && g->name_matches && g->days_to_expiry >= 0 &&
		      g->days_to_expiry < 7, "%s: valid, expiring in %ld days", pc->label,
		      g->days_to_expiry);
		break;
	case K_MX_WILDCARD:
		expect_done(pc, true);
		expect_valid(pc);
		check(strncmp(g->first_name, "*.", 2) == 0, "%s: wildcard name %s", pc->label,
		      g->first_name);
		break;
	case K_MX_PLAIN:
	case K_MX_STRIPPED:
		expect_no_starttls(pc);
		break;
	case K_MX_EXPIRED:
		expect_done(pc, true);
		expect_verify_error(pc, X509_V_ERR_CERT_HAS_EXPIRED, "CERT_HAS_EXPIRED");
		check(g->days_to_expiry < 0, "%s: negative days to expiry (%ld)", pc->label,
		      g->days_to_expiry);
		break;
	case K_MX_NOTYET:
		expect_done(pc, true);
		expect_verify_error(pc, X509_V_ERR_CERT_NOT_YET_VALID, "CERT_NOT_YET_VALID");
		check(g->not_before > now, "%s: not before is ahead", pc->label);
		break;
	case K_MX_WRONGNAME:
		expect_done(pc, true);
		check(g->chain_valid && !g->name_matches,
		      "%s: chain valid, name does not match (first name %s)", pc->label,
		      g->first_name);
		break;
	case K_MX_UNTRUSTED:
		expect_done(pc, true);
		check(!g->chain_valid && !g->self_signed &&
		      (g->verify_error == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
		       g->verify_error == X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE),
		      "%s: chain not valid, issuer unknown (%ld)", pc->label, g->verify_error);
		break;
	case K_MX_SELFSIGNED:
		expect_done(pc, true);
		check(g->self_signed && g->name_matches, "%s: self-signed", pc->label);
		expect_verify_error(pc, X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT,
				    "DEPTH_ZERO_SELF_SIGNED_CERT");
		break;
	default:
		break;
	}
}

static void expect_special(const struct probe_case *pc)
{
	const struct snapshot *g = &pc->got;

	switch (pc->kind) {
	case K_MX_LATER:
		expect_done(pc, true);
		expect_verify_error(pc, X509_V_ERR_CERT_HAS_EXPIRED, "CERT_HAS_EXPIRED after its end");
		check(g->days_to_expiry < 0 && g->days_to_expiry >= -40,
		      "%s: days to expiry from the injected time (%ld)", pc->label,
		      g->days_to_expiry);
		break;
	case K_MX_SYSTEM_STORE:
		expect_done(pc, true);
		check(!g->chain_valid && g->name_matches && g->verify_error != X509_V_OK,
		      "%s: lab CA not trusted (%ld)", pc->label, g->verify_error);
		break;
	case K_REFUSED:
		check(g->stage == PROBE_STAGE_CONNECT && !g->timed_out && g->error[0] != '\0',
		      "%s: stage connect (%s)", pc->label, g->error);
		check(pc->elapsed_ms < FAST_MS, "%s: fast (%ld ms)", pc->label, pc->elapsed_ms);
		break;
	case K_TLS_TO_SMTP:
		check(g->stage == PROBE_STAGE_HANDSHAKE && !g->timed_out &&
		      strstr(g->error, "TLS handshake failed") != NULL && !g->has_certificate,
		      "%s: handshake fails (%s)", pc->label, g->error);
		break;
	case K_HANG_TLS:
		/* faultd's hang mode completes the handshake before it hangs. */
		check(g->stage == PROBE_STAGE_DONE && g->chain_valid && g->name_matches,
		      "%s: handshake done, then nothing (stage %d, %s)", pc->label, g->stage,
		      g->error);
		break;
	case K_HANG_SMTP:
		check(g->timed_out && g->stage == PROBE_STAGE_GREETING,
		      "%s: timed out waiting for the greeting (stage %d, %s)", pc->label,
		      g->stage, g->error);
		check(pc->elapsed_ms >= 750 && pc->elapsed_ms < 2000,
		      "%s: after the time limit (%ld ms)", pc->label, pc->elapsed_ms);
		break;
	case K_SILENT:
		check(g->timed_out && g->stage == PROBE_STAGE_HANDSHAKE && !g->has_certificate,
		      "%s: timed out in the handshake (stage %d, %s)", pc->label, g->stage,
		      g->error);
		break;
	default:
		break;
	}
}

static void expect_web(const struct probe_case *pc)
{
	const struct snapshot *g = &pc->got;

	switch (pc->kind) {
	case K_WEB_GOOD:
		expect_done(pc, false);
		expect_valid(pc);
		check(g->greeting[0] == '\0' && g->starttls_reply == 0,
		      "%s: no SMTP spoken", pc->label);
		if (pc->ipv6)
			check(strcmp(g->address, pc->address) == 0, "%s: probed over IPv6 (%s)",
			      pc->label, g->address);
		break;
	case K_WEB_TLS10:
		expect_done(pc, false);
		check(strcmp(g->tls_version, pc->want_version) == 0 &&
		      strncmp(pc->want_version, "TLSv1.2", 7) != 0 &&
		      strncmp(pc->want_version, "TLSv1.3", 7) != 0,
		      "%s: the host's best old version negotiated (%s, want %s)", pc->label,
		      g->tls_version, pc->want_version);
		check(g->chain_valid && g->name_matches, "%s: certificate still judged",
		      pc->label);
		break;
	case K_WEB_EXPIRED:
		expect_done(pc, false);
		expect_verify_error(pc, X509_V_ERR_CERT_HAS_EXPIRED, "CERT_HAS_EXPIRED");
		break;
	case K_WEB_SELFSIGNED:
		expect_done(pc, false);
		check(g->self_signed && !g->chain_valid, "%s: self-signed", pc->label);
		break;
	default:
		break;
	}
}

static void never_called(void *arg, const struct probe_result *result)
{
	check(false, "a probe that did not start called back");
}

static void check_starts(struct event_base *base)
{
	struct sockaddr_storage unix_ss = { .ss_family = AF_UNIX };
	struct probe_request req = { .port = 25, .smtp = true, .server_name = "x.test" };
	check(probe_start(base, &req, NULL, NULL) == -EINVAL, "no callback: -EINVAL");
	check(probe_start(base, &req, never_called, NULL) == -EINVAL,
	      "no address: -EINVAL");
	req.address = &unix_ss;
	check(probe_start(base, &req, never_called, NULL) ==
	      -EAFNOSUPPORT, "AF_UNIX: -EAFNOSUPPORT");
	req.address = &cases[0].ss;
	req.ca_file = "/nonexistent/ca.pem";
	check(probe_start(base, &req, never_called, NULL) == -ENOENT,
	      "missing CA file: -ENOENT");
	req.ca_file = NULL;
	req.helo_name = "bad\r\nMAIL FROM:<>";
	check(probe_start(base, &req, never_called, NULL) == -EINVAL,
	      "HELO name with CRLF: -EINVAL");
}

static void run(struct event_base *base)
{
	struct timespec t0;
	size_t i;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < case_count; i++) {
		clock_gettime(CLOCK_MONOTONIC, &cases[i].started);
		starting = true;
		rc = probe_start(base, &cases[i].req, on_done, &cases[i]);
		starting = false;
		if (rc != 0)
			check(false, "%s: probe_start (%s)", cases[i].label, strerror(-rc));
		else
			outstanding++;
	}
	if (outstanding == 0)
		free_listeners();
	event_base_dispatch(base);
	check(outstanding == 0, "every probe reported (%zu left) in %ld ms", outstanding,
	      ms_since(&t0));
}

static void check_all(void)
{
	size_t i;

	for (i = 0; i < case_count; i++) {
		const struct probe_case *pc = &cases[i];

		check(pc->calls == 1 && !pc->sync_call, "%s: one callback, from the loop (%d)",
		      pc->label, pc->calls);
		if (pc->calls == 0)
			continue;
		check(strcmp(pc->got.address, pc->address) == 0, "%s: address text %s",
		      pc->label, pc->got.address);
		expect_mx(pc);
		expect_web(pc);
		expect_special(pc);
		expect_fake(pc);
	}
}

int main(int argc, char **argv)
{
	struct event_base *base;
	json_error_t jerr;
	json_t *lab;

	if (argc != 2) {
		fprintf(stderr, "usage: test-probe LAB_JSON\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	lab = json_load_file(argv[1], 0, &jerr);
	if (lab == NULL) {
		printf("not ok - read %s: %s\n0 passed, 1 failed\n", argv[1], jerr.text);
		return 1;
	}
	ca_file = json_str(lab, "ca");
	now = time(NULL);
	base = event_base_new();
	add_mx_cases(json_object_get(lab, "mxhosts"));
	add_web_case(json_object_get(lab, "domains"), "good-enforce", K_WEB_GOOD);
	add_web_case(json_object_get(lab, "domains"), "policy-ipv6-only", K_WEB_GOOD);
	add_web_case(json_object_get(lab, "domains"), "tls10-only", K_WEB_TLS10);
	add_web_case(json_object_get(lab, "domains"), "cert-expired", K_WEB_EXPIRED);
	add_web_case(json_object_get(lab, "domains"), "cert-self-signed", K_WEB_SELFSIGNED);
	add_special_cases(lab, json_object_get(lab, "mxhosts"));
	add_fake_cases(base);
	if (case_count > 0)
		check_starts(base);
	run(base);
	check_all();
	event_base_free(base);
	json_decref(lab);
	printf("%d passed, %d failed\n", passed, failed);
	return failed == 0 ? 0 : 1;
}
