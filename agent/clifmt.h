/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * clifmt.h - what the commands that show sockets to a person (status, learn) share: addresses,
 * untrusted strings made printable, text wrapped to the terminal's 80 columns, and the policy
 * rule for a port. The address itself is formatted by event_fmt's bg_fmt_addr() and a rule is
 * named by its bg_rule_name(), so a socket reads the same in an event, in status and in a draft.
 */
#ifndef BG_CLIFMT_H
#define BG_CLIFMT_H

#include <stddef.h>
#include <linux/types.h>

#include "policy.h"
#include "strbuf.h"

#define BG_CLI_WIDTH 80 /* what every line of the CLI's human output fits in */

/* bg_fmt_addr(), in brackets for IPv6 when brackets is set. 0, or -EINVAL when it does not fit
 * (buf is then "?"). */
int bg_cli_addr_str(char *buf, size_t len, __u8 family, const __u8 addr[16], int brackets);

/*
 * Copy s (up to n bytes or its NUL) into buf as one printable ASCII word for a table cell or a
 * comment: a space becomes '_', any other byte outside '!'..'~' becomes '?', so an untrusted comm
 * or path can neither break a column nor start a new line. Returns buf.
 */
const char *bg_cli_printable(char *buf, size_t len, const char *s, size_t n);

/*
 * Append text to sb, word-wrapped so that no line is wider than width: the first line starts
 * with lead, every further line with cont ("        ", "  # "). A byte outside ' '..'~' is
 * written as '?' (text may come from a policy file); a word longer than a line is cut. Ends
 * with '\n'.
 */
void bg_cli_wrap(struct bg_strbuf *sb, const char *lead, const char *cont, const char *text,
		 size_t width);

/*
 * The host rule of p (not a scope's) that covers proto (BG_PROTO_*) on port, or NULL (the
 * unlisted default).
 */
const struct bg_policy_rule *bg_cli_rule_for(const struct bg_policy *p, __u8 proto, __u16 port);

#endif /* BG_CLIFMT_H */
