/*
 * public_suffix.h - the Public Suffix List, as libpsl knows it, to tell
 * "*.co.uk" from "*.example.co.uk".
 *
 * SYNOPSIS
 *	struct public_suffixes *list = public_suffixes_load(PUBLIC_SUFFIX_PATH);
 *
 *	public_suffix_is(list, "co.uk");	// true
 *	public_suffix_is(list, "example.co.uk");	// false
 *	list = public_suffixes_free(list);
 *
 * DESCRIPTION
 *	public_suffixes_load() takes the newest of three copies of the list
 *	(libpsl's psl_latest()): the file at path (NULL for none; the .dat
 *	text or the .dafsa form that psl-make-dafsa writes), the system's
 *	(Debian's publicsuffix package, which libpsl was built to read), and
 *	the copy built into libpsl.  NULL only when none of them can be had;
 *	public_suffix_is() then takes every name of one label, and only those,
 *	for a public suffix.
 *
 *	public_suffix_is() answers for a name without a final dot, in any
 *	ASCII case, internationalized labels in A-label form ("xn--p1ai") as
 *	mtasts writes every name: the list's rules of both sections count,
 *	ICANN's ("co.uk") and the private one ("github.io"), since a pattern
 *	"*.github.io" lets anyone with a site there be an MX host; and so
 *	does the implicit rule "*" of the list's algorithm: every top-level
 *	label is a public suffix, listed or not ("test", "example").
 */
#ifndef MTASTS_PUBLIC_SUFFIX_H
#define MTASTS_PUBLIC_SUFFIX_H

#include <stdbool.h>

#define PUBLIC_SUFFIX_PATH "/usr/share/publicsuffix/public_suffix_list.dafsa"

struct public_suffixes;

struct public_suffixes *public_suffixes_load(const char *path);
/* Accepts NULL; returns NULL. */
struct public_suffixes *public_suffixes_free(struct public_suffixes *list);

/* mtasts_public_suffix_fn: arg is a struct public_suffixes, or NULL. */
bool public_suffix_is(void *arg, const char *name);

#endif
