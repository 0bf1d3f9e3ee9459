/*
 * test_socketmap.c - the Postfix socketmap protocol: netstrings, requests,
 * next-hop keys and TLS policy replies, table-driven.  Each OK reply is
 * also read back the way Postfix's smtp_tls_policy.c tokenizes it.
 */
#include <stdlib.h>

#include "unit.h"

#include <mtasts/mx.h>
#include <mtasts/policy.h>
#include <mtasts/socketmap.h>

/* ---- netstrings ---- */

#define PAYLOADS_MAX 4

struct read_case {
	const char *input;
	size_t len;		/* 0: strlen(input) */
	size_t max;		/* the reader's limit */
	int status;		/* after the whole input */
	size_t offset;		/* of the offending octet, on error */
	const char *payloads[PAYLOADS_MAX];	/* in order, NULL-ended */
};

#define NS_OK(in, ...) { (in), 0, 64, MTASTS_NETSTRING_DONE, 0, { __VA_ARGS__, NULL } }
#define NS_MORE(in, ...) { (in), 0, 64, MTASTS_NETSTRING_MORE, 0, { __VA_ARGS__ } }
#define NS_ERR(in, max, st, off) { (in), 0, (max), MTASTS_NETSTRING_##st, (off), { NULL } }

static const struct read_case read_cases[] = {
	/* one netstring, and the empty one */
	NS_OK("5:hello,", "hello"),
	NS_OK("0:,", ""),
	/* two in a row, as a client with a kept-open connection sends them */
	NS_OK("5:hello,3:abc,", "hello", "abc"),
	NS_OK("1:a,0:,12:hello world!,", "a", "", "hello world!"),
	/* the data may hold any octet, ":" and "," too */
	NS_OK("3:a,b,", "a,b"),
	NS_OK("4:1:a,,", "1:a,"),
	/* incomplete: length, colon, data, comma missing */
	NS_MORE("", NULL),
	NS_MORE("5", NULL),
	NS_MORE("5:", NULL),
	NS_MORE("5:hel", NULL),
	NS_MORE("5:hello", NULL),
	/* one done, the next begun */
	NS_MORE("5:hello,3:ab", "hello", NULL),
	/* exactly the limit, and one more */
	{ "10:0123456789,", 0, 10, MTASTS_NETSTRING_DONE, 0, { "0123456789", NULL } },
	NS_ERR("11:0123456789a,", 10, TOO_LONG, 1),
	/* refused at the digit that passes the limit, not at the colon */
	NS_ERR("100000000000000000000000000000:", 64, TOO_LONG, 2),
	/* digits past size_t are no overflow */
	NS_ERR("99999999999999999999999999999999:", (size_t)-2, TOO_LONG, 19),
	/* leading zeros (djb: "0" starts only the empty string) */
	NS_ERR("05:hello,", 64, LEADING_ZERO, 1),
	NS_ERR("00:,", 64, LEADING_ZERO, 1),
	/* no length */
	NS_ERR(":,", 64, NOT_DIGIT, 0),
	NS_ERR("x5:hello,", 64, NOT_DIGIT, 0),
	NS_ERR(" 5:hello,", 64, NOT_DIGIT, 0),
	NS_ERR("-1:a,", 64, NOT_DIGIT, 0),
	NS_ERR("+1:a,", 64, NOT_DIGIT, 0),
	/* something else than ":" after the digits */
	NS_ERR("5x:hello,", 64, NO_COLON, 1),
	NS_ERR("5 :hello,", 64, NO_COLON, 1),
	NS_ERR("5,hello,", 64, NO_COLON, 1),
	/* the data not followed by "," */
	NS_ERR("5:hello;", 64, NO_COMMA, 7),
	NS_ERR("5:hello!,", 64, NO_COMMA, 7),
	NS_ERR("0:x", 64, NO_COMMA, 2),
	/* the second of two is broken: the first still comes out */
	{ "1:a,1:bc,", 0, 64, MTASTS_NETSTRING_NO_COMMA, 7, { "a", NULL } },
	/* a NUL inside the data */
	{ "3:a\0b,", 6, 64, MTASTS_NETSTRING_DONE, 0, { "a\0b", NULL } },
};

/* The input in chunks of `chunk` octets; the outcome must not depend on it. */
static bool run_read(const struct read_case *c, size_t chunk)
{
	size_t len = c->len > 0 ? c->len : strlen(c->input);
	char *buf = malloc(c->max + 1 > 100 ? 100 : c->max + 1);
	struct mtasts_netstring_reader r;
	size_t pos = 0, n = 0, used;
	struct mtasts_bytes payload;
	int rc = MTASTS_NETSTRING_MORE;
	bool ok = false;

	mtasts_netstring_reader_init(&r, buf, c->max + 1 > 100 ? 100 : c->max + 1);
	r.max = c->max;		/* a limit larger than the buffer: the digits never get there */
	while (pos < len || rc == MTASTS_NETSTRING_DONE) {
		size_t take = len - pos < chunk ? len - pos : chunk;

		rc = mtasts_netstring_read(&r, c->input + pos, take, &used, &payload);
		if (rc < 0) {
			if (pos + used != c->offset) {
				print_error("  error at %zu, expected %zu\n", pos + used,
					    c->offset);
				goto out;
			}
			break;
		}
		if (used > take)
			goto out;
		pos += used;
		if (rc == MTASTS_NETSTRING_DONE) {
			const char *want = c->payloads[n];

			if (n >= PAYLOADS_MAX || want == NULL ||
			    payload.len != (c->len > 0 ? 3 : strlen(want)) ||
			    memcmp(payload.data, want, payload.len) != 0 ||
			    payload.data[payload.len] != '\0') {
				print_error("  payload %zu is wrong\n", n);
				goto out;
			}
			n++;
			if (pos == len)
				break;
		}
	}
	if (rc != c->status || c->payloads[n] != NULL) {
		print_error("  status %d (%s), %zu payloads\n", rc,
			    mtasts_netstring_status_message(rc), n);
		goto out;
	}
	/* An error stays. */
	if (rc < 0 && (mtasts_netstring_read(&r, "1:a,", 4, &used, &payload) != rc ||
		       used != 0))
		goto out;
	ok = true;
out:
	free(buf);
	return ok;
}

