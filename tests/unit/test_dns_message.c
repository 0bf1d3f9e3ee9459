/*
 * test_dns_message.c - decoding DNS response messages (RFC 1035 4.1),
 * table-driven.
 *
 * Each case writes a message from a description (see build() below),
 * parses it, and compares a one-line summary of the header and question
 * and one line per answer record, in zone-file order, with what it expects.
 * Every accepted message is also checked against what dns.h promises: the
 * raw copy, RDATA pointers inside it, NUL-terminated TXT text.
 */
#include <arpa/inet.h>
#include <stdlib.h>

#include "unit.h"

#include <mtasts/dns.h>

/*
 * A message description is a list of tokens separated by white space:
 *
 *	hdr:ID,FLAGS,QD,AN,NS,AR	the 12-octet header
 *	q:NAME,TYPE			a question of class IN
 *	rr:NAME,TYPE,TTL		an owner name, type, class IN and TTL
 *	rrc:NAME,TYPE,CLASS,TTL		the same with another class
 *	{  }				RDATA between them; RDLENGTH is counted
 *	n:NAME				a name
 *	s:TEXT  s:"TEXT"		a character-string
 *	S:N,C				a character-string of N times the octet C
 *	fill:N,C			N times the octet C
 *	u8:N  u16:N  u32:N		numbers in network order
 *	x:HEX				octets
 *	ip:ADDRESS			4 or 16 octets
 *	=M				mark the offset here as M (a-z)
 *	ptrs:N,TARGET			N compression pointers, the first to
 *					TARGET, each next one to the one before
 *
 * A NAME is labels separated by "."; "." alone is the root.  A component
 * "=M" marks the offset of the label after it, "C*N" is N times the
 * character C, and a last component "@M" or "@OFFSET" is a compression
 * pointer instead of the root label.  Numbers may be hexadecimal (0x).
 */
#define WIRE_MAX 70000

struct wire {
	uint8_t buf[WIRE_MAX];
	size_t len;
	size_t marks[26];
	size_t rdlength_at;
	bool ok;
};

static void put(struct wire *w, const void *data, size_t len)
{
	if (w->len + len > WIRE_MAX) {
		w->ok = false;
		return;
	}
	memcpy(w->buf + w->len, data, len);
	w->len += len;
}

static void put8(struct wire *w, unsigned long v)
{
	uint8_t b = (uint8_t)v;

	put(w, &b, 1);
}

static void put16(struct wire *w, unsigned long v)
{
	put8(w, v >> 8);
	put8(w, v);
}

static void put32(struct wire *w, unsigned long v)
{
	put16(w, v >> 16);
	put16(w, v);
}

static unsigned long number(const char *s, const char **end)
{
	char *e;
	unsigned long v = strtoul(s, &e, 0);

	if (end != NULL)
		*end = e;
	return v;
}

/* "@x" (a mark) or "@123" / "123" (an offset). */
static size_t offset_of(struct wire *w, const char *s, size_t len)
{
	if (*s == '@') {
		s++;
		len--;
	}
	if (len == 1 && *s >= 'a' && *s <= 'z')
		return w->marks[*s - 'a'];
	return number(s, NULL);
}

static void put_name(struct wire *w, const char *name, size_t len)
{
	size_t i = 0;

	if (len == 1 && name[0] == '.') {
		put8(w, 0);
		return;
	}
	while (i < len) {
		size_t n = 0, start = i;
		char label[64];

		while (i < len && name[i] != '.')
			i++;
		if (name[start] == '@') {
			put16(w, 0xc000 | offset_of(w, name + start, i - start));
			return;
		}
		if (name[start] == '=') {
			w->marks[name[start + 1] - 'a'] = w->len;
			i++;
			continue;
		}
		if (i - start > 2 && name[start + 1] == '*') {
			n = number(name + start + 2, NULL);
			if (n >= sizeof(label))
				n = sizeof(label) - 1;
			memset(label, name[start], n);
		} else {
			n = i - start < sizeof(label) ? i - start : sizeof(label) - 1;
			memcpy(label, name + start, n);
		}
		put8(w, n);
		put(w, label, n);
		i++;
	}
	put8(w, 0);
}

/* The comma-separated field `k` of s (which ends at `end`). */
static const char *field(const char *s, const char *end, unsigned k, size_t *ret_len)
{
	for (; k > 0 && s < end; s++)
		if (*s == ',')
			k--;
	*ret_len = 0;
	while (s + *ret_len < end && s[*ret_len] != ',')
		(*ret_len)++;
	return s;
}

static unsigned long field_number(const char *s, const char *end, unsigned k)
{
	size_t len;

	return number(field(s, end, k, &len), NULL);
}

static void put_hex(struct wire *w, const char *s, const char *end)
{
	for (; s + 1 < end; s += 2) {
		char pair[3] = { s[0], s[1], '\0' };

		put8(w, strtoul(pair, NULL, 16));
	}
}

static void put_ip(struct wire *w, const char *s, size_t len)
{
	char text[64] = { 0 };
	uint8_t addr[16];

	memcpy(text, s, len < sizeof(text) ? len : sizeof(text) - 1);
	if (inet_pton(AF_INET, text, addr) == 1)
		put(w, addr, 4);
	else if (inet_pton(AF_INET6, text, addr) == 1)
		put(w, addr, 16);
	else
		w->ok = false;
}

static void put_rr(struct wire *w, const char *v, const char *end, bool with_class)
{
	size_t len;
	const char *name = field(v, end, 0, &len);

	put_name(w, name, len);
	put16(w, field_number(v, end, 1));
	put16(w, with_class ? field_number(v, end, 2) : 1);
	put32(w, field_number(v, end, with_class ? 3 : 2));
}

