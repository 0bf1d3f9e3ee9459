/*
 * domain_args.c - domains from operands and files, checked one by one, with
 * a sentence for each word that is something else (an address, a URL).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "domain_args.h"
#include "hostname.h"

#define SHOWN_MAX 80		/* octets of a word quoted in a message */
#define SPACE " \t\r\v\f"

/* Words that ask for help rather than name a domain. */
static const char *const help_words[] = {
	"help", "-help", "--help", "-h", "?", "-?", "/?", "/h", "/help", "usage",
};

/* word as a message quotes it: control octets escaped, long ones cut. */
static void quote(const char *word, char *buf, size_t size)
{
	text_shown(word, buf, size, SHOWN_MAX);
}

static bool is_help_word(const char *word)
{
	for (size_t i = 0; i < sizeof(help_words) / sizeof(help_words[0]); i++)
		if (strcasecmp(word, help_words[i]) == 0)
			return true;
	return false;
}

static bool is_ip_address(const char *word)
{
	unsigned char addr[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, word, addr) == 1 || inet_pton(AF_INET6, word, addr) == 1;
}

/*
 * The domain that text[0..len) names, when it is one (the policy host
 * "mta-sts.example.com" of a URL taken as its domain, with policy_host);
 * false otherwise.
 */
static bool domain_in(const char *text, size_t len, bool policy_host, char *out,
		      size_t size)
{
	char word[HOSTNAME_INPUT_MAX + 1];

	if (len == 0 || len > HOSTNAME_INPUT_MAX)
		return false;
	memcpy(word, text, len);
	word[len] = '\0';
	if (is_ip_address(word) || hostname_normalize(word, out, size, NULL, 0) != 0)
		return false;
	if (policy_host && strncmp(out, "mta-sts.", 8) == 0 && strchr(out + 8, '.') != NULL)
		memmove(out, out + 8, strlen(out + 8) + 1);
	return true;
}

/* "scheme://[user@]host[:port][/path]": the host. */
static void explain_url(const char *word, const char *shown, char *why, size_t size)
{
	const char *host = strstr(word, "://") + 3, *end, *at;
	char domain[HOSTNAME_BUF];

	end = host + strcspn(host, "/?#");
	if ((at = memchr(host, '@', (size_t)(end - host))) != NULL)
		host = at + 1;
	if (*host != '[')
		end = host + strcspn(host, ":/?#");
	if (domain_in(host, (size_t)(end - host), true, domain, sizeof(domain)))
		snprintf(why, size, "'%s' is a URL; give the domain: %s", shown, domain);
	else
		snprintf(why, size, "'%s' is a URL; give a domain name", shown);
}

/* "user@example.com", "mailto:user@example.com": the domain after "@". */
static void explain_address(const char *word, const char *shown, char *why, size_t size)
{
	const char *domain_part = strrchr(word, '@') + 1;
	char domain[HOSTNAME_BUF];

	if (domain_in(domain_part, strlen(domain_part), false, domain, sizeof(domain)))
		snprintf(why, size, "'%s' is an e-mail address; give the domain: %s",
			 shown, domain);
	else
		snprintf(why, size, "'%s' is an e-mail address; give a domain name", shown);
}

/* The record names "_mta-sts.DOMAIN" and "_smtp._tls.DOMAIN". */
static bool explain_record_name(const char *word, const char *shown, char *why,
				size_t size)
{
	static const char *const prefixes[] = { "_mta-sts.", "_smtp._tls." };
	char domain[HOSTNAME_BUF];

	for (size_t i = 0; i < 2; i++) {
		size_t len = strlen(prefixes[i]);

		if (strncasecmp(word, prefixes[i], len) == 0) {
			if (domain_in(word + len, strlen(word + len), false, domain,
				      sizeof(domain)))
				snprintf(why, size, "'%s' is the name of a TXT record; give "
					 "the domain: %s", shown, domain);
			else
				snprintf(why, size, "'%s' is the name of a TXT record; give "
					 "a domain name", shown);
			return true;
		}
	}
	return false;
}

/* "example.com:25" or "192.0.2.1:25": a host and a port. */
static bool explain_port(const char *word, const char *shown, char *why, size_t size)
{
	const char *colon = strrchr(word, ':');
	char domain[HOSTNAME_BUF], host[INET_ADDRSTRLEN];
	size_t len;

	if (colon == NULL || colon[1] == '\0' ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1))
		return false;
	len = (size_t)(colon - word);
	if (len < sizeof(host)) {
		memcpy(host, word, len);
		host[len] = '\0';
		if (is_ip_address(host)) {
			snprintf(why, size, "'%s' is an IP address and a port; MTA-STS "
				 "applies to domain names", shown);
			return true;
		}
	}
	if (!domain_in(word, len, false, domain, sizeof(domain)))
		return false;
	snprintf(why, size, "'%s' has a port; give the domain: %s", shown, domain);
	return true;
}