static void test_netstring_read(void **state)
{
	static const size_t chunks[] = { 1, 2, 3, 7, 1000 };
	size_t failed = 0;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(read_cases); i++)
		for (size_t j = 0; j < ARRAY_LEN(chunks); j++)
			if (!run_read(&read_cases[i], chunks[j])) {
				print_error("FAILED %s in chunks of %zu\n",
					    escape(read_cases[i].input,
						   strlen(read_cases[i].input)),
					    chunks[j]);
				failed++;
			}
	assert_int_equal(failed, 0);
}

static void test_netstring_messages(void **state)
{
	(void)state;
	for (int s = MTASTS_NETSTRING_ARGUMENT; s <= MTASTS_NETSTRING_MORE; s++)
		assert_string_not_equal(mtasts_netstring_status_message(s),
					"unknown netstring status");
	assert_string_equal(mtasts_netstring_status_message(42),
			    "unknown netstring status");
}

struct write_case {
	const char *data;
	size_t out_size;
	const char *want;	/* NULL: too large */
};

static const struct write_case write_cases[] = {
	{ "hello", 9, "5:hello," },
	{ "hello", 8, NULL },		/* no room for the NUL */
	{ "", 4, "0:," },
	{ "", 3, NULL },
	{ "NOTFOUND ", 64, "9:NOTFOUND ," },
	{ "0123456789", 15, "10:0123456789," },
	{ "0123456789", 14, NULL },
	{ "x", 0, NULL },
};

static void test_netstring_write(void **state)
{
	char out[64];
	size_t len, failed = 0;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(write_cases); i++) {
		const struct write_case *c = &write_cases[i];
		int rc = mtasts_netstring_write(c->data, strlen(c->data), out,
						c->out_size, &len);

		if (c->want == NULL ? rc != MTASTS_ERR_TOO_LARGE :
		    rc != MTASTS_OK || len != strlen(c->want) ||
		    strcmp(out, c->want) != 0) {
			print_error("FAILED write %s into %zu: %d\n", c->data,
				    c->out_size, rc);
			failed++;
		}
	}
	assert_int_equal(failed, 0);
	assert_int_equal(mtasts_netstring_write(NULL, 1, out, sizeof(out), &len),
			 MTASTS_ERR_ARGUMENT);
	assert_int_equal(mtasts_netstring_write("a", 1, NULL, 9, &len),
			 MTASTS_ERR_ARGUMENT);
}

/* What the writer writes, the reader reads back. */
static void test_netstring_round_trip(void **state)
{
	static char data[MTASTS_SOCKETMAP_REPLY_MAX];
	static char wire[MTASTS_SOCKETMAP_REPLY_MAX + MTASTS_NETSTRING_OVERHEAD + 1];
	static char buf[MTASTS_SOCKETMAP_REPLY_MAX + 1];
	struct mtasts_netstring_reader r;
	struct mtasts_bytes payload;
	size_t len, used;

	(void)state;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (char)(i * 7);
	assert_int_equal(mtasts_netstring_write(data, sizeof(data), wire, sizeof(wire),
						&len), MTASTS_OK);
	assert_int_equal(len, sizeof(data) + 8);
	mtasts_netstring_reader_init(&r, buf, sizeof(buf));
	assert_int_equal(mtasts_netstring_read(&r, wire, len, &used, &payload),
			 MTASTS_NETSTRING_DONE);
	assert_int_equal(used, len);
	assert_int_equal(payload.len, sizeof(data));
	assert_memory_equal(payload.data, data, sizeof(data));
	/* one octet less room and the reader refuses it */
	mtasts_netstring_reader_init(&r, buf, sizeof(buf) - 1);
	assert_int_equal(mtasts_netstring_read(&r, wire, len, &used, &payload),
			 MTASTS_NETSTRING_TOO_LONG);
	/* a buffer smaller than one digit's worth: the length is refused
	 * before any octet is stored (no wrap-around in the bound) */
	{
		char tiny[5];

		mtasts_netstring_reader_init(&r, tiny, sizeof(tiny));
		assert_int_equal(mtasts_netstring_read(&r, "9:abcdefghi,", 12, &used,
						       &payload), MTASTS_NETSTRING_TOO_LONG);
	}
	/* a reader without a buffer refuses everything */
	mtasts_netstring_reader_init(&r, NULL, 0);
	assert_int_equal(mtasts_netstring_read(&r, "0:,", 3, &used, &payload),
			 MTASTS_NETSTRING_ARGUMENT);
}

/* ---- requests ---- */