static void put_ptrs(struct wire *w, const char *v, const char *end)
{
	size_t len, count = field_number(v, end, 0);
	const char *t = field(v, end, 1, &len);
	size_t target = offset_of(w, t, len);

	for (size_t i = 0; i < count; i++) {
		size_t here = w->len;

		put16(w, 0xc000 | target);
		target = here;
	}
}

static void put_token(struct wire *w, const char *t, const char *end)
{
	const char *colon = memchr(t, ':', (size_t)(end - t));
	const char *v = colon != NULL ? colon + 1 : end;
	size_t key = (size_t)(v - t), len = (size_t)(end - v);

#define IS(k) (key == sizeof(k) - 1 && memcmp(t, k, key) == 0)
	if (IS("hdr:")) {
		for (unsigned k = 0; k < 6; k++)
			put16(w, field_number(v, end, k));
	} else if (IS("q:")) {
		const char *name = field(v, end, 0, &len);

		put_name(w, name, len);
		put16(w, field_number(v, end, 1));
		put16(w, 1);
	} else if (IS("rr:") || IS("rrc:")) {
		put_rr(w, v, end, IS("rrc:"));
	} else if (IS("{")) {
		w->rdlength_at = w->len;
		put16(w, 0);
	} else if (IS("}")) {
		size_t n = w->len - w->rdlength_at - 2;

		w->buf[w->rdlength_at] = (uint8_t)(n >> 8);
		w->buf[w->rdlength_at + 1] = (uint8_t)n;
	} else if (IS("n:")) {
		put_name(w, v, len);
	} else if (IS("s:")) {
		if (len >= 2 && v[0] == '"') {
			v++;
			len -= 2;
		}
		put8(w, len);
		put(w, v, len);
	} else if (IS("S:") || IS("fill:")) {
		size_t n = field_number(v, end, 0);
		uint8_t c = (uint8_t)field_number(v, end, 1);

		if (IS("S:"))
			put8(w, n);
		for (size_t i = 0; i < n; i++)
			put8(w, c);
	} else if (IS("u8:")) {
		put8(w, number(v, NULL));
	} else if (IS("u16:")) {
		put16(w, number(v, NULL));
	} else if (IS("u32:")) {
		put32(w, number(v, NULL));
	} else if (IS("x:")) {
		put_hex(w, v, end);
	} else if (IS("ip:")) {
		put_ip(w, v, len);
	} else if (IS("ptrs:")) {
		put_ptrs(w, v, end);
	} else if (colon == NULL && key == 2 && t[0] == '=') {
		w->marks[t[1] - 'a'] = w->len;
	} else {
		print_error("  unknown token \"%.*s\"\n", (int)(end - t), t);
		w->ok = false;
	}
#undef IS
}

/* Write the message described by desc into w; false on a bad description. */
static bool build(struct wire *w, const char *desc)
{
	const char *p = desc;

	memset(w->marks, 0, sizeof(w->marks));
	w->len = 0;
	w->ok = true;
	while (*p != '\0') {
		const char *start;
		bool quoted = false;

		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		if (*p == '\0')
			break;
		for (start = p; *p != '\0' && (quoted || (*p != ' ' && *p != '\t' && *p != '\n')); p++)
			if (*p == '"')
				quoted = !quoted;
		put_token(w, start, p);
	}
	return w->ok;
}

/* ------------------------------------------------------------ rendering */

static const char *type_name(uint16_t type, char *buf, size_t size)
{
	switch (type) {
	case MTASTS_DNS_TYPE_A:
		return "A";
	case MTASTS_DNS_TYPE_AAAA:
		return "AAAA";
	case MTASTS_DNS_TYPE_CNAME:
		return "CNAME";
	case MTASTS_DNS_TYPE_MX:
		return "MX";
	case MTASTS_DNS_TYPE_TXT:
		return "TXT";
	case MTASTS_DNS_TYPE_TLSA:
		return "TLSA";
	}
	snprintf(buf, size, "TYPE%u", type);
	return buf;
}

static size_t hex(char *out, size_t size, const uint8_t *data, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < len && o + 3 <= size; i++)
		o += (size_t)snprintf(out + o, size - o, "%02x", data[i]);
	return o;
}

/* One answer as "owner TTL CLASS TYPE value"; names of RDATA in brackets. */
static void render_rr(const struct mtasts_dns_rr *rr, char *out, size_t size)
{
	char tbuf[16], cbuf[16], value[600] = "", addr[INET6_ADDRSTRLEN];

	switch (rr->type) {
	case MTASTS_DNS_TYPE_A:
	case MTASTS_DNS_TYPE_AAAA:
		inet_ntop(rr->type == MTASTS_DNS_TYPE_A ? AF_INET : AF_INET6,
			  rr->address, addr, sizeof(addr));
		snprintf(value, sizeof(value), "%s", addr);
		break;
	case MTASTS_DNS_TYPE_CNAME:
		snprintf(value, sizeof(value), "[%s]", rr->target);
		break;
	case MTASTS_DNS_TYPE_MX:
		snprintf(value, sizeof(value), "%u [%s]", rr->preference, rr->target);
		break;
	case MTASTS_DNS_TYPE_TXT:
		snprintf(value, sizeof(value), "\"%s\"", escape(rr->text, rr->text_len));
		break;
	case MTASTS_DNS_TYPE_TLSA: {
		int n = snprintf(value, sizeof(value), "%u %u %u ", rr->tlsa_usage,
				 rr->tlsa_selector, rr->tlsa_matching);

		hex(value + n, sizeof(value) - (size_t)n, rr->tlsa_data, rr->tlsa_data_len);
		break;
	}
	default:
		hex(value, sizeof(value), rr->rdata, rr->rdata_len);
	}
	if (rr->rclass == 1)
		snprintf(cbuf, sizeof(cbuf), "IN");
	else
		snprintf(cbuf, sizeof(cbuf), "CLASS%u", rr->rclass);
	snprintf(out, size, "%s %u %s %s %s", rr->name, rr->ttl, cbuf,
		 type_name(rr->type, tbuf, sizeof(tbuf)), value);
}

