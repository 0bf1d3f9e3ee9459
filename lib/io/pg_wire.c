/*
 * pg_wire.c - libpq's asynchronous calls seen through by a deadline.
 */
#include <errno.h>
#include <stdbool.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "pg_wire.h"
#include "util.h"

/* libpq's message, without its newline, into why. */
static void copy_message(const char *message, char *why, size_t why_size)
{
	size_t len = strcspn(message != NULL ? message : "", "\n");

	say_why(why, why_size, "%.*s", (int)len, message != NULL ? message : "");
}

/* Wait until the socket is ready for events, or the deadline: false on timeout. */
static bool wait_socket(PGconn *conn, short events, long long deadline)
{
	struct pollfd pfd = { .fd = PQsocket(conn), .events = events };

	for (;;) {
		long long left = deadline - monotonic_ms();
		int n;

		if (left <= 0 || pfd.fd < 0)
			return false;
		n = poll(&pfd, 1, left > INT32_MAX ? INT32_MAX : (int)left);
		if (n > 0)
			return true;
		if (n == 0 || errno != EINTR)
			return false;
	}
}

static void no_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;		/* "relation already exists, skipping" and such */
}

enum pg_wire_status pg_wire_connect(const char *conninfo, long long deadline, PGconn **ret_conn,
				    char *why, size_t why_size)
{
	const char *const keys[] = { "dbname", "fallback_application_name", NULL };
	const char *const values[] = { conninfo, "mtasts", NULL };
	PostgresPollingStatusType status = PGRES_POLLING_WRITING;
	PGconn *conn = PQconnectStartParams(keys, values, 1);

	if (conn == NULL) {
		say_why(why, why_size, "out of memory");
		return PG_WIRE_NOMEM;
	}
	if (PQstatus(conn) == CONNECTION_BAD)
		goto failed;
	while (status != PGRES_POLLING_OK) {
		if (status == PGRES_POLLING_FAILED)
			goto failed;
		if (!wait_socket(conn, status == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline)) {
			say_why(why, why_size, "timed out");
			PQfinish(conn);
			return PG_WIRE_TIMEOUT;
		}
		status = PQconnectPoll(conn);
	}
	PQsetNoticeProcessor(conn, no_notice, NULL);
	if (PQsetnonblocking(conn, 1) != 0)
		goto failed;
	*ret_conn = conn;
	return PG_WIRE_OK;
failed:
	copy_message(PQerrorMessage(conn), why, why_size);
	PQfinish(conn);
	return PG_WIRE_BROKEN;
}

enum pg_wire_status pg_wire_finish(PGconn *conn, long long deadline, PGresult **ret_res,
				   char *why, size_t why_size)
{
	PGresult *last = NULL, *res;
	int flushed;

	while ((flushed = PQflush(conn)) == 1)
		if (!wait_socket(conn, POLLOUT | POLLIN, deadline)) {
			say_why(why, why_size, "timed out sending");
			return PG_WIRE_TIMEOUT;
		}
	if (flushed < 0) {
		copy_message(PQerrorMessage(conn), why, why_size);
		return PG_WIRE_BROKEN;
	}
	for (;;) {
		while (PQisBusy(conn)) {
			if (!wait_socket(conn, POLLIN, deadline)) {
				PQclear(last);
				say_why(why, why_size, "timed out");
				return PG_WIRE_TIMEOUT;
			}
			if (!PQconsumeInput(conn)) {
				PQclear(last);
				copy_message(PQerrorMessage(conn), why, why_size);
				return PG_WIRE_BROKEN;
			}
		}
		if ((res = PQgetResult(conn)) == NULL)
			break;
		PQclear(last);
		last = res;
	}
	if (PQstatus(conn) == CONNECTION_BAD) {
		copy_message(last != NULL ? PQresultErrorMessage(last) : PQerrorMessage(conn), why,
			     why_size);
		PQclear(last);
		return PG_WIRE_BROKEN;
	}
	if (last == NULL) {
		say_why(why, why_size, "no result");
		return PG_WIRE_NO_RESULT;
	}
	*ret_res = last;
	return PG_WIRE_OK;
}
