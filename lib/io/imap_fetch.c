/*
 * imap_fetch.c - TLS reports fetched from an IMAP mailbox on one reused
 * libcurl easy handle (one connection, one login, one SELECT), then moved,
 * flagged or left as the caller says.
 *
 * Every step is a libcurl transfer on the mailbox URL: the searches, the
 * flag changes and the moves are CURLOPT_CUSTOMREQUEST commands whose
 * untagged replies ("* SEARCH ...", "* CAPABILITY ...") arrive through the
 * write callback; each message is fetched by URL ".../MAILBOX;UID=n".
 *
 * Why the fetch marks the message \Seen and we undo it: libcurl fetches
 * ";UID=n" with "UID FETCH n BODY[]", which sets \Seen.  A custom
 * "UID FETCH n BODY.PEEK[]" would not, but then libcurl hands the message
 * over as response lines: lines longer than half its buffer are clipped,
 * CR LF are the server's, and a line of the message that looks like the
 * command's tagged reply ends the command early.  libcurl's own fetch reads
 * the literal by its announced size, byte for byte, whatever it holds.  So
 * the message is fetched that way and, when it is left for a later run or
 * its fetch failed (and it was unseen before), "UID STORE n -FLAGS (\Seen)"
 * puts it back.  A failed fetch has usually lost the connection (libcurl
 * closes it): the store then goes on a new one (a new login and SELECT),
 * and once more on a fresh one should that fail too.  When both fail, the
 * error names the UID: that message is \Seen but not stored.
 *
 * The window left: a process killed between the fetch and the store that
 * puts \Seen back (during the fetch, or in the caller).  A message lost to
 * it is still in the mailbox, \Seen without $TLSRPT-stored, and "--all"
 * finds it (the ones already stored come again as duplicates).  Searching
 * "UNKEYWORD $TLSRPT-stored" instead of UNSEEN would close it when flagging,
 * but not when moving, and would take the messages a person has read.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "imap_fetch.h"

enum {
	DEFAULT_TIMEOUT_MS = 30000,
	DEFAULT_MAX_MESSAGES = 10000,
	/* The replies of a command (a search of every UID): 7 octets a UID. */
	MAX_COMMAND_REPLY = 16 * 1024 * 1024,
	/*
	 * libcurl reads response lines into this buffer and clips a line longer
	 * than half of it: room for a "* SEARCH" line of about 35,000 UIDs.
	 * The UIDs clipped off a longer one stay unseen for the next run.
	 */
	RESPONSE_BUFFER = 512 * 1024,
	/* A fetch may take this many command timeouts. */
	FETCH_TIMEOUTS = 10,
};
#define DEFAULT_MAX_MESSAGE ((size_t)32 * 1024 * 1024)

struct imap_session {
	CURL *easy;
	struct imap_options options;	/* with the defaults filled in */
	char *mailbox_url;		/* scheme://host:port/MAILBOX, escaped, no credentials */
	char *reply;			/* what the write callback received */
	size_t reply_len, reply_cap, reply_max;
	bool over_limit;		/* the reply passed reply_max */
	bool fetching;			/* a message, not a command */
	char last_line[512];		/* the last response line: the tagged reply */
	char refusal[512];		/* the last "tag NO ..." or "tag BAD ..." */
	char error[CURL_ERROR_SIZE];
	bool move_known, has_move;
};

/* The server's text as printable ASCII, cut to fit. */
static void escape_into(char *out, size_t size, const char *text, size_t len)
{
	size_t o = 0;

	if (size == 0)
		return;
	for (size_t i = 0; i < len && o + 1 < size; i++) {
		unsigned char c = (unsigned char)text[i];

		if (c >= 0x20 && c < 0x7f && c != '\\') {
			out[o++] = (char)c;
		} else {
			if (o + 5 >= size)
				break;
			o += (size_t)snprintf(out + o, size - o, "\\x%02x", c);
		}
	}
	out[o] = '\0';
}