static void render_summary(const struct mtasts_dns_message *m, char *out, size_t size)
{
	snprintf(out, size, "id=%u%s%s%s%s%s rcode=%d q=%s/%u", m->id,
		 m->response ? " qr" : "", m->authoritative ? " aa" : "",
		 m->truncated ? " tc" : "", m->recursion_available ? " ra" : "",
		 m->authenticated ? " ad" : "", (int)m->rcode, m->question,
		 m->question_type);
}

/* What dns.h promises of every decoded message; prints why not. */
static bool check_invariants(const struct mtasts_dns_message *m,
			     const uint8_t *wire, size_t len)
{
	if (m->raw == NULL || m->raw == wire || m->raw_len != len ||
	    memcmp(m->raw, wire, len) != 0) {
		print_error("  raw is not a copy of the message\n");
		return false;
	}
	if (m->answer_count > 0 && m->answers == NULL)
		return false;
	for (size_t i = 0; i < m->answer_count; i++) {
		const struct mtasts_dns_rr *rr = &m->answers[i];

		if (rr->rdata < m->raw || rr->rdata + rr->rdata_len > m->raw + m->raw_len ||
		    memchr(rr->name, '\0', sizeof(rr->name)) == NULL ||
		    memchr(rr->target, '\0', sizeof(rr->target)) == NULL) {
			print_error("  answer %zu: RDATA or names out of bounds\n", i);
			return false;
		}
		if ((rr->type == MTASTS_DNS_TYPE_TXT) !=
		    (rr->text != NULL && rr->text[rr->text_len] == '\0')) {
			print_error("  answer %zu: TXT text wrong\n", i);
			return false;
		}
		if (rr->type == MTASTS_DNS_TYPE_TLSA &&
		    (rr->tlsa_data != rr->rdata + 3 ||
		     rr->tlsa_data_len + 3 != rr->rdata_len)) {
			print_error("  answer %zu: TLSA data not in the RDATA\n", i);
			return false;
		}
	}
	return true;
}

/* ---------------------------------------------------------------- cases */

#define WANT_RR_MAX 8

struct parse_case {
	const char *wire;
	int rc;
	const char *summary;		/* when accepted */
	size_t answers;			/* when accepted */
	const char *want[WANT_RR_MAX];	/* the first answers, rendered */
};

#define REJECT(w) { (w), MTASTS_ERR_INVALID, NULL, 0, { NULL } }

/* A response header: id 0x1234, QR RD RA, one question. */
#define RESP(an, ns, ar) "hdr:0x1234,0x8180,1," #an "," #ns "," #ar " "
/* The question "_mta-sts.example" TXT at offset 12; "example" at 21 (@e). */
#define Q_STS "q:_mta-sts.=e.example,16 "