struct request_case {
	const char *payload;
	size_t len;		/* 0: strlen */
	const char *name;	/* NULL: refused */
	const char *key;
};

static const struct request_case request_cases[] = {
	{ "mtasts example.com", 0, "mtasts", "example.com" },
	{ "postfix [192.0.2.1]:25", 0, "postfix", "[192.0.2.1]:25" },
	/* the name is what follows the last ":" of the table: anything visible */
	{ "zone-1.a_b/c example.com", 0, "zone-1.a_b/c", "example.com" },
	/* the first space splits; the rest is the key, judged later */
	{ "m example.com x", 0, "m", "example.com x" },
	{ "m  example.com", 0, NULL, NULL },
	{ "mtasts", 0, NULL, NULL },
	{ "", 0, NULL, NULL },
	{ " example.com", 0, NULL, NULL },
	{ "mtasts ", 0, NULL, NULL },
	{ "mta:sts example.com", 0, NULL, NULL },
	{ "mt\x01" "as example.com", 0, NULL, NULL },
	{ "mt\xc3\xa4s example.com", 0, NULL, NULL },
	{ "m\texample.com", 0, NULL, NULL },
	{ "m exa\0mple.com", 14, NULL, NULL },
};

static void test_request_parse(void **state)
{
	struct mtasts_socketmap_request req;
	size_t failed = 0;
	char why[128];

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(request_cases); i++) {
		const struct request_case *c = &request_cases[i];
		size_t len = c->len > 0 ? c->len : strlen(c->payload);
		int rc;

		memset(&req, 0x5a, sizeof(req));
		why[0] = '\0';
		rc = mtasts_socketmap_request_parse(c->payload, len, &req, why, sizeof(why));
		if (c->name == NULL ? rc != MTASTS_ERR_INVALID || why[0] == '\0' ||
		    req.name.len != 0x5a5a5a5a5a5a5a5a :
		    rc != MTASTS_OK || req.name.len != strlen(c->name) ||
		    memcmp(req.name.data, c->name, req.name.len) != 0 ||
		    req.key.len != strlen(c->key) ||
		    memcmp(req.key.data, c->key, req.key.len) != 0) {
			print_error("FAILED %s: %d %s\n", escape(c->payload, len), rc, why);
			failed++;
		}
	}
	assert_int_equal(failed, 0);
}

/* The name and key limits, to the octet. */
static void test_request_limits(void **state)
{
	static char payload[MTASTS_SOCKETMAP_REQUEST_MAX + 2];
	struct mtasts_socketmap_request req;

	(void)state;
	memset(payload, 'n', MTASTS_SOCKETMAP_NAME_MAX);
	payload[MTASTS_SOCKETMAP_NAME_MAX] = ' ';
	memset(payload + MTASTS_SOCKETMAP_NAME_MAX + 1, 'k', MTASTS_SOCKETMAP_QUERY_MAX + 1);
	assert_int_equal(mtasts_socketmap_request_parse(payload,
			 MTASTS_SOCKETMAP_REQUEST_MAX, &req, NULL, 0), MTASTS_OK);
	assert_int_equal(req.key.len, MTASTS_SOCKETMAP_QUERY_MAX);
	assert_int_equal(mtasts_socketmap_request_parse(payload,
			 MTASTS_SOCKETMAP_REQUEST_MAX + 1, &req, NULL, 0),
			 MTASTS_ERR_INVALID);
	memset(payload, 'n', MTASTS_SOCKETMAP_NAME_MAX + 1);
	payload[MTASTS_SOCKETMAP_NAME_MAX + 1] = ' ';
	assert_int_equal(mtasts_socketmap_request_parse(payload,
			 MTASTS_SOCKETMAP_NAME_MAX + 3, &req, NULL, 0),
			 MTASTS_ERR_INVALID);
	assert_int_equal(mtasts_socketmap_request_parse(NULL, 1, &req, NULL, 0),
			 MTASTS_ERR_ARGUMENT);
	assert_int_equal(mtasts_socketmap_request_parse("a b", 3, NULL, NULL, 0),
			 MTASTS_ERR_ARGUMENT);
}

/* ---- keys ---- */

struct key_case {
	const char *key;
	enum mtasts_socketmap_key_kind kind;
	const char *out;	/* DOMAIN and NEEDS_IDNA */
};

#define DOMAIN MTASTS_SOCKETMAP_KEY_DOMAIN
#define IDNA MTASTS_SOCKETMAP_KEY_NEEDS_IDNA
#define NA MTASTS_SOCKETMAP_KEY_NOT_APPLICABLE
#define BAD MTASTS_SOCKETMAP_KEY_INVALID

