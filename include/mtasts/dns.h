/*
 * mtasts/dns.h - decoding DNS response messages (RFC 1035), for what
 * c-ares does not decode: TLSA records, TTLs, CNAME chains, the AD bit.
 *
 * SYNOPSIS
 *	struct mtasts_dns_message *msg;
 *	rc = mtasts_dns_message_parse(buf, len, &msg);
 *	for (size_t i = 0; i < msg->answer_count; i++)
 *		if (msg->answers[i].type == MTASTS_DNS_TYPE_TLSA) ...
 *	count = mtasts_dns_message_txt_records(msg, records, max);
 *	msg = mtasts_dns_message_free(msg);
 *
 * DESCRIPTION
 *	mtasts_dns_message_parse() decodes the header and the answer section
 *	of a response; other sections are skipped but must be well formed.
 *	Owner names and names inside RDATA (CNAME, MX) are decompressed
 *	(RFC 1035 4.1.4) with loops and forward pointers refused, and written
 *	in lower case without the final dot.  The RDATA of the types below is
 *	decoded; every RR keeps its raw RDATA too.  TXT character-strings of
 *	one record are joined without separator.
 *
 *	Malformed input returns MTASTS_ERR_INVALID; *ret_message is then
 *	untouched.
 *
 * LIMITS
 *	Messages of at most 65535 octets, at most MTASTS_DNS_RR_MAX answer
 *	records, names of at most 255 octets.
 */
#ifndef MTASTS_DNS_H
#define MTASTS_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mtasts/diag.h>
#include <mtasts/txt.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MTASTS_DNS_RR_MAX 512
#define MTASTS_DNS_NAME_MAX 255
#define MTASTS_DNS_CLASS_IN 1

enum mtasts_dns_type {
	MTASTS_DNS_TYPE_A = 1,
	MTASTS_DNS_TYPE_CNAME = 5,
	MTASTS_DNS_TYPE_MX = 15,
	MTASTS_DNS_TYPE_TXT = 16,
	MTASTS_DNS_TYPE_AAAA = 28,
	MTASTS_DNS_TYPE_TLSA = 52,
};

enum mtasts_dns_rcode {
	MTASTS_DNS_RCODE_NOERROR = 0,
	MTASTS_DNS_RCODE_FORMERR = 1,
	MTASTS_DNS_RCODE_SERVFAIL = 2,
	MTASTS_DNS_RCODE_NXDOMAIN = 3,
	MTASTS_DNS_RCODE_NOTIMP = 4,
	MTASTS_DNS_RCODE_REFUSED = 5,
};

struct mtasts_dns_rr {
	char name[MTASTS_DNS_NAME_MAX + 1];	/* owner, lower case, no final dot */
	uint16_t type;
	uint16_t rclass;
	uint32_t ttl;
	const uint8_t *rdata;			/* points into the message copy */
	uint16_t rdata_len;
	/* Decoded RDATA, by type: */
	char target[MTASTS_DNS_NAME_MAX + 1];	/* CNAME target, MX exchange ("" for "."); */
	uint16_t preference;			/* MX */
	uint8_t address[16];			/* A (4 octets) or AAAA (16) */
	char *text;				/* TXT, joined, NUL-terminated */
	size_t text_len;
	uint8_t tlsa_usage, tlsa_selector, tlsa_matching;	/* TLSA */
	const uint8_t *tlsa_data;
	size_t tlsa_data_len;
};

struct mtasts_dns_message {
	uint16_t id;
	bool response, authoritative, truncated, recursion_available;
	bool authenticated;			/* AD bit */
	enum mtasts_dns_rcode rcode;
	char question[MTASTS_DNS_NAME_MAX + 1];
	uint16_t question_type;
	size_t answer_count;
	struct mtasts_dns_rr *answers;
	uint8_t *raw;				/* the message, copied */
	size_t raw_len;
};

int mtasts_dns_message_parse(const uint8_t *buf, size_t len,
			     struct mtasts_dns_message **ret_message);

/* Accepts NULL; returns NULL. */
struct mtasts_dns_message *mtasts_dns_message_free(struct mtasts_dns_message *message);

/*
 * The name the answer is about: the question name, or where the chain of
 * CNAME records in the answer that starts at it ends (RFC 1034 3.6.2).
 * Only records of class IN count; of two CNAME records at one name the
 * first is followed.  NULL when the chain loops.  The name points into
 * message.
 */
const char *mtasts_dns_message_final_name(const struct mtasts_dns_message *message);

/*
 * The TXT records of class IN at the final name, in answer order, each
 * the text of one record (its character-strings joined).  The first max
 * of them are written to records (pointing into message), and how many
 * there are in all is returned, so that more than max can be told from
 * max.  Records at other names, as a resolver may add, are left out.
 * 0 for NULL or a CNAME loop; records may be NULL when max is 0.
 */
size_t mtasts_dns_message_txt_records(const struct mtasts_dns_message *message,
				      struct mtasts_bytes *records, size_t max);

#ifdef __cplusplus
}
#endif

#endif