static const struct parse_case parse_cases[] = {
	/* header: id, QR RD RA, rcode 0; question name and type */
	{ RESP(0, 0, 0) Q_STS, MTASTS_OK,
	  "id=4660 qr ra rcode=0 q=_mta-sts.example/16", 0, { NULL } },
	/* header: AA, TC, AD bits and rcode NXDOMAIN */
	{ "hdr:7,0x87a3,1,0,0,0 " Q_STS, MTASTS_OK,
	  "id=7 qr aa tc ra ad rcode=3 q=_mta-sts.example/16", 0, { NULL } },
	/* header: a query (QR clear) is decoded too, flags as they are */
	{ "hdr:0xffff,0x0100,1,0,0,0 q:example,1", MTASTS_OK,
	  "id=65535 rcode=0 q=example/1", 0, { NULL } },
	/* header: an rcode beyond REFUSED is kept as it is (9, NOTAUTH) */
	{ "hdr:1,0x8009,1,0,0,0 q:example,1", MTASTS_OK,
	  "id=1 qr rcode=9 q=example/1", 0, { NULL } },
	/* question: none at all (SERVFAIL without question): "" and type 0 */
	{ "hdr:2,0x8182,0,0,0,0", MTASTS_OK, "id=2 qr ra rcode=2 q=/0", 0, { NULL } },
	/* question: the name in lower case */
	{ RESP(0, 0, 0) "q:_MTA-STS.Example.COM,16", MTASTS_OK,
	  "id=4660 qr ra rcode=0 q=_mta-sts.example.com/16", 0, { NULL } },
	/* question: the root is "" */
	{ RESP(0, 0, 0) "q:.,2", MTASTS_OK, "id=4660 qr ra rcode=0 q=/2", 0, { NULL } },
	/* question: only the first of two is kept; the second must be well formed */
	{ "hdr:3,0x8180,2,0,0,0 q:first.example,1 q:second.@12,28", MTASTS_OK,
	  "id=3 qr ra rcode=0 q=first.example/1", 0, { NULL } },
	/* question: octets above 0x7f are kept, not folded */
	{ RESP(0, 0, 0) "x:0341c3a9 u8:0 u16:1 u16:1", MTASTS_OK,
	  "id=4660 qr ra rcode=0 q=a\xc3\xa9/1", 0, { NULL } },

	/* A: four octets */
	{ RESP(1, 0, 0) "q:mta-sts.example,1 rr:@12,1,300 { ip:192.0.2.1 }", MTASTS_OK,
	  "id=4660 qr ra rcode=0 q=mta-sts.example/1", 1,
	  { "mta-sts.example 300 IN A 192.0.2.1" } },
	/* AAAA: sixteen octets */
	{ RESP(1, 0, 0) "q:mta-sts.example,28 rr:@12,28,60 { ip:2001:db8::25 }", MTASTS_OK,
	  "id=4660 qr ra rcode=0 q=mta-sts.example/28", 1,
	  { "mta-sts.example 60 IN AAAA 2001:db8::25" } },
	/* CNAME: target compressed into the question, in lower case */
	{ RESP(1, 0, 0) Q_STS "rr:@12,5,300 { n:Target.@e }", MTASTS_OK,
	  "id=4660 qr ra rcode=0 q=_mta-sts.example/16", 1,
	  { "_mta-sts.example 300 IN CNAME [target.example]" } },
	/* MX: preference and compressed exchange */
	{ RESP(2, 0, 0) "q:example,15 rr:@12,15,3600 { u16:10 n:mx1.@12 } "
	  "rr:@12,15,3600 { u16:20 n:MX2.example }", MTASTS_OK,
	  "id=4660 qr ra rcode=0 q=example/15", 2,
	  { "example 3600 IN MX 10 [mx1.example]", "example 3600 IN MX 20 [mx2.example]" } },
	/* MX: the null MX of RFC 7505, "0 .", has the exchange "" */
	{ RESP(1, 0, 0) "q:null-mx.example,15 rr:@12,15,300 { u16:0 n:. }", MTASTS_OK,
	  "id=4660 qr ra rcode=0 q=null-mx.example/15", 1,
	  { "null-mx.example 300 IN MX 0 []" } },
	/* TXT: one character-string */
	{ RESP(1, 0, 0) Q_STS "rr:@12,16,300 { s:\"v=STSv1; id=20240101\" }", MTASTS_OK,
	  "id=4660 qr ra rcode=0 q=_mta-sts.example/16", 1,
	  { "_mta-sts.example 300 IN TXT \"v=STSv1; id=20240101\"" } },
	/* TXT: character-strings joined without separator */
	{ RESP(1, 0, 0) Q_STS "rr:@12,16,300 { s:v=STSv1; s:\" id=1\" s:; }", MTASTS_OK,
	  "id=4660 qr ra rcode=0 q=_mta-sts.example/16", 1,
	  { "_mta-sts.example 300 IN TXT \"v=STSv1; id=1;\"" } },
	/* TXT: one empty character-string is an empty text */
	{ RESP(1, 0, 0) Q_STS "rr:@12,16,300 { u8:0 }", MTASTS_OK,
	  "id=4660 qr ra rcode=0 q=_mta-sts.example/16", 1,
	  { "_mta-sts.example 300 IN TXT \"\"" } },
	/* TXT: a NUL octet is kept, text_len counts past it */
	{ RESP(1, 0, 0) Q_STS "rr:@12,16,300 { x:03610062 }", MTASTS_OK,
	  "id=4660 qr ra rcode=0 q=_mta-sts.example/16", 1,
	  { "_mta-sts.example 300 IN TXT \"a\\x00b\"" } },
	/* TXT: two records stay two answers */
	{ RESP(2, 0, 0) Q_STS "rr:@12,16,300 { s:one } rr:@12,16,300 { s:two }", MTASTS_OK,
	  "id=4660 qr ra rcode=0 q=_mta-sts.example/16", 2,
	  { "_mta-sts.example 300 IN TXT \"one\"", "_mta-sts.example 300 IN TXT \"two\"" } },
	/* TLSA: 3 1 1 and a SHA-256 digest */
	{ RESP(1, 0, 0) "q:_25._tcp.mx.example,52 rr:@12,52,300 { u8:3 u8:1 u8:1 "
	  "x:0a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20212223242526272829 }", MTASTS_OK,
	  "id=4660 qr ra rcode=0 q=_25._tcp.mx.example/52", 1,
	  { "_25._tcp.mx.example 300 IN TLSA 3 1 1 "
	    "0a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20212223242526272829" } },
	/* TLSA: three octets and no association data */
	{ RESP(1, 0, 0) "q:_25._tcp.mx.example,52 rr:@12,52,300 { x:020000 }", MTASTS_OK,
	  "id=4660 qr ra rcode=0 q=_25._tcp.mx.example/52", 1,
	  { "_25._tcp.mx.example 300 IN TLSA 2 0 0 " } },
	/* other types: raw RDATA only (an RRSIG here), also when empty */
	{ RESP(2, 0, 0) Q_STS "rr:@12,46,300 { x:0010 } rr:@12,99,300 { }", MTASTS_OK,
	  "id=4660 qr ra rcode=0 q=_mta-sts.example/16", 2,
	  { "_mta-sts.example 300 IN TYPE46 0010", "_mta-sts.example 300 IN TYPE99 " } },
	/* class and TTL as they are: CHAOS class, the largest TTL */
	{ RESP(1, 0, 0) "q:version.bind,16 rrc:@12,16,3,0x7fffffff { s:x }", MTASTS_OK,
	  "id=4660 qr ra rcode=0 q=version.bind/16", 1,
	  { "version.bind 2147483647 CLASS3 TXT \"x\"" } },
	/* TTL: the top bit set counts as 0 (RFC 2181 8) */
	{ RESP(1, 0, 0) "q:example,1 rr:@12,1,0x80000001 { ip:192.0.2.1 }", MTASTS_OK,
	  "id=4660 qr ra rcode=0 q=example/1", 1, { "example 0 IN A 192.0.2.1" } },
	/* names: an uncompressed owner in mixed case is lowered */
	{ RESP(1, 0, 0) "q:example,1 rr:EXAMPLE,1,5 { ip:192.0.2.1 }", MTASTS_OK,
	  "id=4660 qr ra rcode=0 q=example/1", 1, { "example 5 IN A 192.0.2.1" } },
	/* names: pointer to labels ending in a pointer (two jumps, both backwards) */
	{ RESP(2, 0, 0) Q_STS "rr:@12,5,300 { n:=t.target.@e } rr:a.@t,16,300 { s:x }",
	  MTASTS_OK, "id=4660 qr ra rcode=0 q=_mta-sts.example/16", 2,
	  { "_mta-sts.example 300 IN CNAME [target.example]",
	    "a.target.example 300 IN TXT \"x\"" } },
	/* names: 127 jumps, each to the pointer before, is the limit */
	{ "hdr:1,0x8180,0,2,0,0 rr:.,65280,0 { ptrs:126,12 } rr:@273,1,0 { ip:192.0.2.1 }",
	  MTASTS_OK, "id=1 qr ra rcode=0 q=/0", 2,
	  { NULL, " 0 IN A 192.0.2.1" } },
	/* names: 255 octets in wire form (3 x 63 + 61 + 5 length octets) */
	{ RESP(0, 0, 0) "q:a*63.b*63.c*63.d*61,1", MTASTS_OK,
	  "id=4660 qr ra rcode=0 q="
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
	  "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb."
	  "ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc."
	  "ddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd/1", 0, { NULL } },
	/* a real-shaped Unbound answer: AD, CNAME chain with RRSIGs, OPT with DO */
	{ "hdr:0xbeef,0x81a0,1,4,0,1 "
	  "q:_mta-sts.=e.example,16 "
	  "rr:@12,5,300 { n:=t.target.@e } "
	  "rr:@12,46,300 { u16:5 x:0d02 u32:300 u32:1767225600 u32:1764547200 u16:4711 "
	  "n:example fill:64,0xaa } "
	  "rr:@t,16,300 { s:\"v=STSv1; id=20250101T000000;\" } "
	  "rr:@t,46,300 { u16:16 x:0d02 u32:300 u32:1767225600 u32:1764547200 u16:4711 "
	  "n:example fill:64,0xbb } "
	  "rrc:.,41,1232,0x8000 { }",
	  MTASTS_OK, "id=48879 qr ra ad rcode=0 q=_mta-sts.example/16", 4,
	  { "_mta-sts.example 300 IN CNAME [target.example]", NULL,
	    "target.example 300 IN TXT \"v=STSv1; id=20250101T000000;\"" } },
	/* authority: NXDOMAIN with an SOA and NSEC records, skipped */
	{ "hdr:5,0x8183,1,0,2,1 q:no-such.=e.example,1 "
	  "rr:@e,6,10 { n:ns.@e n:hostmaster.@e u32:1 u32:2 u32:3 u32:4 u32:5 } "
	  "rr:@e,47,10 { n:a.@e x:000722 } rrc:.,41,1232,0 { }",
	  MTASTS_OK, "id=5 qr ra rcode=3 q=no-such.example/1", 0, { NULL } },
	/* additional: records after the answers are skipped */
	{ RESP(1, 0, 2) "q:example,15 rr:@12,15,300 { u16:10 n:=m.mx.@12 } "
	  "rr:@m,1,300 { ip:192.0.2.25 } rr:@m,28,300 { ip:2001:db8::25 }", MTASTS_OK,
	  "id=4660 qr ra rcode=0 q=example/15", 1, { "example 300 IN MX 10 [mx.example]" } },

	/* reject: no message at all */
	REJECT(""),
	/* reject: a header cut at 11 octets */
	REJECT("x:1234818000010000000000"),
	/* reject: a question announced, none there */
	REJECT(RESP(0, 0, 0)),
	/* reject: a question without its type and class */
	REJECT(RESP(0, 0, 0) "n:example u16:1"),
	/* reject: an answer announced, none there */
	REJECT(RESP(1, 0, 0) "q:example,1"),
	/* reject: an answer cut in its TTL */
	REJECT(RESP(1, 0, 0) "q:example,1 n:@12 u16:1 u16:1 u16:0"),
	/* reject: an answer without RDLENGTH */
	REJECT(RESP(1, 0, 0) "q:example,1 n:@12 u16:1 u16:1 u32:0"),
	/* reject: RDATA running past the end of the message */
	REJECT(RESP(1, 0, 0) "q:example,1 n:@12 u16:1 u16:1 u32:0 u16:10 ip:192.0.2.1"),
	/* reject: A with 3 octets */
	REJECT(RESP(1, 0, 0) "q:example,1 rr:@12,1,0 { x:c00002 }"),
	/* reject: A with 5 octets */
	REJECT(RESP(1, 0, 0) "q:example,1 rr:@12,1,0 { x:c000020100 }"),
	/* reject: AAAA with 4 octets */
	REJECT(RESP(1, 0, 0) "q:example,28 rr:@12,28,0 { ip:192.0.2.1 }"),
	/* reject: AAAA with 17 octets */
	REJECT(RESP(1, 0, 0) "q:example,28 rr:@12,28,0 { ip:2001:db8::1 u8:0 }"),
	/* reject: TLSA shorter than usage, selector and matching type */
	REJECT(RESP(1, 0, 0) "q:_25._tcp.mx.example,52 rr:@12,52,0 { x:0301 }"),
	/* reject: MX shorter than a preference and the root */
	REJECT(RESP(1, 0, 0) "q:example,15 rr:@12,15,0 { u16:0 }"),
	/* reject: MX with an octet after the exchange */
	REJECT(RESP(1, 0, 0) "q:example,15 rr:@12,15,0 { u16:0 n:mx.@12 u8:0 }"),
	/* reject: MX exchange running past RDLENGTH */
	REJECT(RESP(1, 0, 0) "q:example,15 n:@12 u16:15 u16:1 u32:0 u16:4 u16:0 n:mx.@12"),
	/* reject: CNAME without RDATA */
	REJECT(RESP(1, 0, 0) Q_STS "rr:@12,5,0 { }"),
	/* reject: TXT without a character-string */
	REJECT(RESP(1, 0, 0) Q_STS "rr:@12,16,0 { }"),
	/* reject: TXT character-string running past the RDATA */
	REJECT(RESP(1, 0, 0) Q_STS "rr:@12,16,0 { x:05616263 }"),
	/* reject: TXT character-string running past RDATA into the next record */
	REJECT(RESP(2, 0, 0) Q_STS "rr:@12,16,0 { x:0561 } rr:@12,16,0 { s:abc }"),
	/* reject: a compression pointer to itself */
	REJECT(RESP(1, 0, 0) "q:example,1 =p rr:@p,1,0 { ip:192.0.2.1 }"),
	/* reject: a pointer forward, past itself */
	REJECT(RESP(1, 0, 0) "q:example,1 n:@40 u16:1 u16:1 u32:0 u16:4 ip:192.0.2.1 n:x.@12"),
	/* reject: a label then a pointer back to that label (a loop) */
	REJECT(RESP(1, 0, 0) "q:example,1 rr:=l.loop.@l,1,0 { ip:192.0.2.1 }"),
	/* reject: two names pointing at each other */
	REJECT("hdr:1,0x8180,0,2,0,0 rr:.,65280,0 { u16:0xc019 } rr:@23,1,0 { ip:192.0.2.1 }"),
	/* reject: after a jump, a pointer into the labels jumped to (a loop) */
	REJECT("hdr:1,0x8180,0,2,0,0 rr:.,65280,0 { n:=y.one.=b.two.@b } "
	       "rr:@y,1,0 { ip:192.0.2.1 }"),
	/* reject: 128 jumps, one more than the limit */
	REJECT("hdr:1,0x8180,0,2,0,0 rr:.,65280,0 { ptrs:127,12 } rr:@275,1,0 { ip:192.0.2.1 }"),
	/* reject: a name of 256 octets in wire form */
	REJECT(RESP(0, 0, 0) "q:a*63.b*63.c*63.d*62,1"),
	/* reject: a name over 255 octets only through compression */
	REJECT(RESP(1, 0, 0) "q:a*63.b*63.c*63.d*61,1 rr:x.@12,1,0 { ip:192.0.2.1 }"),
	/* reject: a label of type 01 (0x40, extended label) */
	REJECT(RESP(0, 0, 0) "x:4161 u8:0 u16:1 u16:1"),
	/* reject: a label of type 10 (0x80) */
	REJECT(RESP(0, 0, 0) "x:8161 u8:0 u16:1 u16:1"),
	/* reject: a label holding "." in an answer's owner */
	REJECT(RESP(1, 0, 0) "q:example,1 x:03612e62 n:@12 u16:1 u16:1 u32:0 u16:4 ip:192.0.2.1"),
	/* reject: a label holding NUL in the question */
	REJECT(RESP(0, 0, 0) "x:03610062 u8:0 u16:1 u16:1"),
	/* reject: a label running past the end of the message */
	REJECT(RESP(0, 0, 0) "x:0561626364"),
	/* reject: a pointer cut after its first octet */
	REJECT(RESP(0, 0, 0) "x:0161c0"),
	/* reject: a name without the root label */
	REJECT(RESP(0, 0, 0) "x:076578616d706c65"),
	/* reject: an authority record cut short */
	REJECT("hdr:1,0x8180,1,0,1,0 q:example,1 n:@12 u16:6 u16:1"),
	/* reject: an additional record whose RDATA runs past the end */
	REJECT("hdr:1,0x8180,1,0,0,1 q:example,1 n:. u16:41 u16:1232 u32:0 u16:8 u32:0"),
	/* reject: a malformed name in the additional section */
	REJECT("hdr:1,0x8180,1,0,0,1 q:example,1 n:x.@100 u16:1 u16:1 u32:0 u16:0"),
	/* reject: octets after the last record */
	REJECT(RESP(1, 0, 0) "q:example,1 rr:@12,1,0 { ip:192.0.2.1 } u8:0"),
	/* reject: an answer count over MTASTS_DNS_RR_MAX, before anything else */
	REJECT("hdr:1,0x8180,0,513,0,0"),
	/* reject: a message over 65535 octets */
	REJECT(RESP(0, 0, 0) "q:example,1 fill:65511,0"),
};

