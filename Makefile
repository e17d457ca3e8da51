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

VERSION   = 0.1.0
PREFIX   ?= /usr/local
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

PKGS      = gmime-3.0 libconfig openssl
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
BIN_SRCS  = milter/glue.c milter/main.c milter/segelctl.c
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

$(BUILD)/segelctl: $(BUILD)/obj/segelctl.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $< $(LIB) $(PKG_LIBS)

# tests/unit/testlib.c: the test PKI, temporary folders and the Check runner.
$(BUILD)/obj/testlib.o: tests/unit/testlib.c | $(BUILD)/obj
	$(CC) $(CFLAGS) -Imilter -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/obj/testlib.o $(LIB) | $(BUILD)/tests
	$(CC) $(CFLAGS) -Wno-error=unused-parameter -Imilter $(LDFLAGS) -o $@ $< \
	  $(BUILD)/obj/testlib.o $(LIB) $(PKG_LIBS) $(CHECK_LIBS)

# Debian packages: build, tests (Check, miltertest, Postfix, swaks, SASL,
# independent S/MIME verifiers), demo, fuzzing and benchmarks.
DEB_PKGS = build-essential pkg-config libmilter-dev libssl-dev libgmime-3.0-dev \
	libconfig-dev check miltertest postfix swaks sasl2-bin libsasl2-modules \
	openssl gpgsm python3 python3-cryptography faketime libfaketime clang \
	libclang-rt-14-dev valgrind opendkim opendkim-tools util-linux procps \
	iproute2 ca-certificates chromium fonts-dejavu-core tesseract-ocr tesseract-ocr-eng sendmail-cf m4 python3-authres linux-perf
deps:
	@missing=$$(for p in $(DEB_PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "make deps: installing$$(echo $$missing | tr '\n' ' ')"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "make deps: all Debian packages present"; fi

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
	@missing=$$(for p in $(INTEROP_PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "make deps-interop: installing$$(echo $$missing | tr '\n' ' ')"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "make deps-interop: all Debian packages present"; fi

interop: deps deps-interop
	$(MAKE) all
	BUILD=$(BUILD) tests/interop/thunderbird/run

fuzz:
	$(MAKE) -f tests/fuzz/Makefile FUZZ_SECONDS=$${FUZZ_SECONDS:-60}

# Every fuzz seed and regression input once, deterministic (a CI gate).
fuzz-check:
	$(MAKE) -f tests/fuzz/Makefile check

install: all
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin \
		$(DESTDIR)/etc/segel $(DESTDIR)/lib/systemd/system \
		$(DESTDIR)/usr/lib/sysusers.d $(DESTDIR)/usr/lib/tmpfiles.d
	install -m 0755 $(BUILD)/segel-milter $(DESTDIR)$(PREFIX)/sbin/segel-milter
	install -m 0755 $(BUILD)/segelctl $(DESTDIR)$(PREFIX)/sbin/segelctl
	install -m 0755 smtp-tls/check $(DESTDIR)$(PREFIX)/sbin/segel-tls-check
	test -e $(DESTDIR)/etc/segel/segel.conf || install -m 0640 conf/segel.conf $(DESTDIR)/etc/segel/segel.conf
	sed 's|@SBINDIR@|$(PREFIX)/sbin|g' systemd/segel-milter.service > $(DESTDIR)/lib/systemd/system/segel-milter.service
	sed 's|@SBINDIR@|$(PREFIX)/sbin|g' systemd/segel-expiring.service > $(DESTDIR)/lib/systemd/system/segel-expiring.service
	install -m 0644 systemd/segel-expiring.timer $(DESTDIR)/lib/systemd/system/segel-expiring.timer
	install -m 0644 systemd/segel.sysusers $(DESTDIR)/usr/lib/sysusers.d/segel.conf
	install -m 0644 systemd/segel.tmpfiles $(DESTDIR)/usr/lib/tmpfiles.d/segel.conf
	install -d $(DESTDIR)$(PREFIX)/share/doc/segel/smtp-tls/postfix $(DESTDIR)$(PREFIX)/share/doc/segel/smtp-tls/sendmail
	install -m 0644 README.md THREATS.md $(DESTDIR)$(PREFIX)/share/doc/segel/
	install -m 0644 smtp-tls/README.md $(DESTDIR)$(PREFIX)/share/doc/segel/smtp-tls/
	install -m 0644 smtp-tls/postfix/* $(DESTDIR)$(PREFIX)/share/doc/segel/smtp-tls/postfix/
	install -m 0644 smtp-tls/sendmail/* $(DESTDIR)$(PREFIX)/share/doc/segel/smtp-tls/sendmail/

clean:
	rm -rf build

.PHONY: all deps deps-interop check check-unit check-sanitize demo bench interop fuzz fuzz-check install clean

-include $(LIB_OBJS:.o=.d) $(BUILD)/obj/main.d $(BUILD)/obj/glue.d $(BUILD)/obj/segelctl.d