static const struct key_case key_cases[] = {
	/* a domain, folded, without its final dot */
	{ "example.com", DOMAIN, "example.com" },
	{ "Example.COM.", DOMAIN, "example.com" },
	{ "localhost", DOMAIN, "localhost" },
	{ "mx-1.sub.example", DOMAIN, "mx-1.sub.example" },
	{ "XN--BCHER-KVA.example", DOMAIN, "xn--bcher-kva.example" },
	/* domain:port and domain:service are the domain */
	{ "example.com:25", DOMAIN, "example.com" },
	{ "example.com:smtp", DOMAIN, "example.com" },
	{ "Example.com.:587", DOMAIN, "example.com" },
	{ "example.com:65535", DOMAIN, "example.com" },
	{ "example.com:0", BAD, NULL },
	{ "example.com:65536", BAD, NULL },
	{ "example.com:025", BAD, NULL },
	{ "example.com:", BAD, NULL },
	{ "example.com:-smtp", BAD, NULL },
	{ "example.com:smtp-", BAD, NULL },
	{ ":25", BAD, NULL },
	/* U-labels: for the caller to convert, as sent */
	{ "b\xc3\xbc" "cher.example", IDNA, "b\xc3\xbc" "cher.example" },
	{ "B\xc3\xbc" "cher.example.:25", IDNA, "B\xc3\xbc" "cher.example" },
	/* brackets: no MX lookup, no MTA-STS */
	{ "[192.0.2.1]", NA, NULL },
	{ "[192.0.2.1]:25", NA, NULL },
	{ "[mx.example.com]", NA, NULL },
	{ "[mx.example.com]:submission", NA, NULL },
	{ "[ipv6:2001:db8::1]", NA, NULL },
	{ "[ipv6:2001:db8::1]:25", NA, NULL },
	{ "[]", BAD, NULL },
	{ "[mx.example.com", BAD, NULL },
	{ "[mx.example.com]x", BAD, NULL },
	{ "[mx.example.com]:0", BAD, NULL },
	{ "[[x]]", BAD, NULL },
	/* addresses */
	{ "192.0.2.1", NA, NULL },
	{ "192.0.2.1:25", NA, NULL },
	{ "2001:db8::1", NA, NULL },
	{ "::1", NA, NULL },
	{ "2001:db8::zz", BAD, NULL },
	/* parent-domain keys Postfix tries after a NOTFOUND */
	{ ".example.com", NA, NULL },
	{ ".com", NA, NULL },
	{ ".", NA, NULL },
	/* neither an address nor a domain */
	{ "1.2.3", BAD, NULL },
	{ "example.123", BAD, NULL },
	{ "192.0.2.256", BAD, NULL },
	{ "exa mple.com", BAD, NULL },
	{ "example.com\r", BAD, NULL },
	{ "example.com\x7f", BAD, NULL },
	{ "-bad.example", BAD, NULL },
	{ "bad-.example", BAD, NULL },
	{ "a..b", BAD, NULL },
	{ "example.com..", BAD, NULL },
	{ "under_score.example", BAD, NULL },
	{ "*.example.com", BAD, NULL },
	{ "user@example.com", BAD, NULL },
	{ "", BAD, NULL },
};

static bool run_key(const struct key_case *c)
{
	char out[300], why[160];
	enum mtasts_socketmap_key_kind kind;

	memset(out, 'Z', sizeof(out));
	why[0] = '\0';
	kind = mtasts_socketmap_key_classify(c->key, strlen(c->key), out, sizeof(out),
					     why, sizeof(why));
	if (kind != c->kind) {
		print_error("  kind %d, expected %d (%s)\n", kind, c->kind, why);
		return false;
	}
	if (c->out != NULL)
		return strcmp(out, c->out) == 0;
	/* out untouched, and a reason given */
	return out[0] == 'Z' && why[0] != '\0';
}

static void test_key_classify(void **state)
{
	size_t failed = 0;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(key_cases); i++)
		if (!run_key(&key_cases[i])) {
			print_error("FAILED %s\n", escape(key_cases[i].key,
							  strlen(key_cases[i].key)));
			failed++;
		}
	assert_int_equal(failed, 0);
}

/* 253 octets is a domain, 254 not; out must hold what is written. */
static void test_key_limits(void **state)
{
	char key[300], out[MTASTS_HOST_NAME_MAX + 1];

	(void)state;
	snprintf(key, sizeof(key), "%s.%s.%s.%s",
		 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		 "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
		 "ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc",
		 "ddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd");
	assert_int_equal(strlen(key), MTASTS_HOST_NAME_MAX);
	assert_int_equal(mtasts_socketmap_key_classify(key, strlen(key), out,
			 sizeof(out), NULL, 0), DOMAIN);
	assert_string_equal(out, key);
	assert_int_equal(mtasts_socketmap_key_classify(key, strlen(key), out,
			 sizeof(out) - 1, NULL, 0), BAD);
	strcat(key, ".");
	assert_int_equal(mtasts_socketmap_key_classify(key, strlen(key), out,
			 sizeof(out), NULL, 0), DOMAIN);
	strcat(key, "e");
	assert_int_equal(mtasts_socketmap_key_classify(key, strlen(key), out,
			 sizeof(out), NULL, 0), BAD);
	assert_int_equal(mtasts_socketmap_key_classify("\xc3\xa4.example", 10, out,
			 10, NULL, 0), BAD);
	assert_int_equal(mtasts_socketmap_key_classify("\xc3\xa4.example", 10, out,
			 11, NULL, 0), IDNA);
	assert_int_equal(mtasts_socketmap_key_classify(NULL, 0, out, sizeof(out),
			 NULL, 0), BAD);
}

/* ---- replies, read back as Postfix reads them ---- */

#define ATTRS_MAX 64

struct attr {
	char name[64];
	char value[400];
};

/*
 * The reply's data after "OK ", split as smtp_tls_policy.c does: tokens
 * separated by ", \t\r\n" outside braces; a token in braces has the braces
 * and the white space inside them trimmed; then name, "=", value, each
 * trimmed.  The first token is the level.  Returns the number of
 * attributes, -1 when Postfix would call the policy malformed.
 */
