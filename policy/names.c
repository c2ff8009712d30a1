// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * names.c - the words of the policy language and of events, in one place, so that the parser,
 * `bindguard check`, --help and the event encoders can never disagree on a spelling.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "policy.h"

/* Index = the BG_* value; NULL holes are values that have no name. */
static const char *const expose_names[] = {
	[BG_EXPOSE_UNSET] = "unset",	   [BG_EXPOSE_PUBLIC] = "public",
	[BG_EXPOSE_LOOPBACK] = "loopback", [BG_EXPOSE_CIDR] = "cidr",
	[BG_EXPOSE_NONE] = "none",
};

static const char *const action_names[] = {
	[BG_ACTION_UNSET] = "unset",
	[BG_ACTION_DENY] = "deny",
	[BG_ACTION_ALERT] = "alert",
	[BG_ACTION_CONFINE] = "confine",
};

static const char *const mode_names[] = {
	[BG_MODE_ENFORCE] = "enforce",
	[BG_MODE_AUDIT] = "audit",
};

static const char *const verdict_names[] = {
	[BG_VERDICT_NONE] = "none",   [BG_VERDICT_ALLOW] = "allow",	[BG_VERDICT_DENY] = "deny",
	[BG_VERDICT_ALERT] = "alert", [BG_VERDICT_CONFINE] = "confine",
};

static const char *const proto_names[] = {
	[BG_PROTO_TCP] = "tcp",
	[BG_PROTO_UDP] = "udp",
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Values come from the kernel too (events), so anything out of range is "?", never a crash. */
static const char *name_of(const char *const *names, size_t n, unsigned int v)
{
	if (v >= n || !names[v])
		return "?";
	return names[v];
}

const char *bg_expose_str(__u8 expose)
{
	return name_of(expose_names, ARRAY_SIZE(expose_names), expose);
}

const char *bg_action_str(__u8 action)
{
	return name_of(action_names, ARRAY_SIZE(action_names), action);
}

const char *bg_mode_str(__u8 mode)
{
	return name_of(mode_names, ARRAY_SIZE(mode_names), mode);
}

const char *bg_verdict_str(__u8 verdict)
{
	return name_of(verdict_names, ARRAY_SIZE(verdict_names), verdict);
}

const char *bg_proto_str(__u8 proto)
{
	return name_of(proto_names, ARRAY_SIZE(proto_names), proto);
}

int bg_mode_parse(const char *s, __u8 *mode)
{
	if (!s)
		return -EINVAL;
	if (!strcmp(s, "enforce"))
		*mode = BG_MODE_ENFORCE;
	else if (!strcmp(s, "audit"))
		*mode = BG_MODE_AUDIT;
	else
		return -EINVAL;
	return 0;
}

/* "unset" is a name for printing only: a policy can never ask for it. */
int bg_action_parse(const char *s, __u8 *action)
{
	if (!s)
		return -EINVAL;
	if (!strcmp(s, "deny"))
		*action = BG_ACTION_DENY;
	else if (!strcmp(s, "alert"))
		*action = BG_ACTION_ALERT;
	else if (!strcmp(s, "confine"))
		*action = BG_ACTION_CONFINE;
	else
		return -EINVAL;
	return 0;
}

const char *bg_cidr_str(const struct bg_cidr *c, char *buf, size_t len)
{
	char addr[INET6_ADDRSTRLEN];
	int af;

	if (!buf || !len)
		return buf;
	af = c && c->family == BG_AF_INET ? AF_INET : AF_INET6;
	if (!c || (c->family != BG_AF_INET && c->family != BG_AF_INET6) ||
	    !inet_ntop(af, c->addr, addr, sizeof(addr))) {
		snprintf(buf, len, "?");
		return buf;
	}
	snprintf(buf, len, "%s/%u", addr, c->prefixlen);
	return buf;
}

const char *bg_policy_error_str(const struct bg_policy_error *err, char *buf, size_t len)
{
	if (!buf || !len)
		return buf;
	if (!err)
		snprintf(buf, len, "?");
	else if (err->line)
		snprintf(buf, len, "%s:%u:%u: %s", err->file, err->line, err->col, err->msg);
	else
		snprintf(buf, len, "%s: %s", err->file, err->msg);
	return buf;
}

const char *bg_policy_warning_str(const struct bg_policy *p, size_t i, char *buf, size_t len)
{
	if (!buf || !len)
		return buf;
	if (!p || i >= p->n_warnings || !p->warnings)
		snprintf(buf, len, "?");
	else
		snprintf(buf, len, "%s:%u:%u: warning: %s", p->source ? p->source : "?",
			 p->warnings[i].line, p->warnings[i].col, p->warnings[i].msg);
	return buf;
}
