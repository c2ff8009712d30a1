# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# packaging.mk - install like a daemon, package, and prove it on a real systemd host.
# Included by the top-level Makefile (paths are relative to the repository root).
#
#   make man             build/man/bindguard.8 (help2man over --help) and bindguard-policy.5
#                        (docs/policy.md through go-md2man)
#   make install         DESTDIR, PREFIX (/usr/local), SYSCONFDIR (/etc), UNITDIR: the binary,
#                        the policy, the unit, /etc/default/bindguard, man pages, logrotate
#                        snippet, bash completion. An existing policy or /etc/default file is
#                        kept.
#   make uninstall       the same paths, except a policy or default file that was changed
#   make packaging-check no root: the installed unit passes `systemd-analyze verify` and its
#                        exposure score is at most $(SECURITY_MAX); both man pages render; the
#                        logrotate snippet parses; bash completion completes
#   make deb             build/deb/bindguard_<version>_amd64.deb with debhelper, built in a clean
#                        copy of the tree, then lintian (fails on any error)
#   make deb-test        root: dpkg -i, upgrade and purge of that .deb on this machine, checking
#                        each step; refuses if bindguard is installed already (DEB=FILE: that
#                        package instead of a fresh `make deb`)
#   make systemd-test    root: debootstrap a bookworm guest (cached under build/), boot it with
#                        systemd as PID 1 under qemu and run tests/systemd/guest-test.sh against
#                        the .deb there (start, deny, journal, reload, restart with no gap,
#                        upgrade, purge); DEB=FILE as for deb-test

PREFIX		?= /usr/local
SYSCONFDIR	?= /etc
SBINDIR		?= $(PREFIX)/sbin
MANDIR		?= $(PREFIX)/share/man
UNITDIR		?= $(PREFIX)/lib/systemd/system
COMPLETIONDIR	?= $(PREFIX)/share/bash-completion/completions
DOCDIR		?= $(PREFIX)/share/doc/bindguard
DESTDIR		?=
SECURITY_MAX	?= 2.7

MAN_PAGES	:= $(BUILD)/man/bindguard.8 $(BUILD)/man/bindguard-policy.5
UNIT_OUT	:= $(BUILD)/packaging/bindguard.service

# help2man, go-md2man: man pages. debhelper, lintian, dpkg-dev, fakeroot: make deb.
# libsystemd-dev, libmicrohttpd-dev: the package's Build-Depends (journald, sd_notify, metrics).
# systemd (systemd-analyze), man-db, logrotate, bash-completion: packaging-check.
# debootstrap, qemu-system-x86, e2fsprogs (mkfs.ext4 -d), libc6-dev (a static test helper):
# systemd-test.
DEPS_PKGS	+= help2man go-md2man debhelper lintian dpkg-dev fakeroot libsystemd-dev \
		   libmicrohttpd-dev systemd man-db logrotate bash-completion debootstrap \
		   qemu-system-x86 e2fsprogs libc6-dev

.PHONY: man install uninstall packaging-check deb deb-test systemd-test

man: $(MAN_PAGES)

$(BUILD)/man/bindguard.8: $(BUILD)/bindguard docs/man/mkman.sh docs/man/bindguard.8.h2m VERSION
	$(call msg,MAN,$@)
	$(Q)mkdir -p $(@D) && docs/man/mkman.sh 8 $(BUILD)/bindguard $@

$(BUILD)/man/bindguard-policy.5: docs/policy.md docs/man/mkman.sh VERSION
	$(call msg,MAN,$@)
	$(Q)mkdir -p $(@D) && docs/man/mkman.sh 5 docs/policy.md $@

# The unit names the install paths, so it is made for each install.
install: $(BUILD)/bindguard $(MAN_PAGES)
	$(Q)mkdir -p $(dir $(UNIT_OUT)) && sed -e 's|@SBINDIR@|$(SBINDIR)|g' \
		-e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' packaging/bindguard.service.in >$(UNIT_OUT)
	install -D -m 0755 $(BUILD)/bindguard $(DESTDIR)$(SBINDIR)/bindguard
	install -D -m 0644 $(UNIT_OUT) $(DESTDIR)$(UNITDIR)/bindguard.service
	install -D -m 0644 $(BUILD)/man/bindguard.8 $(DESTDIR)$(MANDIR)/man8/bindguard.8
	install -D -m 0644 $(BUILD)/man/bindguard-policy.5 $(DESTDIR)$(MANDIR)/man5/bindguard-policy.5
	install -D -m 0644 packaging/bindguard.bash-completion $(DESTDIR)$(COMPLETIONDIR)/bindguard
	install -D -m 0644 packaging/logrotate $(DESTDIR)$(SYSCONFDIR)/logrotate.d/bindguard
	install -D -m 0644 packaging/metrics.conf $(DESTDIR)$(DOCDIR)/examples/metrics.conf
	@for f in bindguard/policy.yaml:policy/iredmail.yaml default/bindguard:packaging/default; do \
		dst=$(DESTDIR)$(SYSCONFDIR)/$${f%%:*}; src=$${f#*:}; \
		if [ -e "$$dst" ]; then echo "install: keeping the existing $$dst"; \
		else echo "install -D -m 0644 $$src $$dst"; install -D -m 0644 "$$src" "$$dst"; fi; \
	done

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/bindguard $(DESTDIR)$(UNITDIR)/bindguard.service \
		$(DESTDIR)$(MANDIR)/man8/bindguard.8 $(DESTDIR)$(MANDIR)/man5/bindguard-policy.5 \
		$(DESTDIR)$(COMPLETIONDIR)/bindguard $(DESTDIR)$(SYSCONFDIR)/logrotate.d/bindguard \
		$(DESTDIR)$(DOCDIR)/examples/metrics.conf
	-rmdir $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(DOCDIR) 2>/dev/null
	@for f in bindguard/policy.yaml:policy/iredmail.yaml default/bindguard:packaging/default; do \
		dst=$(DESTDIR)$(SYSCONFDIR)/$${f%%:*}; src=$${f#*:}; \
		if cmp -s "$$dst" "$$src"; then rm -f "$$dst"; \
		elif [ -e "$$dst" ]; then echo "uninstall: keeping $$dst (changed)"; fi; \
	done
	-rmdir $(DESTDIR)$(SYSCONFDIR)/bindguard 2>/dev/null

packaging-check: $(BUILD)/bindguard $(MAN_PAGES)
	$(Q)SECURITY_MAX=$(SECURITY_MAX) packaging/check.sh $(BUILD)

deb:
	$(Q)packaging/mkdeb.sh $(BUILD)

deb-test:
	$(Q)[ -n "$(DEB)" ] || $(MAKE) --no-print-directory deb
	$(Q)packaging/deb-test.sh $(BUILD) $(DEB)

# DEB=FILE tests that package instead of building one.
systemd-test:
	$(Q)[ -n "$(DEB)" ] || $(MAKE) --no-print-directory deb
	$(Q)tests/systemd/systemd-test.sh $(BUILD) $(DEB)