static bool run_case(const struct parse_case *c, size_t i)
{
	static struct wire w;
	struct mtasts_dns_message *m = NULL;
	char got[1024];
	bool ok = true;
	int rc;

	if (!build(&w, c->wire)) {
		print_error("FAILED case %zu: bad description\n", i);
		return false;
	}
	rc = mtasts_dns_message_parse(w.len > 0 ? w.buf : NULL, w.len, &m);
	if (rc != c->rc || (rc == MTASTS_OK) != (m != NULL)) {
		print_error("FAILED case %zu: %s: rc %d, expected %d\n", i, c->wire, rc, c->rc);
		mtasts_dns_message_free(m);
		return false;
	}
	if (m == NULL)
		return true;
	render_summary(m, got, sizeof(got));
	if (strcmp(got, c->summary) != 0 || m->answer_count != c->answers) {
		print_error("FAILED case %zu: %s\n  got %s, %zu answers\n", i, c->wire,
			    got, m->answer_count);
		ok = false;
	}
	for (size_t k = 0; ok && k < WANT_RR_MAX && k < m->answer_count; k++) {
		if (c->want[k] == NULL)
			continue;
		render_rr(&m->answers[k], got, sizeof(got));
		if (strcmp(got, c->want[k]) != 0) {
			print_error("FAILED case %zu answer %zu:\n  got  %s\n  want %s\n",
				    i, k, got, c->want[k]);
			ok = false;
		}
	}
	if (ok && !check_invariants(m, w.buf, w.len)) {
		print_error("FAILED case %zu: invariants\n", i);
		ok = false;
	}
	mtasts_dns_message_free(m);
	return ok;
}

