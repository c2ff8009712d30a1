// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * reload.c - SIGHUP: parse the policy source again and swap it in atomically. A bad file changes
 * nothing: the old policy stays live (a failed reload never widens access) and the failure is
 * reported with its file:line:col.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "agent.h"
#include "policy_watch.h"
#include "scopes.h"
#include "commands.h"
#include "loader.h"
#include "log.h"

void bg_agent_set_policy(struct bg_agent *a, struct bg_policy *np, __u16 gen)
{
	size_t i;

	bg_policy_free(a->old[BG_OLD_POLICIES - 1]);
	for (i = BG_OLD_POLICIES - 1; i > 0; i--) {
		a->old[i] = a->old[i - 1];
		a->old_gen[i] = a->old_gen[i - 1];
	}
	a->old[0] = a->policy;
	a->old_gen[0] = a->gen;
	a->policy = np;
	a->gen = gen;
}

void bg_agent_reload(struct bg_agent *a, const char *trigger)
{
	struct bg_compile_opts copts = a->o->copts;
	struct bg_compiled compiled = { 0 };
	struct bg_policy *np = NULL;
	struct timespec now;
	struct bg_record r;
	char msg[1024];
	int err;
	__u8 mode;

	if (a->notify)
		sd_notify(0, "RELOADING=1");
	err = bg_cli_load_policy(a->o->policy_path, &np, msg, sizeof(msg));
	if (!err) {
		copts.gen = a->gen + 1;
		copts.first_set_id = bg_loader_next_set_id(a->loader);
		err = bg_policy_compile(np, &copts, &compiled);
		if (err)
			snprintf(msg, sizeof(msg), "cannot compile the policy: %s", strerror(-err));
	}
	if (!err) {
		struct bg_scope_entry *cg = NULL;
		size_t n_cg = 0;

		err = bg_scopes_classify(a->scopes, np, &cg, &n_cg);
		if (err)
			snprintf(msg, sizeof(msg), "cannot classify the cgroups: %s",
				 strerror(-err));
		else if (bg_loader_install_policy(a->loader, &compiled, cg, n_cg)) {
			err = -EIO;
			snprintf(msg, sizeof(msg), "%s", bg_loader_strerror());
		}
		free(cg);
		cg = NULL;
		/* Failed: what the scopes module knows goes back to the policy in force. */
		if (err && !bg_scopes_classify(a->scopes, a->policy, &cg, &n_cg))
			free(cg);
	}
	clock_gettime(CLOCK_REALTIME, &now);
	if (err) {
		a->reloads_failed++;
		bg_err("reload failed, the previous policy stays in force: %s\n", msg);
		if (bg_record_agent(&r, "reload-failed", &now, LOG_ERR) == 0) {
			bg_record_str(&r, "source",
				      a->o->policy_path ? a->o->policy_path :
							  BG_BUILTIN_POLICY_NAME);
			bg_record_str(&r, "error", msg);
			bg_record_str(&r, "trigger", trigger);
			bg_record_uint(&r, "generation", a->gen);
			bg_agent_record(a, &r, 0);
		}
		goto out;
	}
	/* Pinned: the text goes with the pins, for the next agent to name queued events with. */
	if (bg_loader_pin_policy(a->loader, copts.gen, np->source, np->text, np->text_len))
		bg_warn("%s\n", bg_loader_strerror());
	bg_pwatch_set(a->pwatch, np->text, np->text_len);
	bg_agent_set_policy(a, np, copts.gen);
	np = NULL;
	a->reloads_ok++;
	mode = copts.mode_override >= 0 ? (__u8)copts.mode_override : a->policy->mode;
	if (bg_record_agent(&r, "reloaded", &now, LOG_INFO) == 0) {
		bg_record_uint(&r, "generation", a->gen);
		bg_record_uint(&r, "rules", a->policy->n_rules);
		bg_record_str(&r, "policy", a->policy->name);
		bg_record_str(&r, "source", a->policy->source);
		bg_record_str(&r, "mode", bg_mode_str(mode));
		bg_record_str(&r, "trigger", trigger);
		bg_agent_record(a, &r, 1);
	}
out:
	bg_agent_flush(a);
	bg_compiled_release(&compiled);
	bg_policy_free(np);
	if (a->notify)
		sd_notifyf(0, "READY=1\nSTATUS=enforcing %s on %s (%s mode)", a->policy->source,
			   a->cgroup,
			   bg_mode_str(a->o->copts.mode_override >= 0 ?
					       (__u8)a->o->copts.mode_override :
					       a->policy->mode));
}