/* The first octet of an ASCII word that no host name has, with its place. */
static bool explain_character(const char *word, const char *shown, char *why,
			      size_t size)
{
	static const char allowed[] = "abcdefghijklmnopqrstuvwxyz"
				      "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-";
	size_t at = strspn(word, allowed);
	unsigned char c = (unsigned char)word[at];
	char octet[8];

	if (c == '\0' || c >= 0x80)
		return false;
	if (c < 0x20 || c == 0x7f)
		snprintf(octet, sizeof(octet), "\\x%02X", c);
	else
		snprintf(octet, sizeof(octet), "%c", c);
	if (strchr(SPACE, c) != NULL)
		snprintf(why, size, "'%s' is not a domain name: it has white space "
			 "(octet %zu); give one domain a word", shown, at + 1);
	else
		snprintf(why, size, "'%s' is not a domain name: '%s' (octet %zu) is "
			 "not a letter, digit, hyphen or dot", shown, octet, at + 1);
	return true;
}

/* Whether the last label of name (no final dot) is all digits. */
static bool numeric_top(const char *name)
{
	const char *dot = strrchr(name, '.');
	const char *last = dot != NULL ? dot + 1 : name;

	return strspn(last, "0123456789") == strlen(last);
}

/* Why word is not a domain name, when a closer look can tell. */
static bool explain(const char *word, const char *command, const char *shown,
		    char *why, size_t size)
{
	if (word[0] == '\0')
		snprintf(why, size, "an empty word is not a domain name");
	else if (command != NULL && is_help_word(word))
		snprintf(why, size, "'%s' is not a domain; did you mean '" PROGRAM_NAME
			 " help %s'?", shown, command);
	else if (word[0] == '[')
		snprintf(why, size, "'%s' is an address literal; MTA-STS applies to "
			 "domain names", shown);
	else if (strstr(word, "://") != NULL)
		explain_url(word, shown, why, size);
	else if (is_ip_address(word))
		snprintf(why, size, "'%s' is an IP address; MTA-STS applies to domain "
			 "names", shown);
	else if (strchr(word, '@') != NULL)
		explain_address(word, shown, why, size);
	else if (explain_record_name(word, shown, why, size) ||
		 explain_port(word, shown, why, size))
		return true;
	else if (strncmp(word, "*.", 2) == 0)
		snprintf(why, size, "'%s' is a wildcard pattern, not a domain name", shown);
	else
		return explain_character(word, shown, why, size);
	return true;
}

int domain_normalize(const char *word, const char *command, char *ret_name,
		     size_t name_size, char *why, size_t why_size)
{
	char shown[SHOWN_MAX + 8], name[HOSTNAME_BUF], reason[200];

	quote(word, shown, sizeof(shown));
	if (explain(word, command, shown, why, why_size))
		return -1;
	if (hostname_normalize(word, name, sizeof(name), reason, sizeof(reason)) != 0) {
		snprintf(why, why_size, "'%s' is not a domain name: %s", shown, reason);
		return -1;
	}
	if (numeric_top(name)) {
		snprintf(why, why_size, "'%s' is not a domain name: its last label is all "
			 "digits, which no top-level domain is", shown);
		return -1;
	}
	if (strlen(name) > DOMAIN_NAME_MAX) {
		snprintf(why, why_size, "'%s' is too long: with \"_smtp._tls.\" in front "
			 "it would pass the 253 octets of a DNS name", shown);
		return -1;
	}
	if (strlen(name) >= name_size) {
		snprintf(why, why_size, "'%s' does not fit in %zu octets", shown, name_size);
		return -1;
	}
	memcpy(ret_name, name, strlen(name) + 1);
	return 0;
}

int domain_list_collect(struct domain_list *list, const struct command *cmd,
			const char *const *files, size_t file_count,
			int argc, char *const *argv)
{
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < file_count; i++)
		rc = domain_list_add_file(list, cmd, files[i]);
	if (rc == 0)
		rc = domain_list_add_args(list, cmd, argc, argv);
	if (rc == 0 && list->count == 0) {
		print_usage_error(cmd, file_count > 0 ? "the -f files hold no domain" :
				  "give at least one DOMAIN or -f FILE");
		rc = EXIT_USAGE_ERROR;
	}
	return rc;
}

void domain_list_release(struct domain_list *list)
{
	if (list == NULL)
		return;
	for (size_t i = 0; i < list->count; i++)
		free(list->names[i]);
	free(list->names);
	memset(list, 0, sizeof(*list));
}

