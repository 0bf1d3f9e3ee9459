/*
 * pg_wire.h - libpq's asynchronous calls seen through by a deadline, for
 * every PostgreSQL backend (the policy cache, the report store).
 *
 * A server that does not answer must cost a bounded time, never a hung
 * daemon: each call polls the connection's socket until its deadline
 * (milliseconds of monotonic_ms()).  The callers keep their own state
 * (breaker, reconnects, error codes); these say only what happened, with
 * libpq's message copied into why (its newline kept off).
 */
#ifndef MTASTS_IO_PG_WIRE_H
#define MTASTS_IO_PG_WIRE_H

#include <stddef.h>

#include <libpq-fe.h>

enum pg_wire_status {
	PG_WIRE_OK = 0,
	PG_WIRE_NOMEM,			/* no connection object could be made */
	PG_WIRE_BROKEN,			/* the connection failed or was lost: drop it */
	PG_WIRE_TIMEOUT,		/* the deadline passed: drop the connection too */
	PG_WIRE_NO_RESULT,		/* the statement gave no result at all */
};

/*
 * Connect to conninfo (a libpq connection string or URI) by the deadline,
 * in non-blocking mode with notices dropped (a library does not log).  On
 * PG_WIRE_OK *ret_conn is the connection; otherwise it is left untouched
 * and nothing is kept open.
 */
enum pg_wire_status pg_wire_connect(const char *conninfo, long long deadline, PGconn **ret_conn,
				    char *why, size_t why_size);

/*
 * After PQsendQuery*(): flush the statement, then read every result by the
 * deadline.  On PG_WIRE_OK *ret_res is the last result (the one that says
 * how the statement ended; PQclear() it).
 */
enum pg_wire_status pg_wire_finish(PGconn *conn, long long deadline, PGresult **ret_res,
				   char *why, size_t why_size);

#endif
