/*
 * public_suffix.c - a sorted copy of the Public Suffix List's rules, searched
 * with bsearch.  Rules: "com", "co.uk", wildcards "*.ck" (any label under
 * ck), exceptions "!www.ck" (not a suffix after all).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "public_suffix.h"

#define RULES_MAX 20000
#define RULE_LEN_MAX 256

struct public_suffixes {
	size_t count;
	char **rules;
};

static int compare(const void *a, const void *b)
{
	return strcasecmp(*(char *const *)a, *(char *const *)b);
}

struct public_suffixes *public_suffixes_free(struct public_suffixes *list)
{
	if (list == NULL)
		return NULL;
	for (size_t i = 0; i < list->count; i++)
		free(list->rules[i]);
	free(list->rules);
	free(list);
	return NULL;
}

struct public_suffixes *public_suffixes_load(const char *path)
{
	struct public_suffixes *list;
	char line[RULE_LEN_MAX + 2];
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return NULL;
	if ((list = calloc(1, sizeof(*list))) == NULL ||
	    (list->rules = calloc(RULES_MAX, sizeof(*list->rules))) == NULL) {
		free(list);
		fclose(f);
		return NULL;
	}
	while (fgets(line, sizeof(line), f) != NULL && list->count < RULES_MAX) {
		line[strcspn(line, " \t\r\n")] = '\0';
		if (line[0] == '\0' || strncmp(line, "//", 2) == 0)
			continue;
		if ((list->rules[list->count] = strdup(line)) == NULL)
			break;
		list->count++;
	}
	fclose(f);
	qsort(list->rules, list->count, sizeof(*list->rules), compare);
	return list;
}

static bool has_rule(const struct public_suffixes *list, const char *rule)
{
	return bsearch(&rule, list->rules, list->count, sizeof(*list->rules),
		       compare) != NULL;
}

bool public_suffix_is(void *arg, const char *name)
{
	const struct public_suffixes *list = arg;
	char buf[RULE_LEN_MAX + 2];
	const char *dot;

	if (list == NULL)
		return strchr(name, '.') == NULL;
	snprintf(buf, sizeof(buf), "!%s", name);
	if (has_rule(list, buf))
		return false;
	if (has_rule(list, name))
		return true;
	if ((dot = strchr(name, '.')) == NULL)
		return true;	/* every TLD is a suffix */
	snprintf(buf, sizeof(buf), "*%s", dot);
	return has_rule(list, buf);
}