static int postfix_attrs(const char *reply, char *level, struct attr *attrs)
{
	static const char sep[] = ", \t\r\n";
	const char *p;
	int n = -1;

	if (strncmp(reply, "OK ", 3) != 0)
		return -1;
	p = reply + 3;
	for (;;) {
		char tok[400];
		size_t len = 0;
		int depth = 0;

		p += strspn(p, sep);
		if (*p == '\0')
			return n;
		for (; *p != '\0'; p++) {
			if (*p == '{')
				depth++;
			else if (depth > 0 && *p == '}')
				depth--;
			else if (depth == 0 && strchr(sep, *p) != NULL)
				break;
			if (len + 1 >= sizeof(tok))
				return -1;
			tok[len++] = *p;
		}
		tok[len] = '\0';
		if (n < 0) {
			strcpy(level, tok);
			n = 0;
			continue;
		}
		char *t = tok, *eq, *end;

		if (t[0] == '{') {
			if (t[len - 1] != '}')
				return -1;
			t[len - 1] = '\0';
			t++;
		}
		if ((eq = strchr(t, '=')) == NULL || n >= ATTRS_MAX)
			return -1;
		*eq = '\0';
		while (*t == ' ')
			t++;
		for (end = eq; end > t && end[-1] == ' '; end--)
			end[-1] = '\0';
		for (eq++; *eq == ' '; eq++)
			continue;
		for (end = eq + strlen(eq); end > eq && end[-1] == ' '; end--)
			end[-1] = '\0';
		if (*t == '\0' || strchr(t, ' ') != NULL)
			return -1;
		if (strlen(t) >= sizeof(attrs[n].name) ||
		    strlen(eq) >= sizeof(attrs[n].value))
			return -1;
		memcpy(attrs[n].name, t, strlen(t) + 1);
		memcpy(attrs[n].value, eq, strlen(eq) + 1);
		n++;
	}
}

/* Postfix's match_sts_mx_host_pattern(): the pattern, or "*." and one label. */
static bool postfix_mx_authorized(const struct attr *attrs, int n, const char *host)
{
	bool any = false;

	for (int i = 0; i < n; i++) {
		const char *p = attrs[i].value, *dot = strchr(host, '.');

		if (strcmp(attrs[i].name, "mx_host_pattern") != 0)
			continue;
		any = true;
		if (strcasecmp(host, p) == 0 ||
		    (p[0] == '*' && p[1] == '.' && p[2] != '\0' && dot != NULL &&
		     dot > host && strcasecmp(dot + 1, p + 2) == 0))
			return true;
	}
	return !any;
}

struct policy_case {
	const char *policy;
	const char *domain;
	struct mtasts_socketmap_options options;
	int rc;
	const char *reply;
};

#define ENFORCE "version: STSv1\nmode: enforce\nmx: mail.example.com\n" \
	"mx: *.example.net\nmx: backupmx.example.com\nmax_age: 604800\n"
#define TESTING "version: STSv1\nmode: testing\nmx: mail.example.com\nmax_age: 86400\n"
#define NONE "version: STSv1\nmode: none\nmax_age: 86400\n"
#define MATCH "OK secure match=mail.example.com:.example.net:backupmx.example.com"
#define PATTERNS " mx_host_pattern=mail.example.com mx_host_pattern=*.example.net " \
	"mx_host_pattern=backupmx.example.com"
#define STRINGS " { policy_string = version: STSv1 } { policy_string = mode: enforce }" \
	" { policy_string = mx: mail.example.com } { policy_string = mx: *.example.net }" \
	" { policy_string = mx: backupmx.example.com } { policy_string = max_age: 604800 }"
#define STS " policy_type=sts policy_domain=example.com"

