/*
 * public_suffix.c - the Public Suffix List through libpsl: its newest copy
 * on this system, searched with the list's own algorithm (wildcards,
 * exceptions, A-labels).
 */
#include <stdlib.h>
#include <string.h>

#include <libpsl.h>

#include "hostname.h"
#include "public_suffix.h"

struct public_suffixes {
	const psl_ctx_t *psl;
	psl_ctx_t *owned;		/* psl when loaded; NULL for the built-in */
};

struct public_suffixes *public_suffixes_free(struct public_suffixes *list)
{
	if (list == NULL)
		return NULL;
	psl_free(list->owned);
	free(list);
	return NULL;
}

struct public_suffixes *public_suffixes_load(const char *path)
{
	struct public_suffixes *list = calloc(1, sizeof(*list));

	if (list == NULL)
		return NULL;
	/* The newest of path, the system's file and the built-in copy. */
	if ((list->owned = psl_latest(path)) != NULL)
		list->psl = list->owned;
	else
		list->psl = psl_builtin();
	if (list->psl == NULL)
		return public_suffixes_free(list);
	return list;
}

bool public_suffix_is(void *arg, const char *name)
{
	const struct public_suffixes *list = arg;
	char lower[HOSTNAME_BUF];
	size_t len = strnlen(name, sizeof(lower));

	if (list == NULL)
		return len > 0 && strchr(name, '.') == NULL;
	/* No public suffix is longer than a host name; libpsl wants lower case. */
	if (len == 0 || len == sizeof(lower))
		return false;
	for (size_t i = 0; i <= len; i++)
		lower[i] = name[i] >= 'A' && name[i] <= 'Z' ?
			   (char)(name[i] - 'A' + 'a') : name[i];
	return psl_is_public_suffix2(list->psl, lower, PSL_TYPE_ANY) != 0;
}
