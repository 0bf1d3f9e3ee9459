/*
 * policy_serialize.c - a policy struct written in the canonical form of an
 * MTA-STS policy file, refused when it would not parse back the same.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mtasts/mx.h>
#include <mtasts/policy.h>

#include "policy_parse.h"

/* What the serializer may write must parse back to the same policy. */
static bool extension_serializable(const struct mtasts_extension *e)
{
	size_t len;

	if (e->name == NULL || e->value == NULL ||
	    !is_ext_name(e->name, strlen(e->name)))
		return false;
	if (policy_known_name_bit(e->name, strlen(e->name)) != 0)
		return false;
	len = strlen(e->value);
	if (len == 0 || e->value[0] == ' ' || e->value[len - 1] == ' ')
		return false;
	for (size_t i = 0; i < len;) {
		const unsigned char *v = (const unsigned char *)e->value;
		size_t n;

		if (is_vchar(v[i]) || v[i] == ' ') {
			i++;
			continue;
		}
		if ((n = utf8_sequence_len(v + i, len - i)) == 0)
			return false;
		i += n;
	}
	return true;
}

static bool policy_serializable(const struct mtasts_policy *policy)
{
	if (mtasts_mode_name(policy->mode) == NULL ||
	    policy->max_age > MTASTS_MAX_AGE_MAX ||
	    policy->mx_count > MTASTS_POLICY_MX_MAX ||
	    (policy->mx_count == 0 && policy->mode != MTASTS_MODE_NONE) ||
	    (policy->mx_count > 0 && policy->mx == NULL) ||
	    (policy->extension_count > 0 && policy->extensions == NULL))
		return false;
	for (size_t i = 0; i < policy->mx_count; i++)
		if (policy->mx[i] == NULL ||
		    !mtasts_mx_pattern_check(policy->mx[i], strlen(policy->mx[i]),
					     NULL, NULL, 0))
			return false;
	for (size_t i = 0; i < policy->extension_count; i++) {
		if (!extension_serializable(&policy->extensions[i]))
			return false;
		/* A repeated name would parse back as one extension. */
		for (size_t j = 0; j < i; j++)
			if (strcmp(policy->extensions[j].name,
				   policy->extensions[i].name) == 0)
				return false;
	}
	return true;
}

static void append(char *buf, size_t *pos, const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);

	memcpy(buf + *pos, a, la);
	memcpy(buf + *pos + la, b, lb);
	memcpy(buf + *pos + la + lb, "\r\n", 2);
	*pos += la + lb + 2;
}

int mtasts_policy_serialize(const struct mtasts_policy *policy,
			    char **ret_text, size_t *ret_len)
{
	char max_age[16];
	size_t size, pos = 0;
	char *buf;

	if (policy == NULL || ret_text == NULL)
		return MTASTS_ERR_ARGUMENT;
	if (!policy_serializable(policy))
		return MTASTS_ERR_INVALID;
	snprintf(max_age, sizeof(max_age), "%u", (unsigned)policy->max_age);
	size = sizeof("version: STSv1\r\n") + sizeof("mode: enforce\r\n") +
	       sizeof("max_age: \r\n") + strlen(max_age) + 1;
	for (size_t i = 0; i < policy->mx_count; i++)
		size += sizeof("mx: \r\n") + strlen(policy->mx[i]);
	for (size_t i = 0; i < policy->extension_count; i++)
		size += strlen(policy->extensions[i].name) +
			strlen(policy->extensions[i].value) + sizeof(": \r\n");
	if ((buf = malloc(size)) == NULL)
		return MTASTS_ERR_NOMEM;
	append(buf, &pos, "version: ", "STSv1");
	append(buf, &pos, "mode: ", mtasts_mode_name(policy->mode));
	for (size_t i = 0; i < policy->mx_count; i++)
		append(buf, &pos, "mx: ", policy->mx[i]);
	append(buf, &pos, "max_age: ", max_age);
	for (size_t i = 0; i < policy->extension_count; i++) {
		append(buf, &pos, policy->extensions[i].name, ": ");
		pos -= 2;	/* the value goes on the same line */
		append(buf, &pos, "", policy->extensions[i].value);
	}
	buf[pos] = '\0';
	*ret_text = buf;
	if (ret_len != NULL)
		*ret_len = pos;
	return MTASTS_OK;
}