static const struct policy_case policy_cases[] = {
	/* enforce: match= with "*." as ".", nothing else by default */
	{ ENFORCE, "example.com", { 0 }, MTASTS_OK, MATCH },
	{ ENFORCE, "example.com", { .servername = true }, MTASTS_OK,
	  MATCH " servername=hostname" },
	/* RFC 8461 MX matching in Postfix 3.10+ */
	{ ENFORCE, "example.com", { .mx_host_pattern = true }, MTASTS_OK,
	  MATCH STS PATTERNS },
	/* TLSRPT: type, domain, the policy's lines in braces, the patterns */
	{ ENFORCE, "example.com", { .tlsrpt = true, .servername = true }, MTASTS_OK,
	  MATCH " servername=hostname" STS STRINGS PATTERNS },
	{ ENFORCE, "example.com", { .tlsrpt = true, .policy_ttl = true }, MTASTS_OK,
	  MATCH STS " policy_ttl=604800" STRINGS PATTERNS },
	/* policy_ttl alone is no STS attribute set */
	{ ENFORCE, "example.com", { .policy_ttl = true }, MTASTS_OK, MATCH },
	/* testing: NOTFOUND, unless the zone is strict */
	{ TESTING, "example.com", { .tlsrpt = true }, MTASTS_OK, "NOTFOUND " },
	{ TESTING, "example.com", { .strict_testing = true }, MTASTS_OK,
	  "OK secure match=mail.example.com" },
	{ TESTING, "example.com", { .strict_testing = true, .tlsrpt = true }, MTASTS_OK,
	  "OK secure match=mail.example.com" STS
	  " { policy_string = version: STSv1 } { policy_string = mode: testing }"
	  " { policy_string = mx: mail.example.com } { policy_string = max_age: 86400 }"
	  " mx_host_pattern=mail.example.com" },
	/* testing with a testing_level: reported on (TLSRPT), not enforced */
	{ TESTING, "example.com", { .tlsrpt = true, .servername = true,
	  .testing_level = "may" }, MTASTS_OK,
	  "OK may servername=hostname" STS
	  " { policy_string = version: STSv1 } { policy_string = mode: testing }"
	  " { policy_string = mx: mail.example.com } { policy_string = max_age: 86400 }"
	  " mx_host_pattern=mail.example.com" },
	{ TESTING, "example.com", { .testing_level = "may" }, MTASTS_OK, "NOTFOUND " },
	{ TESTING, "example.com", { .tlsrpt = true, .strict_testing = true,
	  .testing_level = "may" }, MTASTS_OK,
	  "OK secure match=mail.example.com" STS
	  " { policy_string = version: STSv1 } { policy_string = mode: testing }"
	  " { policy_string = mx: mail.example.com } { policy_string = max_age: 86400 }"
	  " mx_host_pattern=mail.example.com" },
	{ TESTING, "example.com", { .tlsrpt = true, .testing_level = "secure" },
	  MTASTS_ERR_ARGUMENT, NULL },
	{ ENFORCE, "example.com", { .tlsrpt = true, .testing_level = "may" }, MTASTS_OK,
	  MATCH STS STRINGS PATTERNS },
	/* none: always NOTFOUND */
	{ NONE, "example.com", { .strict_testing = true, .tlsrpt = true }, MTASTS_OK,
	  "NOTFOUND " },
	/* extensions: kept when their braces nest, else left out */
	{ "version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 1\n"
	  "x-a: one two\nx-b: {x}\nx-c: }{\nx-d: {\n", "example.com", { .tlsrpt = true },
	  MTASTS_OK, "OK secure match=a.example" STS
	  " { policy_string = version: STSv1 } { policy_string = mode: enforce }"
	  " { policy_string = mx: a.example } { policy_string = max_age: 1 }"
	  " { policy_string = x-a: one two } { policy_string = x-b: {x} }"
	  " mx_host_pattern=a.example" },
	/* the domain: lower case, no final dot, a host name */
	{ ENFORCE, "Example.com", { 0 }, MTASTS_ERR_ARGUMENT, NULL },
	{ ENFORCE, "example.com.", { 0 }, MTASTS_ERR_ARGUMENT, NULL },
	{ ENFORCE, "192.0.2.1", { 0 }, MTASTS_ERR_ARGUMENT, NULL },
	{ ENFORCE, "", { 0 }, MTASTS_ERR_ARGUMENT, NULL },
	{ ENFORCE, NULL, { 0 }, MTASTS_ERR_ARGUMENT, NULL },
	/* the reply limit */
	{ ENFORCE, "example.com", { .reply_max = sizeof(MATCH) - 1 }, MTASTS_OK, MATCH },
	{ ENFORCE, "example.com", { .reply_max = sizeof(MATCH) - 2 },
	  MTASTS_ERR_TOO_LARGE, NULL },
};

static bool check_postfix_reads(const struct policy_case *c, const char *reply,
				const struct mtasts_policy *policy)
{
	struct attr attrs[ATTRS_MAX];
	char level[64];
	int n = postfix_attrs(reply, level, attrs), strings = 0, patterns = 0;

	if (strncmp(reply, "OK ", 3) != 0)
		return true;
	if (n >= 1 && strcmp(level, "may") == 0) {
		/* A testing policy reported on: no match=, so nothing enforced. */
		for (int i = 0; i < n; i++)
			if (strcmp(attrs[i].name, "match") == 0)
				return false;
		return strcmp(attrs[0].name, "servername") == 0 ||
		       strcmp(attrs[0].name, "policy_type") == 0;
	}
	if (n < 1 || strcmp(level, "secure") != 0 || strcmp(attrs[0].name, "match") != 0)
		return false;
	for (int i = 0; i < n; i++) {
		strings += strcmp(attrs[i].name, "policy_string") == 0;
		patterns += strcmp(attrs[i].name, "mx_host_pattern") == 0;
	}
	if (c->options.tlsrpt && strcmp(attrs[n - patterns - strings].value,
					"version: STSv1") != 0)
		return false;
	if ((c->options.tlsrpt || c->options.mx_host_pattern) &&
	    (size_t)patterns != policy->mx_count)
		return false;
	/* With the patterns, RFC 8461 4.1 for every host; without, anything. */
	for (size_t i = 0; i < policy->mx_count; i++) {
		const char *p = policy->mx[i];
		char one[300], two[300];

		snprintf(one, sizeof(one), "a%s", p[0] == '*' ? p + 1 : "");
		snprintf(two, sizeof(two), "a.b%s", p[0] == '*' ? p + 1 : "");
		if (p[0] == '*' && patterns > 0 &&
		    (!postfix_mx_authorized(attrs, n, one) ||
		     postfix_mx_authorized(attrs, n, two) ||
		     postfix_mx_authorized(attrs, n, p + 2)))
			return false;
		if (p[0] != '*' && !postfix_mx_authorized(attrs, n, p))
			return false;
	}
	return true;
}

