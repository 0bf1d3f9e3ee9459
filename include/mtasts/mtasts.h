/*
 * mtasts/mtasts.h - libmtasts: MTA-STS (RFC 8461) and SMTP TLS Reporting
 * (RFC 8460).  Include this one header for the whole public API.
 */
#ifndef MTASTS_MTASTS_H
#define MTASTS_MTASTS_H

#include <mtasts/check.h>
#include <mtasts/check_rules.h>
#include <mtasts/diag.h>
#include <mtasts/dns.h>
#include <mtasts/fetch.h>
#include <mtasts/mx.h>
#include <mtasts/policy.h>
#include <mtasts/policy_facts.h>
#include <mtasts/socketmap.h>
#include <mtasts/tlsrpt.h>
#include <mtasts/txt.h>
#include <mtasts/version.h>

#endif
