/*
 * hosted_policy.h - the policy file served for a hosted domain, and the
 * id of its TXT record: decided here once, for `mtasts serve` (which
 * serves it), `mtasts domains` (which prints the records to publish) and
 * `mtasts domains verify` (which compares them with what is published).
 *
 * DESCRIPTION
 *	The body is the canonical form of mtasts_policy_serialize(): version,
 *	mode, each mx, max_age, CRLF line ends.  A domain being removed
 *	(removed_at set) is served with mode none and max_age
 *	HOSTED_REMOVAL_MAX_AGE (RFC 8461 8.3), its mx lines kept.
 *
 *	The id is the first 32 hexadecimal digits of the SHA-256 of the
 *	body, so it changes exactly when the content does; the ETag is the
 *	id in quotes.
 */
#ifndef MTASTS_HOSTED_POLICY_H
#define MTASTS_HOSTED_POLICY_H

#include <stddef.h>

#include "domain_registry.h"

#define HOSTED_REMOVAL_MAX_AGE 86400u	/* one day: short, as RFC 8461 8.3 asks */
#define HOSTED_ID_LEN 32

struct hosted_policy {
	char *body;			/* NUL-terminated; body_len octets */
	size_t body_len;
	char id[HOSTED_ID_LEN + 1];	/* for "v=STSv1; id=...;" */
	char etag[HOSTED_ID_LEN + 3];	/* "\"<id>\"" */
	enum mtasts_mode mode;		/* as served */
	uint32_t max_age;		/* as served */
};

/* 0, or -1 with a sentence in why (a domain that does not make a valid policy). */
int hosted_policy_render(const struct hosted_domain *domain, struct hosted_policy *ret_policy,
			 char *why, size_t why_size);

void hosted_policy_release(struct hosted_policy *policy);

/* The record to publish at _mta-sts.<domain>: "v=STSv1; id=<id>;" */
void hosted_policy_txt(const struct hosted_policy *policy, char *buf, size_t size);

#endif
