// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* clifmt.c - output helpers shared by status and learn (clifmt.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "clifmt.h"
#include "event_fmt.h"

int bg_cli_addr_str(char *buf, size_t len, __u8 family, const __u8 addr[16], int brackets)
{
	char text[48];
	int n = -1;

	if (bg_fmt_addr(text, sizeof(text), family, addr) == 0)
		n = snprintf(buf, len, brackets && family != BG_AF_INET ? "[%s]" : "%s", text);
	if (n < 0 || (size_t)n >= len) {
		snprintf(buf, len, "?");
		return -EINVAL;
	}
	return 0;
}

const char *bg_cli_printable(char *buf, size_t len, const char *s, size_t n)
{
	size_t i;

	if (!len)
		return buf;
	for (i = 0; i < n && i + 1 < len && s[i]; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == ' ')
			buf[i] = '_';
		else if (c < '!' || c > '~')
			buf[i] = '?';
		else
			buf[i] = (char)c;
	}
	buf[i] = '\0';
	return buf;
}

static void put_safe(struct bg_strbuf *sb, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		bg_strbuf_append(sb, c >= ' ' && c <= '~' ? &s[i] : "?", 1);
	}
}

void bg_cli_wrap(struct bg_strbuf *sb, const char *lead, const char *cont, const char *text,
		 size_t width)
{
	size_t col = strlen(lead), indent = strlen(cont), word, n;
	const char *p = text;
	int line_empty = 1; /* no word on this line yet */

	bg_strbuf_puts(sb, lead);
	while (*p == ' ')
		p++;
	while (*p) {
		word = strcspn(p, " ");
		if (!line_empty && col + 1 + word > width) {
			bg_strbuf_printf(sb, "\n%s", cont);
			col = indent;
			line_empty = 1;
			continue;
		}
		if (!line_empty) {
			bg_strbuf_puts(sb, " ");
			col++;
		}
		/* A word wider than the line is cut; the rest starts the next one. */
		n = col + word <= width ? word : width > col ? width - col : 1;
		put_safe(sb, p, n);
		col += n;
		p += n;
		line_empty = 0;
		if (n < word) {
			bg_strbuf_printf(sb, "\n%s", cont);
			col = indent;
			line_empty = 1;
			continue;
		}
		while (*p == ' ')
			p++;
	}
	bg_strbuf_puts(sb, "\n");
}

const struct bg_policy_rule *bg_cli_rule_for(const struct bg_policy *p, __u8 proto, __u16 port)
{
	size_t i;

	for (i = 0; p && i < p->n_rules; i++) {
		const struct bg_policy_rule *r = &p->rules[i];

		if (!r->scope && port >= r->port_lo && port <= r->port_hi &&
		    (r->protos & BG_PROTO_BIT(proto)))
			return r;
	}
	return NULL;
}