static void test_parse(void **state)
{
	size_t failed = 0;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(parse_cases); i++)
		if (!run_case(&parse_cases[i], i))
			failed++;
	assert_int_equal(failed, 0);
}

/* The most answers there may be, and one more. */
static void test_answer_limit(void **state)
{
	static struct wire w;
	static char desc[MTASTS_DNS_RR_MAX * 40 + 100];
	struct mtasts_dns_message *m = NULL;
	size_t o;

	(void)state;
	for (size_t count = MTASTS_DNS_RR_MAX; count <= MTASTS_DNS_RR_MAX + 1; count++) {
		o = (size_t)snprintf(desc, sizeof(desc), "hdr:1,0x8180,1,%zu,0,0 q:example,1",
				     count);
		for (size_t i = 0; i < count; i++)
			o += (size_t)snprintf(desc + o, sizeof(desc) - o,
					      " rr:@12,1,1 { u32:%zu }", i);
		assert_true(build(&w, desc));
		if (count == MTASTS_DNS_RR_MAX) {
			assert_int_equal(mtasts_dns_message_parse(w.buf, w.len, &m), MTASTS_OK);
			assert_int_equal(m->answer_count, MTASTS_DNS_RR_MAX);
			assert_memory_equal(m->answers[511].address, "\0\0\x01\xff", 4);
			m = mtasts_dns_message_free(m);
		} else {
			assert_int_equal(mtasts_dns_message_parse(w.buf, w.len, &m),
					 MTASTS_ERR_INVALID);
			assert_null(m);
		}
	}
}

