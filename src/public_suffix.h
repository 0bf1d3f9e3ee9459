/*
 * public_suffix.h - the Public Suffix List, read from the file Debian's
 * publicsuffix package installs, to tell "*.co.uk" from "*.example.co.uk".
 */
#ifndef MTASTS_PUBLIC_SUFFIX_H
#define MTASTS_PUBLIC_SUFFIX_H

#include <stdbool.h>

#define PUBLIC_SUFFIX_PATH "/usr/share/publicsuffix/public_suffix_list.dat"

struct public_suffixes;

/* NULL when the file cannot be read (callers then fall back to one label). */
struct public_suffixes *public_suffixes_load(const char *path);
struct public_suffixes *public_suffixes_free(struct public_suffixes *list);

/* mtasts_public_suffix_fn: arg is a struct public_suffixes. */
bool public_suffix_is(void *arg, const char *name);

#endif
