/*
 * suggest.c - the command or option a mistyped word most likely meant, by
 * Damerau-Levenshtein distance (optimal string alignment).
 */
#include <getopt.h>
#include <string.h>

#include "cli.h"

#define SUGGEST_WORD_MAX 64	/* octets of a word compared; longer: no guess */
#define SUGGEST_DISTANCE_MAX 2

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/*
 * The edits that turn a[0..la) into b[0..lb): insertions, deletions,
 * substitutions and swaps of two neighbours, ASCII case ignored.  Three
 * rows of the usual table suffice.
 */
static size_t distance(const char *a, size_t la, const char *b, size_t lb)
{
	size_t rows[3][SUGGEST_WORD_MAX + 1];
	size_t *before = rows[0], *prev = rows[1], *cur = rows[2];

	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t cost = lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1;
			size_t best = prev[j - 1] + cost;

			if (prev[j] + 1 < best)
				best = prev[j] + 1;
			if (cur[j - 1] + 1 < best)
				best = cur[j - 1] + 1;
			if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) &&
			    lower(a[i - 2]) == lower(b[j - 1]) && before[j - 2] + 1 < best)
				best = before[j - 2] + 1;
			cur[j] = best;
		}
		size_t *spare = before;
		before = prev;
		prev = cur;
		cur = spare;
	}
	return prev[lb];
}

/* The better of best and candidate for word[0..len); best_distance follows. */
static const char *nearer(const char *best, size_t *best_distance,
			  const char *candidate, const char *word, size_t len)
{
	size_t clen = strlen(candidate), d;

	if (clen > SUGGEST_WORD_MAX)
		return best;
	d = distance(word, len, candidate, clen);
	if (d > SUGGEST_DISTANCE_MAX || d >= len || d >= *best_distance)
		return best;
	*best_distance = d;
	return candidate;
}

const char *suggest_word(const char *const *words, size_t count, const char *word)
{
	size_t len = strlen(word), best_distance = (size_t)-1;
	const char *best = NULL;

	if (len == 0 || len > SUGGEST_WORD_MAX)
		return NULL;
	for (size_t i = 0; i < count; i++)
		best = nearer(best, &best_distance, words[i], word, len);
	return best;
}

const char *suggest_long_option(const struct option *options, const char *arg)
{
	size_t len, best_distance = (size_t)-1;
	const char *best = NULL;

	while (*arg == '-')
		arg++;
	len = strcspn(arg, "=");
	if (len == 0 || len > SUGGEST_WORD_MAX)
		return NULL;
	for (const struct option *o = options; o->name != NULL; o++)
		best = nearer(best, &best_distance, o->name, arg, len);
	return best;
}