/* The message is copied: the caller's buffer may go away. */
static void test_copy(void **state)
{
	static struct wire w;
	struct mtasts_dns_message *m = NULL;

	(void)state;
	assert_true(build(&w, RESP(1, 0, 0) "q:_25._tcp.mx.example,52 "
			  "rr:@12,52,300 { u8:3 u8:1 u8:1 x:00ff }"));
	assert_int_equal(mtasts_dns_message_parse(w.buf, w.len, &m), MTASTS_OK);
	memset(w.buf, 0xee, w.len);
	assert_int_equal(m->answers[0].tlsa_usage, 3);
	assert_int_equal(m->answers[0].tlsa_data_len, 2);
	assert_memory_equal(m->answers[0].tlsa_data, "\x00\xff", 2);
	assert_ptr_equal(m->answers[0].rdata, m->raw + w.len - 5);
	m = mtasts_dns_message_free(m);
	assert_null(m);
}

/* Failure leaves *ret_message alone; free accepts NULL. */
static void test_failure(void **state)
{
	struct mtasts_dns_message *m = (struct mtasts_dns_message *)&m;
	static const uint8_t short_header[11] = { 0 };

	(void)state;
	assert_int_equal(mtasts_dns_message_parse(short_header, sizeof(short_header), &m),
			 MTASTS_ERR_INVALID);
	assert_ptr_equal(m, (struct mtasts_dns_message *)&m);
	assert_int_equal(mtasts_dns_message_parse(NULL, 12, &m), MTASTS_ERR_ARGUMENT);
	assert_int_equal(mtasts_dns_message_parse(short_header, 11, NULL),
			 MTASTS_ERR_ARGUMENT);
	assert_ptr_equal(m, (struct mtasts_dns_message *)&m);
	assert_null(mtasts_dns_message_free(NULL));
}

/* ------------------------------------------------- TXT at the final name */

#define TXT_WANT_MAX 4

struct txt_case {
	const char *wire;
	const char *final;		/* NULL: the CNAME chain loops */
	size_t max;
	size_t total;			/* what mtasts_dns_message_txt_records() returns */
	const char *want[TXT_WANT_MAX];	/* the first min(max, total) texts */
};