static bool run_policy(const struct policy_case *c)
{
	struct mtasts_policy *policy = NULL;
	char out[2048];
	size_t len = 12345;
	bool ok;
	int rc;

	if (mtasts_policy_parse(c->policy, strlen(c->policy), &policy, NULL) != MTASTS_OK)
		return false;
	rc = mtasts_socketmap_reply_policy(policy, c->domain, &c->options, out,
					   sizeof(out), &len);
	if (rc != c->rc) {
		print_error("  rc %d, expected %d\n", rc, c->rc);
		ok = false;
	} else if (c->reply == NULL) {
		ok = len == 12345;
	} else {
		ok = len == strlen(out) && strcmp(out, c->reply) == 0 &&
		     check_postfix_reads(c, out, policy);
		if (!ok)
			print_error("  got \"%s\"\n", out);
	}
	mtasts_policy_free(policy);
	return ok;
}

static void test_reply_policy(void **state)
{
	size_t failed = 0;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(policy_cases); i++)
		if (!run_policy(&policy_cases[i])) {
			print_error("FAILED policy case %zu\n", i);
			failed++;
		}
	assert_int_equal(failed, 0);
}

#define L60 "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefgh"

/* Structs the parser never makes, and a policy too large for a reply. */
static void test_reply_policy_limits(void **state)
{
	static char names[MTASTS_POLICY_MX_MAX][MTASTS_HOST_NAME_MAX + 1];
	static char *mx[MTASTS_POLICY_MX_MAX];
	struct mtasts_policy policy = { .mode = MTASTS_MODE_ENFORCE, .max_age = 1,
					.mx_count = 1, .mx = mx };
	struct mtasts_socketmap_options tlsrpt = { .tlsrpt = true };
	char out[64];
	size_t len;

	(void)state;
	for (size_t i = 0; i < MTASTS_POLICY_MX_MAX; i++) {
		/* 197 octets: "mx0000.", three labels of 60, "example" */
		snprintf(names[i], sizeof(names[i]), "mx%04zu.%s.%s.%s.example", i,
			 L60, L60, L60);
		mx[i] = names[i];
	}
	/* one long pattern does not fit in 64 octets: refused, out left empty */
	assert_int_equal(mtasts_socketmap_reply_policy(&policy, "example.com", NULL,
			 out, sizeof(out), &len), MTASTS_ERR_TOO_LARGE);
	assert_string_equal(out, "");
	/* 1024 long patterns pass 100,000 octets whatever the buffer */
	policy.mx_count = MTASTS_POLICY_MX_MAX;
	{
		static char big[1 << 20];

		assert_int_equal(mtasts_socketmap_reply_policy(&policy, "example.com",
				 &tlsrpt, big, sizeof(big), &len), MTASTS_ERR_TOO_LARGE);
		policy.mx_count = 300;
		assert_int_equal(mtasts_socketmap_reply_policy(&policy, "example.com",
				 NULL, big, sizeof(big), &len), MTASTS_OK);
		assert_true(len <= MTASTS_SOCKETMAP_REPLY_MAX);
	}
	/* an invalid pattern, no mx, an unknown mode */
	policy.mx_count = 1;
	mx[0] = "bad..example";
	assert_int_equal(mtasts_socketmap_reply_policy(&policy, "example.com", NULL,
			 out, sizeof(out), &len), MTASTS_ERR_INVALID);
	policy.mx_count = 0;
	assert_int_equal(mtasts_socketmap_reply_policy(&policy, "example.com", NULL,
			 out, sizeof(out), &len), MTASTS_ERR_INVALID);
	policy.mode = (enum mtasts_mode)7;
	assert_int_equal(mtasts_socketmap_reply_policy(&policy, "example.com", NULL,
			 out, sizeof(out), &len), MTASTS_ERR_INVALID);
	assert_int_equal(mtasts_socketmap_reply_policy(NULL, "example.com", NULL,
			 out, sizeof(out), &len), MTASTS_ERR_ARGUMENT);
	assert_int_equal(mtasts_socketmap_reply_policy(&policy, "example.com", NULL,
			 out, 0, &len), MTASTS_ERR_ARGUMENT);
}

struct failure_case {
	enum mtasts_socketmap_failure failure;
	const char *reason;
	struct mtasts_socketmap_options options;
	const char *reply;	/* NULL: MTASTS_ERR_ARGUMENT */
};

static const struct failure_case failure_cases[] = {
	/* fail open: NOTFOUND, with or without TLSRPT */
	{ MTASTS_SOCKETMAP_FETCH_ERROR, "x", { 0 }, "NOTFOUND " },
	{ MTASTS_SOCKETMAP_FETCH_ERROR, "x", { .tlsrpt = true }, "NOTFOUND " },
	/* fail closed: TEMP, with the reason cleaned, or one made up */
	{ MTASTS_SOCKETMAP_FETCH_ERROR, NULL, { .fail_closed = true },
	  "TEMP MTA-STS policy of example.com: sts-policy-fetch-error" },
	{ MTASTS_SOCKETMAP_POLICY_INVALID, "bad\r\nline\x01 \xc3\xa9",
	  { .fail_closed = true }, "TEMP bad??line? ??" },
	{ MTASTS_SOCKETMAP_POLICY_INVALID, "", { .fail_closed = true }, "TEMP " },
	/* fail closed with TLSRPT: Postfix reports, then fails the handshake */
	{ MTASTS_SOCKETMAP_FETCH_ERROR, NULL, { .fail_closed = true, .tlsrpt = true },
	  "OK secure" STS " policy_failure=sts-policy-fetch-error" },
	{ MTASTS_SOCKETMAP_POLICY_INVALID, NULL, { .fail_closed = true, .tlsrpt = true },
	  "OK secure" STS " policy_failure=sts-policy-invalid" },
	{ MTASTS_SOCKETMAP_WEBPKI_INVALID, "x",
	  { .fail_closed = true, .tlsrpt = true, .servername = true },
	  "OK secure servername=hostname" STS " policy_failure=sts-webpki-invalid" },
	{ MTASTS_SOCKETMAP_VALIDATION_FAILURE, NULL, { .fail_closed = true, .tlsrpt = true },
	  "OK secure" STS " policy_failure=validation-failure" },
	{ (enum mtasts_socketmap_failure)4, NULL, { 0 }, NULL },
	{ (enum mtasts_socketmap_failure)-1, NULL, { 0 }, NULL },
};

