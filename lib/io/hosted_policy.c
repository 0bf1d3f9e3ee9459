/*
 * hosted_policy.c - the policy file of a hosted domain and its id: the
 * canonical body of mtasts_policy_serialize(), read back by the policy
 * parser before it is handed out, and the SHA-256 of that body as id.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include <mtasts/diag.h>
#include <mtasts/policy.h>

#include "hosted_policy.h"
#include "util.h"

/* The first HOSTED_ID_LEN hexadecimal digits of the SHA-256 of body. */
static int body_id(const char *body, size_t len, char *id)
{
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int digest_len = 0;

	if (EVP_Digest(body, len, digest, &digest_len, EVP_sha256(), NULL) != 1 ||
	    digest_len * 2 < HOSTED_ID_LEN)
		return -1;
	for (size_t i = 0; i < HOSTED_ID_LEN / 2; i++)
		snprintf(id + 2 * i, 3, "%02x", digest[i]);
	return 0;
}

/* The body must read back as the policy it was made from. */
static int body_parses(const char *body, size_t len, const struct mtasts_policy *made,
		       char *why, size_t why_size)
{
	struct mtasts_diags diags;
	struct mtasts_policy *parsed = NULL;

	mtasts_diags_init(&diags);
	if (mtasts_policy_parse(body, len, &parsed, &diags) != MTASTS_OK) {
		const struct mtasts_diag *first = mtasts_diags_first_error(&diags);
		say_why(why, why_size, "the policy written does not parse: %s",
			first != NULL ? first->message : "no reason given");
		return -1;
	}
	bool same = parsed->mode == made->mode && parsed->max_age == made->max_age &&
		    parsed->mx_count == made->mx_count;
	for (size_t i = 0; same && i < made->mx_count; i++)
		same = strcmp(parsed->mx[i], made->mx[i]) == 0;
	mtasts_policy_free(parsed);
	if (!same) {
		say_why(why, why_size, "the policy written parses back different");
		return -1;
	}
	return 0;
}

int hosted_policy_render(const struct hosted_domain *domain, struct hosted_policy *ret_policy,
			 char *why, size_t why_size)
{
	bool removed = domain->removed_at != 0;
	struct mtasts_policy policy = {
		.mode = removed ? MTASTS_MODE_NONE : domain->mode,
		.max_age = removed ? HOSTED_REMOVAL_MAX_AGE : domain->max_age,
		.mx_count = domain->mx_count,
		.mx = domain->mx,
	};
	struct hosted_policy out = { .mode = policy.mode, .max_age = policy.max_age };

	if (!removed && policy.mode == MTASTS_MODE_NONE) {
		say_why(why, why_size, "%s: mode none is served only while a domain is removed",
			domain->name);
		return -1;
	}
	if (mtasts_policy_serialize(&policy, &out.body, &out.body_len) != MTASTS_OK) {
		say_why(why, why_size, "%s: the mode, mx or max_age cannot make a policy "
			"(max_age 1 to %u, 1 to %u mx patterns)", domain->name, MTASTS_MAX_AGE_MAX,
			MTASTS_POLICY_MX_MAX);
		return -1;
	}
	if (body_parses(out.body, out.body_len, &policy, why, why_size) != 0)
		goto fail;
	if (body_id(out.body, out.body_len, out.id) != 0) {
		say_why(why, why_size, "SHA-256 failed");
		goto fail;
	}
	snprintf(out.etag, sizeof(out.etag), "\"%s\"", out.id);
	*ret_policy = out;
	return 0;
fail:
	free(out.body);
	return -1;
}

void hosted_policy_release(struct hosted_policy *policy)
{
	if (policy == NULL)
		return;
	free(policy->body);
	policy->body = NULL;
	policy->body_len = 0;
}

void hosted_policy_txt(const struct hosted_policy *policy, char *buf, size_t size)
{
	snprintf(buf, size, "v=STSv1; id=%s;", policy->id);
}
