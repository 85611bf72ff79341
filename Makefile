# relaytrust -- one GNU Makefile for both programs.
# Users may set CC, CFLAGS, CPPFLAGS, LDFLAGS, LDLIBS, PREFIX, DESTDIR.

VERSION  := 0.1.0
PREFIX   ?= /usr/local
DESTDIR  ?=
BINDIR   := $(PREFIX)/bin
SBINDIR  := $(PREFIX)/sbin
SYSCONF  := $(PREFIX)/etc/relaytrust
MANDIR   := $(PREFIX)/share/man
UNITDIR  := $(PREFIX)/lib/systemd/system

CC       ?= cc
CFLAGS   ?= -O2 -g
BUILD    ?= build
BIN      ?= bin

PKGS     := libevent libunbound libcrypto libconfuse
WFLAGS   := -std=c11 -Wall -Wextra -Wshadow -Wformat=2
ifeq ($(WERROR),1)
WFLAGS   += -Werror
endif
ALL_CPPFLAGS := -D_GNU_SOURCE -I. -DRT_VERSION='"$(VERSION)"' \
	-DRT_SYSCONFDIR='"$(SYSCONF)"' $(shell pkg-config --cflags $(PKGS)) $(CPPFLAGS)
ALL_CFLAGS   := $(WFLAGS) $(CFLAGS) -MMD -MP
LIBS     := $(shell pkg-config --libs $(PKGS)) -lspf2 -lresolv -lpthread -lm $(LDLIBS)

SHARED_SRC  := $(sort $(wildcard shared/*.c))
POLICYD_SRC := $(sort $(wildcard policyd/*.c))
VERIFY_SRC  := $(sort $(wildcard verifier/*.c))
SHARED_OBJ  := $(SHARED_SRC:%.c=$(BUILD)/%.o)
POLICYD_OBJ := $(POLICYD_SRC:%.c=$(BUILD)/%.o)
VERIFY_OBJ  := $(VERIFY_SRC:%.c=$(BUILD)/%.o)
# Everything but the two main()s goes into one archive that tests link.
LIB_OBJ     := $(SHARED_OBJ) $(filter-out $(BUILD)/policyd/main.o \
	       $(BUILD)/policyd/worker_main.o,$(POLICYD_OBJ)) \
	       $(filter-out $(BUILD)/verifier/main.o,$(VERIFY_OBJ))
LIBRT       := $(BUILD)/librelaytrust.a

UNIT_SRC    := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN    := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
TOOL_SRC    := $(sort $(wildcard tests/tools/*.c))
TOOL_BIN    := $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tests/%)

PROGS := $(BIN)/relaytrust-policyd $(BIN)/relaytrust-verify $(BIN)/relaytrust-spf-worker

.PHONY: all deps bench-deps install-pkgs run check asan fuzz bench soak install uninstall clean
all: $(PROGS) $(UNIT_BIN) $(TOOL_BIN)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(LIBRT): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BIN)/relaytrust-policyd: $(BUILD)/policyd/main.o $(LIBRT)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

# The SPF worker links libspf2 and libc only (spfworker.c needs no more).
$(BIN)/relaytrust-spf-worker: $(BUILD)/policyd/worker_main.o $(LIBRT)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ -lspf2

$(BIN)/relaytrust-verify: $(BUILD)/verifier/main.o $(LIBRT)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(LIBRT)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LIBS) -lcmocka

$(BUILD)/tests/%.o: tests/unit/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/tests/%.o: tests/tools/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

# Dependencies: Debian packages for the build, the tests and make run.
DEB_PKGS := build-essential pkg-config libevent-dev libunbound-dev libspf2-dev \
	libconfuse-dev libssl-dev libcmocka-dev python3 python3-pytest python3-dnslib \
	python3-yaml python3-cryptography postfix swaks clang libclang-rt-14-dev valgrind \
	mandoc groff-base systemd debhelper dpkg-dev git
# The peers and tools only make bench needs.
BENCH_PKGS := postfix-policyd-spf-python postfix-policyd-spf-perl socat \
	python3-dkim opendkim-tools time iproute2 util-linux gdb
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
deps:
	@$(MAKE) -s install-pkgs DEBS="$(DEB_PKGS)"

bench-deps:
	@$(MAKE) -s install-pkgs DEBS="$(DEB_PKGS) $(BENCH_PKGS)"

install-pkgs:
	@missing=$$(for p in $(DEBS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null \
		| grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "deps: installing $$missing"; \
		echo "postfix postfix/main_mailer_type select No configuration" | $(SUDO) debconf-set-selections; \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	else echo "deps: all installed"; fi

run: deps all
	$(BIN)/relaytrust-policyd -f -c conf/policyd.conf

check: deps all
	@tests/run-all $(BUILD) $(BIN)

asan:
	$(MAKE) BUILD=build-asan BIN=build-asan/bin \
		CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer" \
		LDFLAGS="-fsanitize=address,undefined" check

fuzz:
	@tests/fuzz/run $(FUZZ_SECONDS)

bench: bench-deps all
	@tests/bench/run

soak: bench-deps all
	@tests/soak/run

install: $(PROGS)
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(SYSCONF)
	install -m 755 $(BIN)/relaytrust-policyd $(BIN)/relaytrust-spf-worker \
		$(DESTDIR)$(SBINDIR)/
	install -m 755 $(BIN)/relaytrust-verify $(DESTDIR)$(BINDIR)/
	install -m 644 conf/policyd.conf $(DESTDIR)$(SYSCONF)/policyd.conf.sample
	[ -e $(DESTDIR)$(SYSCONF)/policyd.conf ] || install -m 644 conf/policyd.conf $(DESTDIR)$(SYSCONF)/policyd.conf
	if [ -d man ]; then for m in man/*.[0-9]; do s=$${m##*.}; \
		install -d $(DESTDIR)$(MANDIR)/man$$s; install -m 644 $$m $(DESTDIR)$(MANDIR)/man$$s/; done; fi
	install -d $(DESTDIR)$(UNITDIR)
	sed -e 's|/usr/sbin/relaytrust-policyd|$(SBINDIR)/relaytrust-policyd|g' \
		-e 's|/etc/relaytrust/|$(SYSCONF)/|g' conf/relaytrust-policyd.service \
		> $(DESTDIR)$(UNITDIR)/relaytrust-policyd.service
	chmod 644 $(DESTDIR)$(UNITDIR)/relaytrust-policyd.service

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/relaytrust-policyd $(DESTDIR)$(SBINDIR)/relaytrust-spf-worker \
		$(DESTDIR)$(BINDIR)/relaytrust-verify \
		$(DESTDIR)$(SYSCONF)/policyd.conf.sample \
		$(DESTDIR)$(UNITDIR)/relaytrust-policyd.service
	if [ -d man ]; then for m in man/*.[0-9]; do s=$${m##*.}; \
		rm -f $(DESTDIR)$(MANDIR)/man$$s/$${m##*/}; done; fi

clean:
	rm -rf build build-asan bin

# Keep intermediate objects (tests' .o files): nothing is deleted after a run.
.SECONDARY:

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
