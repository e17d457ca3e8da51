# segel - S/MIME signing and TLS-enforcing milter.  See README.md.
#
#   make            build build/segel-milter and build/segelctl
#   make deps       install the Debian packages the build, tests and demo need
#   make check      build and run every test (unit, milter protocol, end to end)
#   make check SANITIZE=1   the same under ASan+UBSan (build in build/asan)
#   make demo       run the gateway for real on loopback and tell what happened
#   make bench      benchmarks (results in BENCHMARKS.md)
#   make interop    Thunderbird as a judge of segel's signatures (RESULTS.md
#                   in tests/interop/thunderbird)
#   make fuzz       libFuzzer targets (FUZZ_SECONDS each)
#   make install    PREFIX (default /usr/local) and DESTDIR honoured
#   make check-install  README's install steps on this machine (fresh root only)
#   make deb        the Debian package build/segel_VERSION_amd64.deb (lintian clean)
#   make check-deb  installs, runs and purges that package (fresh root only)

VERSION   = 0.1.0
PREFIX   ?= /usr/local
MANDIR   ?= $(PREFIX)/share/man
DESTDIR  ?=
SANITIZE ?= 0
CC       ?= cc

ifeq ($(SANITIZE),1)
BUILD    ?= build/asan
SANFLAGS  = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
BUILD    ?= build
SANFLAGS  =
endif

PKGS      = gmime-3.0 libconfig openssl libp11 libcurl
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null | sed 's/-I/-isystem /g')
PKG_LIBS  := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null)

CFLAGS   ?= -O2 -g
CFLAGS   += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wformat=2 -Werror \
	    -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE -pthread \
	    -DSEGEL_VERSION='"$(VERSION)"' $(SANFLAGS) $(PKG_CFLAGS) -MMD -MP
LDFLAGS  += -pie -Wl,-z,relro,-z,now -pthread $(SANFLAGS)

# Everything but the libmilter glue and the two mains is a library that unit
# tests link without libmilter.
CTL_SRCS  = milter/segelctl.c milter/segelctl_list.c milter/segelctl_change.c \
	    milter/segelctl_records.c