static const struct txt_case txt_cases[] = {
	/* the records at the question name, in answer order */
	{ RESP(2, 0, 0) Q_STS "rr:@12,16,300 { s:\"v=STSv1; id=1;\" } "
	  "rr:@12,16,300 { s:other }",
	  "_mta-sts.example", 4, 2, { "v=STSv1; id=1;", "other" } },
	/* character-strings joined */
	{ RESP(1, 0, 0) Q_STS "rr:@12,16,300 { s:v=STSv1; s:\" id=2;\" }",
	  "_mta-sts.example", 4, 1, { "v=STSv1; id=2;" } },
	/* no TXT record: 0 */
	{ RESP(0, 0, 0) Q_STS, "_mta-sts.example", 4, 0, { NULL } },
	/* only other types at the name */
	{ RESP(1, 0, 0) Q_STS "rr:@12,1,300 { ip:192.0.2.1 }",
	  "_mta-sts.example", 4, 0, { NULL } },
	/* a CNAME: the records at its target, not at the question name */
	{ RESP(3, 0, 0) Q_STS "rr:@12,5,300 { n:=t.target.@e } "
	  "rr:@12,16,300 { s:beside-the-cname } rr:@t,16,300 { s:at-target }",
	  "target.example", 4, 1, { "at-target" } },
	/* a chain of two, the records in any order */
	{ RESP(3, 0, 0) Q_STS "rr:two.@e,16,300 { s:end } "
	  "rr:one.@e,5,300 { n:two.@e } rr:@12,5,300 { n:one.@e }",
	  "two.example", 4, 1, { "end" } },
	/* a CNAME to a name with nothing there */
	{ RESP(1, 0, 0) Q_STS "rr:@12,5,300 { n:nowhere.@e }",
	  "nowhere.example", 4, 0, { NULL } },
	/* records at a name the question does not lead to are not ours */
	{ RESP(3, 0, 0) Q_STS "rr:other.@e,16,300 { s:injected } "
	  "rr:@12,16,300 { s:ours } rr:@e,16,300 { s:apex }",
	  "_mta-sts.example", 4, 1, { "ours" } },
	/* names without regard to case */
	{ RESP(2, 0, 0) Q_STS "rr:_MTA-STS.Example,16,300 { s:upper } "
	  "rr:@12,5,300 { n:x.@e }",
	  "x.example", 4, 0, { NULL } },
	{ RESP(2, 0, 0) "q:_MTA-STS.EXAMPLE,16 rr:_mta-sts.example,5,300 { n:T.Example } "
	  "rr:t.EXAMPLE,16,300 { s:mixed }",
	  "t.example", 4, 1, { "mixed" } },
	/* only class IN: a CHAOS TXT and a CHAOS CNAME are not followed */
	{ RESP(3, 0, 0) Q_STS "rrc:@12,16,3,300 { s:chaos } rrc:@12,5,3,300 { n:x.@e } "
	  "rr:@12,16,300 { s:in }",
	  "_mta-sts.example", 4, 1, { "in" } },
	/* more records than max: all counted, max kept */
	{ RESP(3, 0, 0) Q_STS "rr:@12,16,300 { s:a } rr:@12,16,300 { s:b } "
	  "rr:@12,16,300 { s:c }",
	  "_mta-sts.example", 2, 3, { "a", "b" } },
	/* max 0: only counted */
	{ RESP(2, 0, 0) Q_STS "rr:@12,16,300 { s:a } rr:@12,16,300 { s:b }",
	  "_mta-sts.example", 0, 2, { NULL } },
	/* two CNAMEs at one name: the first is followed */
	{ RESP(4, 0, 0) Q_STS "rr:@12,5,300 { n:first.@e } rr:@12,5,300 { n:second.@e } "
	  "rr:first.@e,16,300 { s:one } rr:second.@e,16,300 { s:two }",
	  "first.example", 4, 1, { "one" } },
	/* a CNAME to itself loops: nothing */
	{ RESP(2, 0, 0) Q_STS "rr:@12,5,300 { n:@12 } rr:@12,16,300 { s:x }",
	  NULL, 4, 0, { NULL } },
	/* two CNAMEs to each other loop */
	{ RESP(3, 0, 0) Q_STS "rr:@12,5,300 { n:=o.other.@e } rr:@o,5,300 { n:@12 } "
	  "rr:@o,16,300 { s:x }",
	  NULL, 4, 0, { NULL } },
	/* a chain into a loop further on */
	{ RESP(3, 0, 0) Q_STS "rr:@12,5,300 { n:=a.a.@e } rr:@a,5,300 { n:=b.b.@e } "
	  "rr:@b,5,300 { n:@a }",
	  NULL, 4, 0, { NULL } },
	/* no question: the root, with what is there */
	{ "hdr:2,0x8180,0,1,0,0 rr:.,16,0 { s:root }", "", 4, 1, { "root" } },
};

static bool run_txt_case(const struct txt_case *c, size_t i)
{
	static struct wire w;
	struct mtasts_dns_message *m = NULL;
	struct mtasts_bytes records[TXT_WANT_MAX];
	const char *final;
	size_t total, kept;
	bool ok = true;

	if (!build(&w, c->wire) || mtasts_dns_message_parse(w.buf, w.len, &m) != MTASTS_OK) {
		print_error("FAILED txt case %zu: not a message: %s\n", i, c->wire);
		mtasts_dns_message_free(m);
		return false;
	}
	final = mtasts_dns_message_final_name(m);
	total = mtasts_dns_message_txt_records(m, c->max > 0 ? records : NULL, c->max);
	if ((final == NULL) != (c->final == NULL) ||
	    (final != NULL && strcmp(final, c->final) != 0) || total != c->total) {
		print_error("FAILED txt case %zu: %s\n  final %s, %zu records\n", i, c->wire,
			    final != NULL ? final : "(loop)", total);
		ok = false;
	}
	kept = total < c->max ? total : c->max;
	for (size_t k = 0; ok && k < kept; k++) {
		if (c->want[k] == NULL || records[k].len != strlen(c->want[k]) ||
		    memcmp(records[k].data, c->want[k], records[k].len) != 0) {
			print_error("FAILED txt case %zu record %zu: \"%s\"\n", i, k,
				    escape(records[k].data, records[k].len));
			ok = false;
		}
	}
	mtasts_dns_message_free(m);
	return ok;
}

static void test_txt_records(void **state)
{
	size_t failed = 0;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(txt_cases); i++)
		if (!run_txt_case(&txt_cases[i], i))
			failed++;
	assert_int_equal(failed, 0);
	assert_null(mtasts_dns_message_final_name(NULL));
	assert_int_equal(mtasts_dns_message_txt_records(NULL, NULL, 0), 0);
}

/* A chain through every answer record is not a loop; one more step is. */
static void test_cname_chain_limit(void **state)
{
	static struct wire w;
	static char desc[40 * 64 + 200];
	struct mtasts_dns_message *m = NULL;
	size_t o;

	(void)state;
	for (int loop = 0; loop <= 1; loop++) {
		/* q0 -> q1 -> ... -> q31, and q31 -> q0 when it loops */
		o = (size_t)snprintf(desc, sizeof(desc), "hdr:1,0x8180,1,32,0,0 q:q0.example,16");
		for (int i = 0; i < 32; i++)
			o += (size_t)snprintf(desc + o, sizeof(desc) - o,
					      " rr:q%d.example,5,1 { n:q%d.example }", i,
					      i < 31 || loop ? (i + 1) % 32 : 32);
		assert_true(build(&w, desc));
		assert_int_equal(mtasts_dns_message_parse(w.buf, w.len, &m), MTASTS_OK);
		if (loop)
			assert_null(mtasts_dns_message_final_name(m));
		else
			assert_string_equal(mtasts_dns_message_final_name(m), "q32.example");
		m = mtasts_dns_message_free(m);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_answer_limit),
		cmocka_unit_test(test_copy),
		cmocka_unit_test(test_failure),
		cmocka_unit_test(test_txt_records),
		cmocka_unit_test(test_cname_chain_limit),
	};

	return cmocka_run_group_tests_name("dns_message", tests, NULL, NULL);
}