/* The server's last reply without its tag: "NO [AUTHENTICATIONFAILED] ...". */
static void server_text(const struct imap_session *s, char *out, size_t size)
{
	const char *text = s->refusal[0] != '\0' ? s->refusal : s->last_line;
	const char *space = strchr(text, ' ');

	if (space != NULL && text[0] != '*' && text[0] != '+')
		text = space + 1;
	if (text[0] == '\0')
		text = "(no reply)";
	escape_into(out, size, text, strlen(text));
}

/* "A003 NO Mailbox doesn't exist": the reason, kept past the LOGOUT after it. */
static void note_refusal(struct imap_session *s, size_t len)
{
	const char *space = strchr(s->last_line, ' ');

	if (s->last_line[0] != '*' && s->last_line[0] != '+' && space != NULL &&
	    (strncasecmp(space, " NO ", 4) == 0 || strncasecmp(space, " BAD ", 5) == 0))
		memcpy(s->refusal, s->last_line, len + 1);
}

/*
 * "* 3 FETCH (UID 7 BODY[] {12345}": the size of the message comes before
 * it, so one too large is refused before a byte of it is read.
 */
static bool announced_too_large(const struct imap_session *s, size_t len)
{
	const char *brace;
	unsigned long long announced;

	if (!s->fetching || len < 3 || s->last_line[len - 1] != '}' ||
	    (brace = strrchr(s->last_line, '{')) == NULL || !isdigit((unsigned char)brace[1]))
		return false;
	errno = 0;
	announced = strtoull(brace + 1, NULL, 10);
	return errno != 0 || announced > s->reply_max;
}

/* Every response line comes here (libcurl's "headers" of IMAP). */
static size_t on_header(char *data, size_t size, size_t count, void *arg)
{
	struct imap_session *s = arg;
	size_t len = size * count, keep = len;

	while (keep > 0 && (data[keep - 1] == '\n' || data[keep - 1] == '\r'))
		keep--;
	if (keep >= sizeof(s->last_line))
		keep = sizeof(s->last_line) - 1;
	memcpy(s->last_line, data, keep);
	s->last_line[keep] = '\0';
	note_refusal(s, keep);
	if (announced_too_large(s, keep)) {
		s->over_limit = true;
		return 0;	/* aborts the transfer */
	}
	return len;
}

static size_t on_write(char *data, size_t size, size_t count, void *arg)
{
	struct imap_session *s = arg;
	size_t len = size * count;

	if (len > s->reply_max - s->reply_len) {
		s->over_limit = true;
		return 0;
	}
	if (s->reply_len + len + 1 > s->reply_cap) {
		size_t cap = s->reply_cap != 0 ? s->reply_cap : 64 * 1024;
		char *grown;

		while (cap < s->reply_len + len + 1)
			cap *= 2;
		if (cap > s->reply_max + 1)
			cap = s->reply_max + 1;
		if ((grown = realloc(s->reply, cap)) == NULL)
			return 0;
		s->reply = grown;
		s->reply_cap = cap;
	}
	memcpy(s->reply + s->reply_len, data, len);
	s->reply_len += len;
	s->reply[s->reply_len] = '\0';
	return len;
}

/* "imaps://host/My Box" -> "imaps://host:993/My%20Box", no user, no password. */
static int mailbox_url_of(const char *url, char **ret_url, char *why, size_t why_size)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *out = NULL;
	int ret = -EINVAL;

	if (u == NULL)
		return -ENOMEM;
	if (curl_url_set(u, CURLUPART_URL, url, CURLU_URLENCODE | CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK) {
		snprintf(why, why_size, "imap: the mailbox URL is not a URL");
		goto out;
	}
	if (strcmp(scheme, "imaps") != 0 && strcmp(scheme, "imap") != 0) {
		snprintf(why, why_size, "imap: the mailbox URL must start imaps:// (or imap:// for STARTTLS)");
		goto out;
	}
	curl_url_set(u, CURLUPART_USER, NULL, 0);
	curl_url_set(u, CURLUPART_PASSWORD, NULL, 0);
	curl_url_set(u, CURLUPART_OPTIONS, NULL, 0);
	curl_url_set(u, CURLUPART_QUERY, NULL, 0);
	curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0);
	if (curl_url_get(u, CURLUPART_URL, &out, CURLU_DEFAULT_PORT) != CURLUE_OK) {
		ret = -ENOMEM;
		goto out;
	}
	/* A mailbox is needed: the searches and moves run in it. */
	{
		const char *path = strstr(out, "://");
		const char *slash = path != NULL ? strchr(path + 3, '/') : NULL;

		if (slash == NULL || slash[1] == '\0' || strchr(slash, ';') != NULL) {
			snprintf(why, why_size, "imap: the URL names no mailbox (imaps://host/INBOX)");
			goto out;
		}
	}
	*ret_url = out;
	out = NULL;
	ret = 0;