static void test_reply_failure(void **state)
{
	char out[512];
	size_t len, failed = 0;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(failure_cases); i++) {
		const struct failure_case *c = &failure_cases[i];
		int rc = mtasts_socketmap_reply_failure(c->failure, "example.com", c->reason,
							&c->options, out, sizeof(out),
							&len);

		if (c->reply == NULL ? rc != MTASTS_ERR_ARGUMENT :
		    rc != MTASTS_OK || strcmp(out, c->reply) != 0 || len != strlen(out)) {
			print_error("FAILED failure case %zu: %d \"%s\"\n", i, rc, out);
			failed++;
		}
	}
	assert_int_equal(failed, 0);
	assert_int_equal(mtasts_socketmap_reply_failure(MTASTS_SOCKETMAP_FETCH_ERROR,
			 "EXAMPLE.com", NULL, NULL, out, sizeof(out), &len),
			 MTASTS_ERR_ARGUMENT);
	assert_int_equal(mtasts_socketmap_reply_failure(MTASTS_SOCKETMAP_FETCH_ERROR,
			 "example.com", NULL, NULL, out, 9, &len), MTASTS_ERR_TOO_LARGE);
	assert_int_equal(mtasts_socketmap_reply_failure(MTASTS_SOCKETMAP_FETCH_ERROR,
			 "example.com", NULL, NULL, out, 10, &len), MTASTS_OK);
	assert_null(mtasts_socketmap_failure_name((enum mtasts_socketmap_failure)4));
}

struct error_case {
	enum mtasts_socketmap_reply_kind kind;
	const char *reason;
	const char *reply;	/* NULL: MTASTS_ERR_ARGUMENT */
};

#define R50 "0123456789012345678901234567890123456789012345678\x7f"
#define C50 "0123456789012345678901234567890123456789012345678?"

static const struct error_case error_cases[] = {
	{ MTASTS_SOCKETMAP_NOTFOUND, "ignored", "NOTFOUND " },
	{ MTASTS_SOCKETMAP_TEMP, "resolver timed out", "TEMP resolver timed out" },
	{ MTASTS_SOCKETMAP_TIMEOUT, "policy host slow", "TIMEOUT policy host slow" },
	{ MTASTS_SOCKETMAP_PERM, "no such zone", "PERM no such zone" },
	{ MTASTS_SOCKETMAP_TEMP, NULL, "TEMP " },
	{ MTASTS_SOCKETMAP_TEMP, "\ttab\x1b[31m", "TEMP ?tab?[31m" },
	/* cut at 200 octets */
	{ MTASTS_SOCKETMAP_PERM, R50 R50 R50 R50 "more", "PERM " C50 C50 C50 C50 },
	{ MTASTS_SOCKETMAP_OK, "x", NULL },
	{ (enum mtasts_socketmap_reply_kind)9, "x", NULL },
};

static void test_reply_error(void **state)
{
	char out[512];
	size_t len, failed = 0;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(error_cases); i++) {
		const struct error_case *c = &error_cases[i];
		int rc = mtasts_socketmap_reply_error(c->kind, c->reason, out,
						      sizeof(out), &len);

		if (c->reply == NULL ? rc != MTASTS_ERR_ARGUMENT :
		    rc != MTASTS_OK || strcmp(out, c->reply) != 0 || len != strlen(out)) {
			print_error("FAILED error case %zu: %d \"%s\"\n", i, rc, out);
			failed++;
		}
	}
	assert_int_equal(failed, 0);
	assert_int_equal(mtasts_socketmap_reply_error(MTASTS_SOCKETMAP_TEMP, "x", out,
			 6, &len), MTASTS_ERR_TOO_LARGE);
	assert_string_equal(out, "");
	assert_int_equal(mtasts_socketmap_reply_error(MTASTS_SOCKETMAP_TEMP, "x", out,
			 7, &len), MTASTS_OK);
	assert_int_equal(mtasts_socketmap_reply_error(MTASTS_SOCKETMAP_TEMP, "x", NULL,
			 7, &len), MTASTS_ERR_ARGUMENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_netstring_read),
		cmocka_unit_test(test_netstring_messages),
		cmocka_unit_test(test_netstring_write),
		cmocka_unit_test(test_netstring_round_trip),
		cmocka_unit_test(test_request_parse),
		cmocka_unit_test(test_request_limits),
		cmocka_unit_test(test_key_classify),
		cmocka_unit_test(test_key_limits),
		cmocka_unit_test(test_reply_policy),
		cmocka_unit_test(test_reply_policy_limits),
		cmocka_unit_test(test_reply_failure),
		cmocka_unit_test(test_reply_error),
	};

	return cmocka_run_group_tests_name("socketmap", tests, NULL, NULL);
}
