/*
 * probe.h - connect to one address, optionally speak SMTP up to STARTTLS,
 * and make a TLS handshake, recording what a checker needs to judge it.
 *
 * SYNOPSIS
 *	struct probe_request req = {
 *		.address = &ss, .port = 25, .smtp = true,
 *		.server_name = "mx1.example.com", .ca_file = NULL,
 *		.timeout_ms = 10000, .helo_name = "mtasts.invalid",
 *	};
 *	probe_start(base, &req, on_probe_done, ctx);
 *
 * DESCRIPTION
 *	With smtp set: read the greeting, send EHLO, note whether STARTTLS is
 *	offered; if so send STARTTLS and, on a 220, make the TLS handshake;
 *	then QUIT.  Without smtp (port 443 and the like): the handshake at
 *	once.  The handshake sets SNI to server_name, accepts any TLS version
 *	so the version actually negotiated can be reported, and validates the
 *	chain against the trust store (or ca_file) without failing on it: the
 *	verdict is recorded.  Every step has the one overall time limit; SMTP
 *	replies are bounded (line length 512, 100 lines).
 *
 *	The callback runs exactly once from the event loop; the result and
 *	what it points to live only during the call.
 */
#ifndef MTASTS_IO_PROBE_H
#define MTASTS_IO_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/event.h>

#include "tls_verify.h"

/* Running probes, so that a program can end those still running. */
struct probe_list {
	struct probe *head;
};

struct probe_request {
	struct probe_list *list;	/* NULL: not tracked */
	const struct sockaddr_storage *address;
	uint16_t port;
	bool smtp;			/* greeting, EHLO, STARTTLS first */
	const char *server_name;	/* SNI, and the name to check */
	X509_STORE *store;		/* the trust store to share; NULL: read
					 * ca_file (NULL: the system's) */
	const char *ca_file;
	const char *helo_name;		/* EHLO argument */
	unsigned timeout_ms;
	unsigned connect_timeout_ms;	/* 0: timeout_ms */
	/* For tests and the clock-free core: "now" for days to expiry. */
	time_t now;
};

enum probe_stage {
	PROBE_STAGE_CONNECT,	/* failed to connect */
	PROBE_STAGE_GREETING,	/* no usable 220 greeting */
	PROBE_STAGE_EHLO,	/* EHLO refused or no reply */
	PROBE_STAGE_STARTTLS,	/* STARTTLS not offered or refused */
	PROBE_STAGE_HANDSHAKE,	/* TLS handshake failed */
	PROBE_STAGE_DONE,	/* handshake completed */
};

/* The certificate the server sent, judged by tls_verify_judge(). */
struct probe_certificate {
	char *subject;			/* one-line subject DN */
	char *issuer;
	size_t name_count;
	char **names;			/* every subjectAltName dNSName (never the CN) */
	time_t not_before, not_after;
	long days_to_expiry;		/* from request.now; negative when expired;
					 * LONG_MAX when notAfter is unreadable */
	struct tls_judgement judgement;	/* chain, security level, name, time */
	/* The judgement apart from the name: */
	bool chain_valid;		/* no error but the name */
	long verify_error;		/* first X509_V_ERR_* but the name's; 0 none */
	const char *verify_message;
	bool name_matches;		/* server_name is one of its DNS-IDs */
	bool self_signed;
};

struct probe_result {
	enum probe_stage stage;		/* how far it got */
	bool timed_out;
	bool local_error;		/* failed for want of local resources
					 * (descriptors, memory): not the peer's fault */
	char error[256];		/* what went wrong, for people */
	char address[64];		/* the address as text */
	char greeting[256];		/* SMTP 220 line, truncated */
	bool starttls_offered;
	int starttls_reply;		/* reply code to STARTTLS, 0 when not sent */
	const char *tls_version;	/* "TLSv1.3", NULL without a session */
	const char *cipher;
	bool has_certificate;
	struct probe_certificate certificate;
};

typedef void probe_done_fn(void *arg, const struct probe_result *result);

/*
 * End every probe of the list now: each callback runs with an error saying
 * so (stage as far as it got), then the probe is freed.
 */
void probe_list_cancel(struct probe_list *list);

/* Zero when started; a negative errno otherwise (fn not called). */
int probe_start(struct event_base *base, const struct probe_request *request,
		probe_done_fn *fn, void *arg);

#endif