/* Append a name already checked; 0 or an exit status, said. */
static int append(struct domain_list *list, const struct command *cmd,
		  const char *name)
{
	char *copy;

	if (list->count == DOMAIN_LIST_MAX) {
		print_usage_error(cmd, "more than %d domains", DOMAIN_LIST_MAX);
		return EXIT_USAGE_ERROR;
	}
	if (list->count == list->capacity) {
		size_t capacity = list->capacity == 0 ? 16 : list->capacity * 2;
		char **names;

		if (capacity > DOMAIN_LIST_MAX)
			capacity = DOMAIN_LIST_MAX;
		if ((names = realloc(list->names, capacity * sizeof(*names))) == NULL)
			goto nomem;
		list->names = names;
		list->capacity = capacity;
	}
	if ((copy = strdup(name)) == NULL)
		goto nomem;
	list->names[list->count++] = copy;
	return 0;
nomem:
	fprintf(stderr, PROGRAM_NAME " %s: out of memory\n", cmd->name);
	return EXIT_LOCAL_ERROR;
}

int domain_list_add_args(struct domain_list *list, const struct command *cmd,
			 int argc, char *const *argv)
{
	char name[HOSTNAME_BUF], why[512];
	int rc;

	for (int i = 0; i < argc; i++) {
		if (domain_normalize(argv[i], cmd->name, name, sizeof(name), why,
				     sizeof(why)) != 0) {
			print_usage_error(cmd, "%s", why);
			return EXIT_USAGE_ERROR;
		}
		if ((rc = append(list, cmd, name)) != 0)
			return rc;
	}
	return 0;
}

enum line_read {
	LINE_OK,
	LINE_END,		/* no more lines */
	LINE_LONG,
	LINE_NUL,
	LINE_ERROR,		/* errno says why */
};

/* One line without its newline into buf (size > DOMAIN_LINE_MAX). */
static enum line_read read_line(FILE *f, char *buf, size_t size)
{
	size_t len = 0;
	int c;

	while ((c = getc(f)) != EOF && c != '\n') {
		if (c == '\0')
			return LINE_NUL;
		if (len == size - 1 || len == DOMAIN_LINE_MAX)
			return LINE_LONG;
		buf[len++] = (char)c;
	}
	buf[len] = '\0';
	if (c == EOF && ferror(f))
		return LINE_ERROR;
	return c == EOF && len == 0 ? LINE_END : LINE_OK;
}

/* The word of a line: comment and surrounding white space dropped. */
static char *line_word(char *line)
{
	char *end;

	line[strcspn(line, "#")] = '\0';
	line += strspn(line, SPACE);
	end = line + strlen(line);
	while (end > line && strchr(SPACE, end[-1]) != NULL)
		*--end = '\0';
	return line;
}

/* The domains of an open file; f is not closed. */
static int add_lines(struct domain_list *list, const struct command *cmd, FILE *f,
		     const char *shown)
{
	char line[DOMAIN_LINE_MAX + 1], name[HOSTNAME_BUF], why[512];
	enum line_read got;
	unsigned long number = 0;
	int rc;

	while ((got = read_line(f, line, sizeof(line))) != LINE_END) {
		char *word;

		if (++number > DOMAIN_FILE_LINES_MAX) {
			print_usage_error(cmd, "%s: more than %d lines", shown,
					  DOMAIN_FILE_LINES_MAX);
			return EXIT_USAGE_ERROR;
		}
		if (got == LINE_ERROR) {
			print_usage_error(cmd, "%s: %s", shown, strerror(errno));
			return EXIT_USAGE_ERROR;
		}
		if (got == LINE_NUL) {
			print_usage_error(cmd, "%s:%lu: a NUL octet; a domain file is "
					  "text", shown, number);
			return EXIT_USAGE_ERROR;
		}
		if (got == LINE_LONG) {
			print_usage_error(cmd, "%s:%lu: the line is longer than %d octets",
					  shown, number, DOMAIN_LINE_MAX);
			return EXIT_USAGE_ERROR;
		}
		if (*(word = line_word(line)) == '\0')
			continue;
		if (word[strcspn(word, SPACE)] != '\0') {
			print_usage_error(cmd, "%s:%lu: more than one word; write one "
					  "domain a line", shown, number);
			return EXIT_USAGE_ERROR;
		}
		if (domain_normalize(word, NULL, name, sizeof(name), why, sizeof(why)) != 0) {
			print_usage_error(cmd, "%s:%lu: %s", shown, number, why);
			return EXIT_USAGE_ERROR;
		}
		if ((rc = append(list, cmd, name)) != 0)
			return rc;
	}
	return 0;
}

int domain_list_add_file(struct domain_list *list, const struct command *cmd,
			 const char *path)
{
	bool is_stdin = strcmp(path, "-") == 0;
	char shown[SHOWN_MAX + 8];
	FILE *f;
	int rc;

	if (is_stdin)
		snprintf(shown, sizeof(shown), "standard input");
	else
		quote(path, shown, sizeof(shown));
	if ((f = is_stdin ? stdin : fopen(path, "r")) == NULL) {
		print_usage_error(cmd, "%s: %s", shown, strerror(errno));
		return EXIT_USAGE_ERROR;
	}
	rc = add_lines(list, cmd, f, shown);
	if (!is_stdin)
		fclose(f);
	return rc;
}