CTL_SRCS += milter/segelctl_crl.c
CTL_OBJS  = $(CTL_SRCS:milter/%.c=$(BUILD)/obj/%.o)
BIN_SRCS  = milter/glue.c milter/main.c $(CTL_SRCS)
LIB_SRCS  = $(filter-out $(BIN_SRCS),$(wildcard milter/*.c))
LIB_OBJS  = $(LIB_SRCS:milter/%.c=$(BUILD)/obj/%.o)
LIB       = $(BUILD)/libsegel.a

UNIT_SRCS = $(wildcard tests/unit/test_*.c)
UNIT_BINS = $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

all: $(BUILD)/segel-milter $(BUILD)/segelctl $(UNIT_BINS)

$(BUILD)/obj/%.o: milter/%.c | $(BUILD)/obj
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/obj $(BUILD)/tests:
	mkdir -p $@

$(LIB): $(LIB_OBJS)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/segel-milter: $(BUILD)/obj/main.o $(BUILD)/obj/glue.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $(BUILD)/obj/main.o $(BUILD)/obj/glue.o $(LIB) -lmilter $(PKG_LIBS)

$(BUILD)/segelctl: $(CTL_OBJS) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $(CTL_OBJS) $(LIB) $(PKG_LIBS)

# tests/unit/testlib.c: the test PKI, temporary folders and the Check runner.
$(BUILD)/obj/testlib.o: tests/unit/testlib.c | $(BUILD)/obj
	$(CC) $(CFLAGS) -Imilter -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/obj/testlib.o $(LIB) | $(BUILD)/tests
	$(CC) $(CFLAGS) -Wno-error=unused-parameter -Imilter $(LDFLAGS) -o $@ $< \
	  $(BUILD)/obj/testlib.o $(LIB) $(PKG_LIBS) $(CHECK_LIBS)

# Debian packages, each named (a Recommends is not a dependency; make deps
# installs with --no-install-recommends, as a minimal machine would).
#   DEB_RUNTIME  what a production mail host needs to run segel-milter,
#                segelctl and segel-tls-check beside Postfix with SASL
#                (make deps-runtime)
#   DEB_BUILD    what building segel needs on top (make deps-build)
#   DEB_TEST     the tests and the demo: Check, miltertest, a private Postfix,
#                swaks with its TLS and SASL Perl modules, Cyrus SASL, the
#                independent S/MIME judges, the report's renderer and OCR,
#                Sendmail's m4 files, an RFC 8601 parser
#                and promtool (Prometheus: the metrics file and alert rules)
#   DEB_TOOLS    fuzzing (clang, libFuzzer; llvm for llvm-symbolizer: the
#                sanitizers' suppressions match function names), valgrind,
#                benchmarks (OpenDKIM, perf)
# tests/check-deps checks afterwards that every command and module the
# scripts use is really there.
DEB_RUNTIME = libmilter1.0.1 libssl3 libgmime-3.0-0 libconfig9 libglib2.0-0 \
	openssl ca-certificates postfix sasl2-bin libsasl2-modules libp11-3 libcurl4
DEB_BUILD = build-essential make pkg-config libmilter-dev libssl-dev \
	libgmime-3.0-dev libconfig-dev libp11-dev libcurl4-openssl-dev
DEB_TEST = check miltertest swaks libnet-ssleay-perl libio-socket-ssl-perl \
	libauthen-sasl-perl libdigest-hmac-perl gpgsm gpg-agent \
	python3 python3-cryptography python3-authres faketime libfaketime util-linux \
	procps iproute2 e2fsprogs systemd chromium fonts-dejavu-core tesseract-ocr tesseract-ocr-eng \
	sendmail-cf m4 softhsm2 opensc python3-pykcs11 prometheus
DEB_TOOLS = clang libclang-rt-14-dev llvm valgrind opendkim opendkim-tools linux-perf
# the manual pages' test (tests/e2e/t_man.sh: groff -ww, man -l)
DEB_TEST += groff-base man-db
DEB_PKGS = $(DEB_RUNTIME) $(DEB_BUILD) $(DEB_TEST) $(DEB_TOOLS)

# $(call apt_install,PACKAGES): install those not yet installed; a no-op
# when all are.
define apt_install
	@missing=$$(for p in $(1); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "make deps: installing$$(echo $$missing | tr '\n' ' ')"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends $$missing; \
	else echo "make deps: all $(words $(1)) Debian packages present"; fi
endef

deps:
	$(call apt_install,$(DEB_PKGS))
	@tests/check-deps

deps-runtime:
	$(call apt_install,$(DEB_RUNTIME))

deps-build:
	$(call apt_install,$(DEB_BUILD))

check: deps
	$(MAKE) all
	BUILD=$(BUILD) SANITIZE=$(SANITIZE) tests/run-all

check-unit: all
	BUILD=$(BUILD) tests/run-all unit

# The unit and milter-protocol suites under ASan+UBSan (build/asan); the
# end-to-end suite runs the sanitized daemon too when SANITIZE_E2E=1.
check-sanitize: deps
	$(MAKE) SANITIZE=1 all
	BUILD=build/asan CK_TIMEOUT_MULTIPLIER=10 ASAN_OPTIONS=detect_leaks=1:fast_unwind_on_malloc=0 \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  tests/run-all unit
	BUILD=build/asan CK_TIMEOUT_MULTIPLIER=10 ASAN_OPTIONS=detect_leaks=1:fast_unwind_on_malloc=0 \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  tests/run-all milter

demo: deps
	$(MAKE) all
	BUILD=$(BUILD) tests/demo

bench: deps
	$(MAKE) all
	BUILD=$(BUILD) tests/bench/run

# Thunderbird as an independent judge (tests/interop/thunderbird/run): Debian's
# thunderbird under Xvfb, its verdict read over Marionette; certutil puts the
# test root into the throw-away profile. About a minute; not part of check.
INTEROP_PKGS = thunderbird xvfb libnss3-tools
deps-interop:
	$(call apt_install,$(INTEROP_PKGS))

interop: deps deps-interop
	$(MAKE) all
	BUILD=$(BUILD) tests/interop/thunderbird/run

fuzz:
	$(MAKE) -f tests/fuzz/Makefile FUZZ_SECONDS=$${FUZZ_SECONDS:-60}

# Every fuzz seed and regression input once, deterministic (a CI gate).
fuzz-check:
	$(MAKE) -f tests/fuzz/Makefile check

install: $(BUILD)/segel-milter $(BUILD)/segelctl
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin \
		$(DESTDIR)/etc/segel $(DESTDIR)/lib/systemd/system \
		$(DESTDIR)/usr/lib/sysusers.d $(DESTDIR)/usr/lib/tmpfiles.d
	install -m 0755 $(BUILD)/segel-milter $(DESTDIR)$(PREFIX)/sbin/segel-milter
	install -m 0755 $(BUILD)/segelctl $(DESTDIR)$(PREFIX)/sbin/segelctl
	install -m 0755 smtp-tls/check $(DESTDIR)$(PREFIX)/sbin/segel-tls-check
	test -e $(DESTDIR)/etc/segel/segel.conf || install -m 0640 conf/segel.conf $(DESTDIR)/etc/segel/segel.conf
	@# The daemon runs as segel and reloads after dropping root: it must be
	@# able to read its configuration (the tmpfiles snippet says the same,
	@# for the first install, before the group exists).
	if [ -z "$(DESTDIR)" ] && getent group segel >/dev/null; then \
		chgrp segel /etc/segel /etc/segel/segel.conf && chmod 0750 /etc/segel; fi
	sed 's|@SBINDIR@|$(PREFIX)/sbin|g' systemd/segel-milter.service > $(DESTDIR)/lib/systemd/system/segel-milter.service
	sed 's|@SBINDIR@|$(PREFIX)/sbin|g' systemd/segel-expiring.service > $(DESTDIR)/lib/systemd/system/segel-expiring.service
	install -m 0644 systemd/segel-expiring.timer $(DESTDIR)/lib/systemd/system/segel-expiring.timer
	sed 's|@SBINDIR@|$(PREFIX)/sbin|g' systemd/segel-stamp.service > $(DESTDIR)/lib/systemd/system/segel-stamp.service
	install -m 0644 systemd/segel-stamp.timer $(DESTDIR)/lib/systemd/system/segel-stamp.timer
	sed 's|@SBINDIR@|$(PREFIX)/sbin|g' systemd/segel-notify.service > $(DESTDIR)/lib/systemd/system/segel-notify.service
	install -m 0644 systemd/segel-notify.timer $(DESTDIR)/lib/systemd/system/segel-notify.timer
	sed 's|@SBINDIR@|$(PREFIX)/sbin|g' systemd/segel-crl-update.service > $(DESTDIR)/lib/systemd/system/segel-crl-update.service
	install -m 0644 systemd/segel-crl-update.timer $(DESTDIR)/lib/systemd/system/segel-crl-update.timer
	install -m 0644 systemd/segel.sysusers $(DESTDIR)/usr/lib/sysusers.d/segel.conf
	install -m 0644 systemd/segel.tmpfiles $(DESTDIR)/usr/lib/tmpfiles.d/segel.conf
	install -d $(DESTDIR)$(PREFIX)/share/doc/segel/smtp-tls/postfix $(DESTDIR)$(PREFIX)/share/doc/segel/smtp-tls/sendmail
	install -m 0644 README.md THREATS.md $(DESTDIR)$(PREFIX)/share/doc/segel/
	install -m 0644 smtp-tls/README.md $(DESTDIR)$(PREFIX)/share/doc/segel/smtp-tls/
	install -m 0644 smtp-tls/postfix/* $(DESTDIR)$(PREFIX)/share/doc/segel/smtp-tls/postfix/
	install -m 0644 smtp-tls/sendmail/* $(DESTDIR)$(PREFIX)/share/doc/segel/smtp-tls/sendmail/
	install -d $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8
	install -m 0644 man/*.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 man/*.8 $(DESTDIR)$(MANDIR)/man8/
	if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload; fi

# README's install steps, walked as root in a fresh Debian 12 root (the
# lead's ../shared/tools/fresh-machine): installs packages, creates user
# segel, writes /etc/postfix and /etc/segel. Not part of "make check": it
# changes the machine it runs on. See tests/install/t_readme_install.sh.
check-install:
	tests/install/t_readme_install.sh

# The Debian package (debian/, debhelper compat 13): dpkg-buildpackage
# -us -uc -b in a copy of the tree (build/deb/segel-VERSION: its "debian/rules
# clean" runs "make clean" there, not here), then lintian, which fails the
# target on any error or warning (informational tags are shown too). The
# .deb, .changes and .buildinfo are copied into build/.
DEB_PACKAGING = debhelper lintian
deps-deb:
	$(call apt_install,$(DEB_BUILD) $(DEB_PACKAGING))

deb: deps-deb
	@v=$$(dpkg-parsechangelog -S Version); [ "$$v" = "$(VERSION)" ] || \
		{ echo "make deb: debian/changelog says $$v, the Makefile's VERSION $(VERSION)"; exit 1; }
	rm -rf build/deb && mkdir -p build/deb/segel-$(VERSION)
	tar --exclude=./build --exclude=./.git -cf - . | tar -C build/deb/segel-$(VERSION) -xf -
	cd build/deb/segel-$(VERSION) && dpkg-buildpackage -us -uc -b
	cp build/deb/*.deb build/deb/*.changes build/deb/*.buildinfo build/
	lintian --fail-on error,warning --display-info build/segel_$(VERSION)_amd64.changes
	@echo "make deb: build/segel_$(VERSION)_amd64.deb"

# The package installed on this machine (apt-get install ./build/segel_*.deb),
# its programs run against a test store, then purged: see
# tests/install/t_deb.sh. Not part of "make check": it changes the machine.
#   ../shared/tools/fresh-machine make check-deb
check-deb: deb
	tests/install/t_deb.sh

clean:
	rm -rf build

.PHONY: deb deps-deb check-deb
.PHONY: all deps deps-runtime deps-build deps-interop check check-unit check-install check-sanitize demo bench interop fuzz fuzz-check install clean

-include $(LIB_OBJS:.o=.d) $(BUILD)/obj/main.d $(BUILD)/obj/glue.d $(CTL_OBJS:.o=.d) \
	$(BUILD)/obj/testlib.d