out:
	curl_free(out);
	curl_free(scheme);
	curl_url_cleanup(u);
	return ret;
}

static void session_free(struct imap_session *s)
{
	if (s == NULL)
		return;
	if (s->easy != NULL)
		curl_easy_cleanup(s->easy);
	curl_free(s->mailbox_url);
	free(s->reply);
	free(s);
}

static int session_new(const struct imap_options *options, struct imap_session **ret_session,
		       char *why, size_t why_size)
{
	struct imap_session *s = calloc(1, sizeof(*s));
	long timeout_s;
	int ret;

	if (s == NULL)
		return -ENOMEM;
	s->options = *options;
	if (s->options.timeout_ms == 0)
		s->options.timeout_ms = DEFAULT_TIMEOUT_MS;
	if (s->options.max_message == 0)
		s->options.max_message = DEFAULT_MAX_MESSAGE;
	if (s->options.max_messages == 0)
		s->options.max_messages = DEFAULT_MAX_MESSAGES;
	if ((ret = mailbox_url_of(options->url, &s->mailbox_url, why, why_size)) < 0)
		goto out;
	ret = -ENOMEM;
	if ((s->easy = curl_easy_init()) == NULL)
		goto out;
	timeout_s = (long)(s->options.timeout_ms + 999) / 1000;
	if (curl_easy_setopt(s->easy, CURLOPT_PROTOCOLS_STR, "imap,imaps") != CURLE_OK ||
	    curl_easy_setopt(s->easy, CURLOPT_USERNAME, options->user) != CURLE_OK ||
	    curl_easy_setopt(s->easy, CURLOPT_PASSWORD, options->password) != CURLE_OK ||
	    /* imap:// only with STARTTLS: never a password in clear text */
	    curl_easy_setopt(s->easy, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL) != CURLE_OK ||
	    curl_easy_setopt(s->easy, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2) != CURLE_OK ||
	    curl_easy_setopt(s->easy, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
	    curl_easy_setopt(s->easy, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
	    (options->ca_file != NULL &&
	     curl_easy_setopt(s->easy, CURLOPT_CAINFO, options->ca_file) != CURLE_OK) ||
	    curl_easy_setopt(s->easy, CURLOPT_CONNECTTIMEOUT_MS, (long)s->options.timeout_ms) != CURLE_OK ||
	    curl_easy_setopt(s->easy, CURLOPT_SERVER_RESPONSE_TIMEOUT, timeout_s) != CURLE_OK ||
	    /* a server that stalls: under one octet a second for the timeout */
	    curl_easy_setopt(s->easy, CURLOPT_LOW_SPEED_LIMIT, 1L) != CURLE_OK ||
	    curl_easy_setopt(s->easy, CURLOPT_LOW_SPEED_TIME, timeout_s) != CURLE_OK ||
	    curl_easy_setopt(s->easy, CURLOPT_BUFFERSIZE, (long)RESPONSE_BUFFER) != CURLE_OK ||
	    curl_easy_setopt(s->easy, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(s->easy, CURLOPT_HEADERFUNCTION, on_header) != CURLE_OK ||
	    curl_easy_setopt(s->easy, CURLOPT_HEADERDATA, s) != CURLE_OK ||
	    curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, on_write) != CURLE_OK ||
	    curl_easy_setopt(s->easy, CURLOPT_WRITEDATA, s) != CURLE_OK ||
	    curl_easy_setopt(s->easy, CURLOPT_ERRORBUFFER, s->error) != CURLE_OK) {
		snprintf(why, why_size, "imap: libcurl refused an option (IMAP over TLS not built in?)");
		ret = -ENOTSUP;
		goto out;
	}
	*ret_session = s;
	s = NULL;
	ret = 0;
out:
	session_free(s);
	return ret;
}

/* What went wrong in a transfer, naming the step. */
static void describe_failure(struct imap_session *s, CURLcode code, const char *step,
			     char *why, size_t why_size)
{
	char server[200], detail[CURL_ERROR_SIZE + 8];

	server_text(s, server, sizeof(server));
	escape_into(detail, sizeof(detail), s->error[0] != '\0' ? s->error : curl_easy_strerror(code),
		    strlen(s->error[0] != '\0' ? s->error : curl_easy_strerror(code)));
	switch (code) {
	case CURLE_LOGIN_DENIED:
		if (strstr(s->error, "Select") != NULL)
			snprintf(why, why_size, "imap: the mailbox of %s cannot be selected: %s",
				 s->mailbox_url, server);
		else
			snprintf(why, why_size, "imap: login refused by %s: %s", s->mailbox_url, server);
		break;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
		snprintf(why, why_size, "imap: cannot connect to %s: %s", s->mailbox_url, detail);
		break;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_USE_SSL_FAILED:
		snprintf(why, why_size, "imap: TLS with %s failed: %s", s->mailbox_url, detail);
		break;
	case CURLE_QUOTE_ERROR:
		snprintf(why, why_size, "imap: %s refused by %s: %s", step, s->mailbox_url, server);
		break;
	case CURLE_OPERATION_TIMEDOUT:
		/* libcurl's words for a time-out before the connection (TLS included) was up */
		if (strncmp(s->error, "Connection timed out", 20) == 0)
			snprintf(why, why_size, "imap: connecting to %s timed out: %s", s->mailbox_url, detail);
		else
			snprintf(why, why_size, "imap: %s at %s timed out: %s", step, s->mailbox_url, detail);
		break;
	default:
		snprintf(why, why_size, "imap: %s at %s failed: %s", step, s->mailbox_url, detail);
		break;
	}
}

/* One transfer; its reply (bounded by reply_max) in s->reply. */
static CURLcode perform(struct imap_session *s, const char *url, const char *command,
			size_t reply_max, bool fetching)
{
	long timeout_ms = (long)s->options.timeout_ms * (fetching ? FETCH_TIMEOUTS : 1);

	s->reply_len = 0;
	s->reply_max = reply_max;
	s->over_limit = false;
	s->fetching = fetching;
	s->last_line[0] = '\0';
	s->refusal[0] = '\0';
	s->error[0] = '\0';
	if (s->reply != NULL)
		s->reply[0] = '\0';
	if (curl_easy_setopt(s->easy, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(s->easy, CURLOPT_CUSTOMREQUEST, command) != CURLE_OK ||
	    curl_easy_setopt(s->easy, CURLOPT_TIMEOUT_MS, timeout_ms) != CURLE_OK)
		return CURLE_OUT_OF_MEMORY;
	return curl_easy_perform(s->easy);
}

/* A command in the mailbox; -1 with why when it failed or was refused. */
static int command(struct imap_session *s, const char *text, char *why, size_t why_size)
{
	CURLcode code = perform(s, s->mailbox_url, text, MAX_COMMAND_REPLY, false);

	if (code == CURLE_OK)
		return 0;
	if (s->over_limit)
		snprintf(why, why_size, "imap: the reply to %s from %s passed %d octets",
			 text, s->mailbox_url, MAX_COMMAND_REPLY);
	else
		describe_failure(s, code, text, why, why_size);
	return -1;
}

static int compare_uid(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The UIDs of the "* SEARCH" lines of s->reply, sorted. */
static int parse_search(const struct imap_session *s, uint32_t **ret_uids, size_t *ret_count)
{
	uint32_t *uids = NULL;
	size_t count = 0, cap = 0;
	const char *line = s->reply != NULL ? s->reply : "";

	for (; *line != '\0'; line = strchr(line, '\n') != NULL ? strchr(line, '\n') + 1 : "") {
		const char *p;

		if (strncasecmp(line, "* SEARCH", 8) != 0)
			continue;
		for (p = line + 8; *p == ' ';) {
			char *end;
			unsigned long uid;

			p++;
			if (!isdigit((unsigned char)*p))
				break;
			errno = 0;
			uid = strtoul(p, &end, 10);
			if (errno != 0 || uid == 0 || uid > UINT32_MAX)
				break;
			if (count == cap) {
				size_t grown_cap = cap != 0 ? cap * 2 : 64;
				uint32_t *grown = realloc(uids, grown_cap * sizeof(*uids));

				if (grown == NULL) {
					free(uids);
					return -ENOMEM;
				}
				uids = grown;
				cap = grown_cap;
			}
			uids[count++] = (uint32_t)uid;
			p = end;
		}
	}
	if (count > 1)
		qsort(uids, count, sizeof(*uids), compare_uid);
	*ret_uids = uids;
	*ret_count = count;
	return 0;
}

static int search(struct imap_session *s, const char *criteria, uint32_t **ret_uids,
		  size_t *ret_count, char *why, size_t why_size)
{
	char text[64];
	int ret;

	snprintf(text, sizeof(text), "UID SEARCH %s", criteria);
	if (command(s, text, why, why_size) < 0)
		return -1;
	if ((ret = parse_search(s, ret_uids, ret_count)) < 0) {
		snprintf(why, why_size, "imap: out of memory reading the search");
		return ret;
	}
	return 0;
}

/* The mailbox name as an IMAP quoted string; ASCII only (no modified UTF-7 here). */
static int quoted_mailbox(const char *name, char *out, size_t size)
{
	size_t o = 0;

	if (name[0] == '\0' || size < 3)
		return -EINVAL;
	out[o++] = '"';
	for (const char *p = name; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (c < 0x20 || c >= 0x7f || o + 3 >= size)
			return -EINVAL;
		if (c == '"' || c == '\\')
			out[o++] = '\\';
		out[o++] = (char)c;
	}
	out[o++] = '"';
	out[o] = '\0';
	return 0;
}

static bool server_has_move(struct imap_session *s, char *why, size_t why_size)
{
	if (s->move_known)
		return s->has_move;
	/* The capabilities after login (those before it may leave MOVE out). */
	if (command(s, "CAPABILITY", why, why_size) < 0)
		return false;
	s->move_known = true;
	for (const char *p = s->reply; p != NULL && (p = strstr(p, " MOVE")) != NULL; p += 5)
		if (p[5] == ' ' || p[5] == '\r' || p[5] == '\n' || p[5] == '\0')
			s->has_move = true;
	return s->has_move;
}

/* A taken message: moved to options.move_to, or flagged \Seen and $TLSRPT-stored. */
static int dispose_taken(struct imap_session *s, uint32_t uid, char *why, size_t why_size)
{
	char target[600], text[700];

	if (s->options.move_to == NULL) {
		snprintf(text, sizeof(text), "UID STORE %" PRIu32 " +FLAGS (\\Seen $TLSRPT-stored)", uid);
		return command(s, text, why, why_size);
	}
	if (quoted_mailbox(s->options.move_to, target, sizeof(target)) < 0) {
		snprintf(why, why_size, "imap: the mailbox to move to must be printable ASCII, at most 500 octets");
		return -1;
	}
	why[0] = '\0';
	if (server_has_move(s, why, why_size)) {
		snprintf(text, sizeof(text), "UID MOVE %" PRIu32 " %s", uid, target);
		return command(s, text, why, why_size);
	}
	if (why[0] != '\0')
		return -1;
	/*
	 * RFC 6851's MOVE as the three commands it replaces (UID EXPUNGE: RFC
	 * 4315).  \Seen too: should the expunge be refused, the copy is not
	 * fetched and copied again by the next run.
	 */
	snprintf(text, sizeof(text), "UID COPY %" PRIu32 " %s", uid, target);
	if (command(s, text, why, why_size) < 0)
		return -1;
	snprintf(text, sizeof(text), "UID STORE %" PRIu32 " +FLAGS.SILENT (\\Seen \\Deleted)", uid);
	if (command(s, text, why, why_size) < 0)
		return -1;
	snprintf(text, sizeof(text), "UID EXPUNGE %" PRIu32, uid);
	return command(s, text, why, why_size);
}

static bool contains_uid(const uint32_t *uids, size_t count, uint32_t uid)
{
	/* none unseen: uids is NULL, which bsearch() may not be given */
	return count != 0 && bsearch(&uid, uids, count, sizeof(*uids), compare_uid) != NULL;
}

enum fetched {
	FETCHED,
	FETCH_TOO_LARGE,
	FETCH_GONE,			/* expunged since the search */
	FETCH_FAILED,
};

static enum fetched fetch_one(struct imap_session *s, uint32_t uid, char *why, size_t why_size)
{
	char url[2048], step[64];
	CURLcode code;
	int n = snprintf(url, sizeof(url), "%s;UID=%" PRIu32, s->mailbox_url, uid);

	if (n < 0 || (size_t)n >= sizeof(url)) {
		snprintf(why, why_size, "imap: the mailbox URL is too long");
		return FETCH_FAILED;
	}
	code = perform(s, url, NULL, s->options.max_message, true);
	if (code == CURLE_OK)
		return FETCHED;
	if (s->over_limit && code == CURLE_WRITE_ERROR)
		return FETCH_TOO_LARGE;
	if (code == CURLE_REMOTE_FILE_NOT_FOUND)
		return FETCH_GONE;
	snprintf(step, sizeof(step), "UID FETCH %" PRIu32, uid);
	describe_failure(s, code, step, why, why_size);
	return FETCH_FAILED;
}

/* Flag one message; for a message too large, so that it is not fetched again. */
static int store_flags(struct imap_session *s, uint32_t uid, const char *change,
		       char *why, size_t why_size)
{
	char text[96];

	snprintf(text, sizeof(text), "UID STORE %" PRIu32 " %s", uid, change);
	return command(s, text, why, why_size);
}

/* "imap: UID FETCH 7 ... failed: ..." without its "imap: ", inside another reason. */
static const char *without_prefix(const char *reason)
{
	return strncmp(reason, "imap: ", 6) == 0 ? reason + 6 : reason;
}

/*
 * A message unseen before its fetch made unseen again: on the connection
 * libcurl has (a new one when the last transfer lost it), then on a fresh
 * one.  When neither works, -1 with why naming the UID first (a caller's
 * why may be short), then what happened to it (context) and the last error.
 */
static int restore_unseen(struct imap_session *s, uint32_t uid, const char *context,
			  char *why, size_t why_size)
{
	char error[512];
	int ret;

	if (store_flags(s, uid, "-FLAGS.SILENT (\\Seen)", error, sizeof(error)) == 0)
		return 0;
	if (curl_easy_setopt(s->easy, CURLOPT_FRESH_CONNECT, 1L) != CURLE_OK) {
		snprintf(error, sizeof(error), "libcurl refused a fresh connection");
		ret = -1;
	} else {
		ret = store_flags(s, uid, "-FLAGS.SILENT (\\Seen)", error, sizeof(error));
		curl_easy_setopt(s->easy, CURLOPT_FRESH_CONNECT, 0L);
	}
	if (ret == 0)
		return 0;
	snprintf(why, why_size, "imap: UID %" PRIu32 " is \\Seen but not stored: mark it unseen, or run "
		 "once with --all (%s; marking it unseen again failed twice: %s)", uid, context,
		 without_prefix(error));
	return -1;
}

struct run {
	struct imap_session *s;
	imap_message_fn each;
	void *ctx;
	struct imap_totals totals;
	uint32_t *unseen;		/* with options.all: the UIDs that were unseen */
	size_t unseen_count;
	char skipped[160];		/* the first UIDs skipped as too large, for the note */
	bool skipped_cut;		/* more than skipped holds */
};

/* One message through: fetched, handed over, disposed of; 1 when the caller stopped. */
static int handle_one(struct run *r, uint32_t uid, char *why, size_t why_size)
{
	struct imap_session *s = r->s;
	bool was_unseen = !s->options.all || contains_uid(r->unseen, r->unseen_count, uid);
	enum imap_disposition disposition;

	switch (fetch_one(s, uid, why, why_size)) {
	case FETCHED:
		break;
	case FETCH_GONE:
		return 0;
	case FETCH_TOO_LARGE:
		r->totals.too_large++;
		if (strlen(r->skipped) + 12 < sizeof(r->skipped))
			snprintf(r->skipped + strlen(r->skipped), sizeof(r->skipped) - strlen(r->skipped),
				 "%s%" PRIu32, r->skipped[0] != '\0' ? " " : "", uid);
		else
			r->skipped_cut = true;
		return store_flags(s, uid, "+FLAGS.SILENT (\\Seen)", why, why_size);
	case FETCH_FAILED:
		if (was_unseen) {
			char failure[512];

			snprintf(failure, sizeof(failure), "%s", without_prefix(why));
			if (restore_unseen(s, uid, failure, why, why_size) == 0)
				snprintf(why, why_size, "imap: %s; UID %" PRIu32 " left unseen for the next run",
					 failure, uid);
		}
		return -1;
	}
	r->totals.fetched++;
	disposition = r->each(r->ctx, uid, (const unsigned char *)(s->reply != NULL ? s->reply : ""),
			      s->reply_len);
	if (disposition == IMAP_TAKEN) {
		if (dispose_taken(s, uid, why, why_size) < 0)
			return -1;
		r->totals.taken++;
		return 0;
	}
	r->totals.left++;
	if (was_unseen && restore_unseen(s, uid, "left for a later run", why, why_size) < 0)
		return -1;
	return disposition == IMAP_STOP ? 1 : 0;
}

int imap_fetch(const struct imap_options *options, imap_message_fn each, void *ctx,
	       struct imap_totals *ret_totals, char *why, size_t why_size)
{
	struct run r = { .each = each, .ctx = ctx };
	uint32_t *uids = NULL;
	size_t count = 0;
	int ret = -1;

	if (why_size > 0)
		why[0] = '\0';
	if (options->url == NULL || options->user == NULL || options->password == NULL) {
		snprintf(why, why_size, "imap: a URL, a user and a password are needed");
		goto out;
	}
	if (session_new(options, &r.s, why, why_size) < 0)
		goto out;
	if (search(r.s, options->all ? "ALL" : "UNSEEN", &uids, &count, why, why_size) < 0)
		goto out;
	if (options->all && search(r.s, "UNSEEN", &r.unseen, &r.unseen_count, why, why_size) < 0)
		goto out;
	r.totals.found = count;
	for (size_t i = 0; i < count && i < r.s->options.max_messages; i++) {
		int step = handle_one(&r, uids[i], why, why_size);

		if (step < 0)
			goto out;
		if (step > 0)
			break;
	}
	ret = 0;
	if (r.totals.too_large > 0)
		snprintf(why, why_size, "imap: %zu message%s over %zu octets skipped and flagged \\Seen (UID %s%s)",
			 r.totals.too_large, r.totals.too_large == 1 ? "" : "s", r.s->options.max_message,
			 r.skipped, r.skipped_cut ? " ..." : "");
out:
	if (ret_totals != NULL)
		*ret_totals = r.totals;
	free(uids);
	free(r.unseen);
	session_free(r.s);
	return ret;
}
