# SPDX-License-Identifier: ISC
# relaytrust -- one GNU Makefile for both programs.
# Users may set CC, CFLAGS, CPPFLAGS, LDFLAGS, LDLIBS, PREFIX, DESTDIR, and the
# directories below one by one.  PREFIX is compiled in (the daemon's default
# configuration file, where it finds its SPF worker): "make install PREFIX=X"
# rebuilds what depends on it.  DESTDIR is not compiled in: it only stages the
# files, for packages ("make install PREFIX=/usr DESTDIR=/tmp/pkg").

VERSION    := 0.2.0
PREFIX     ?= /usr/local
DESTDIR    ?=
BINDIR     ?= $(PREFIX)/bin
SBINDIR    ?= $(PREFIX)/sbin
# Internal programs (the SPF worker), run by the daemon, never by a user.
LIBEXECDIR ?= $(PREFIX)/libexec/relaytrust
# GNU convention: /etc for PREFIX=/usr, PREFIX/etc otherwise.
SYSCONFDIR ?= $(if $(filter /usr /usr/,$(PREFIX)),/etc,$(PREFIX)/etc)
SYSCONF    ?= $(SYSCONFDIR)/relaytrust
MANDIR     ?= $(PREFIX)/share/man
UNITDIR    ?= $(PREFIX)/lib/systemd/system

CC       ?= cc
CFLAGS   ?= -O2 -g
BUILD    ?= build
BIN      ?= bin

PKGS     := libevent libunbound libssl libcrypto libconfuse libpsl libseccomp
WFLAGS   := -std=c11 -Wall -Wextra -Wshadow -Wformat=2
ifeq ($(WERROR),1)
WFLAGS   += -Werror
endif

# pkg-config runs when a compile or a link first needs it, not when make reads
# this file: "make check" and "make run" install the packages (deps) first, and
# a make that read this file before that must not have kept empty flags.  Each
# runs once per make (the eval replaces the variable by its value).
pkgconf = $(if $(shell pkg-config --exists $(PKGS) 2>/dev/null && echo y),$(shell \
	pkg-config $1 $(PKGS)),$(error pkg-config does not find $(PKGS): run \
	"make deps" (it installs the Debian -dev packages)))
PKG_CFLAGS = $(eval PKG_CFLAGS := $$(call pkgconf,--cflags))$(PKG_CFLAGS)
PKG_LIBS   = $(eval PKG_LIBS := $$(call pkgconf,--libs))$(PKG_LIBS)
# The SPF worker's seccomp filter is built with libseccomp.
SECCOMP_LIBS = $(eval SECCOMP_LIBS := $$(shell pkg-config --libs libseccomp))$(SECCOMP_LIBS)

# The installed paths and the version the programs know; objects that use
# them depend on $(BUILD)/paths.stamp, which changes only when one does.
PATH_DEFS := -DRT_SYSCONFDIR='"$(SYSCONF)"' -DRT_SBINDIR='"$(SBINDIR)"' \
	-DRT_BINDIR='"$(BINDIR)"' -DRT_LIBEXECDIR='"$(LIBEXECDIR)"'
ALL_CPPFLAGS = -D_GNU_SOURCE -I. -DRT_VERSION='"$(VERSION)"' $(PATH_DEFS) \
	$(PKG_CFLAGS) $(CPPFLAGS)
ALL_CFLAGS   := $(WFLAGS) $(CFLAGS) -MMD -MP
LIBS     = $(PKG_LIBS) -lspf2 -lresolv -lpthread -lm $(LDLIBS)

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

.PHONY: all deps bench-deps install-pkgs run check asan fuzz bench soak install \
	uninstall clean cross-arm64 FORCE
all: $(PROGS) $(UNIT_BIN) $(TOOL_BIN)

$(BUILD)/paths.stamp: FORCE
	@mkdir -p $(dir $@)
	@printf '%s\n' "$(SYSCONF)" "$(SBINDIR)" "$(BINDIR)" "$(LIBEXECDIR)" \
	    "$(VERSION)" > $@.new
	@if cmp -s $@.new $@; then rm -f $@.new; else mv $@.new $@; fi
$(BUILD)/policyd/main.o $(BUILD)/policyd/worker_main.o \
$(BUILD)/shared/spfworker.o $(BUILD)/verifier/main.o \
$(BUILD)/verifier/html.o: $(BUILD)/paths.stamp

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(LIBRT): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# The daemon needs no Public Suffix List (libpsl is the verifier's, DMARC)
# and no libssl (the verifier's STARTTLS probe, smtpprobe.c).
$(BIN)/relaytrust-policyd: $(BUILD)/policyd/main.o $(LIBRT)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(filter-out -lpsl -lssl,$(LIBS))

# The SPF worker links libspf2, libseccomp and libc only (spfworker.c needs
# no more).
$(BIN)/relaytrust-spf-worker: $(BUILD)/policyd/worker_main.o $(LIBRT)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ -lspf2 $(SECCOMP_LIBS)

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
	libconfuse-dev libssl-dev libpsl-dev libseccomp-dev libcmocka-dev python3 python3-pytest python3-dnslib \
	python3-yaml python3-cryptography python3-authheaders postfix swaks clang libclang-rt-14-dev valgrind \
	mandoc groff-base systemd debhelper dpkg-dev lintian git chromium python3-websocket
# The peers and tools only make bench needs.
BENCH_PKGS := postfix-policyd-spf-python postfix-policyd-spf-perl socat \
	python3-dkim opendkim-tools time iproute2 util-linux gdb
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
deps:
	@$(MAKE) -s install-pkgs DEBS="$(DEB_PKGS)"

bench-deps:
	@$(MAKE) -s install-pkgs DEBS="$(DEB_PKGS) $(BENCH_PKGS)"

install-pkgs:
	@arch=$$(dpkg --print-architecture); \
	missing=$$(for p in $(DEBS); do \
		dpkg-query -W -f='$${Status} $${Architecture}\n' $$p 2>/dev/null \
		| grep -Eq "^install ok installed ($$arch|all)$$" || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "deps: installing $$missing"; \
		echo "postfix postfix/main_mailer_type select No configuration" | $(SUDO) debconf-set-selections; \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	else echo "deps: all installed"; fi

# The packages first, then a new make builds: it reads pkg-config's answers
# only after deps has installed what pkg-config looks for.
run: deps
	@$(MAKE) --no-print-directory all
	$(BIN)/relaytrust-policyd -f -c conf/policyd.conf

check: deps
	@$(MAKE) --no-print-directory all
	@tests/run-all $(BUILD) $(BIN)

asan:
	$(MAKE) BUILD=build-asan BIN=build-asan/bin \
		CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer" \
		LDFLAGS="-fsanitize=address,undefined" check

fuzz:
	@tests/fuzz/run $(FUZZ_SECONDS)

# A cross build for arm64 with Debian's multiarch packages, into build-arm64/
# (programs, unit tests and tools are built, nothing is run; not part of
# make check).  libevent-dev and libspf2-dev are not Multi-Arch: same: their
# arm64 packages would remove the host's, so they and their libraries are
# unpacked into build-arm64/sysroot instead of installed.
ARM64          := build-arm64
ARM64_TRIPLET  := aarch64-linux-gnu
ARM64_SYSROOT  := $(CURDIR)/$(ARM64)/sysroot
ARM64_DEBS     := gcc-$(ARM64_TRIPLET) libunbound-dev:arm64 nettle-dev:arm64 \
	libconfuse-dev:arm64 libssl-dev:arm64 libpsl-dev:arm64 libseccomp-dev:arm64 \
	libcmocka-dev:arm64
ARM64_UNPACK   := libevent-dev libevent-2.1-7 libevent-core-2.1-7 \
	libevent-extra-2.1-7 libevent-pthreads-2.1-7 libevent-openssl-2.1-7 \
	libspf2-dev libspf2-2
cross-arm64:
	@dpkg --print-foreign-architectures | grep -qx arm64 || { \
		echo "cross-arm64: adding the arm64 architecture"; \
		$(SUDO) dpkg --add-architecture arm64 && $(SUDO) apt-get update -qq; }
	@$(MAKE) -s install-pkgs DEBS="$(ARM64_DEBS)"
	@if [ ! -e $(ARM64_SYSROOT)/.unpacked ]; then \
		echo "cross-arm64: unpacking $(ARM64_UNPACK) (arm64) into $(ARM64_SYSROOT)"; \
		rm -rf $(ARM64)/debs $(ARM64_SYSROOT) && mkdir -p $(ARM64)/debs $(ARM64_SYSROOT) && \
		(cd $(ARM64)/debs && apt-get download -qq $(ARM64_UNPACK:%=%:arm64)) && \
		for d in $(ARM64)/debs/*.deb; do dpkg-deb -x $$d $(ARM64_SYSROOT) || exit 1; done && \
		touch $(ARM64_SYSROOT)/.unpacked; fi
	@env PKG_CONFIG_LIBDIR=$(ARM64_SYSROOT)/usr/lib/$(ARM64_TRIPLET)/pkgconfig:/usr/lib/$(ARM64_TRIPLET)/pkgconfig:/usr/share/pkgconfig \
		$(MAKE) --no-print-directory BUILD=$(ARM64) BIN=$(ARM64)/bin CC=$(ARM64_TRIPLET)-gcc \
		CPPFLAGS="-I$(ARM64_SYSROOT)/usr/include $(CPPFLAGS)" \
		LDFLAGS="-L$(ARM64_SYSROOT)/usr/lib/$(ARM64_TRIPLET) -L$(ARM64_SYSROOT)/usr/lib \
		-Wl,-rpath-link,$(ARM64_SYSROOT)/usr/lib/$(ARM64_TRIPLET) $(LDFLAGS)" all
	@file $(ARM64)/bin/*

bench: bench-deps
	@$(MAKE) --no-print-directory all
	@tests/bench/run

soak: bench-deps
	@$(MAKE) --no-print-directory all
	@tests/soak/run

# The shipped files name the package's paths; an install elsewhere names its
# own, and the user the daemon drops to (DAEMON_USER; the package's is
# relaytrust).
DAEMON_USER ?= nobody
SED_PATHS = sed -e 's|/usr/sbin/relaytrust-policyd|$(SBINDIR)/relaytrust-policyd|g' \
	-e 's|/etc/relaytrust/|$(SYSCONF)/|g' -e 's|/usr/libexec/relaytrust/|$(LIBEXECDIR)/|g' \
	-e 's|^user = "nobody"|user = "$(DAEMON_USER)"|'

install: $(PROGS)
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBEXECDIR) \
		$(DESTDIR)$(SYSCONF) $(DESTDIR)$(UNITDIR)
	install -m 755 $(BIN)/relaytrust-policyd $(DESTDIR)$(SBINDIR)/
	install -m 755 $(BIN)/relaytrust-spf-worker $(DESTDIR)$(LIBEXECDIR)/
	install -m 755 $(BIN)/relaytrust-verify $(DESTDIR)$(BINDIR)/
	$(SED_PATHS) conf/policyd.conf > $(DESTDIR)$(SYSCONF)/policyd.conf.sample
	chmod 644 $(DESTDIR)$(SYSCONF)/policyd.conf.sample
	[ -e $(DESTDIR)$(SYSCONF)/policyd.conf ] || \
		cp -p $(DESTDIR)$(SYSCONF)/policyd.conf.sample $(DESTDIR)$(SYSCONF)/policyd.conf
	for m in man/*.[0-9]; do s=$${m##*.}; install -d $(DESTDIR)$(MANDIR)/man$$s; \
		install -m 644 $$m $(DESTDIR)$(MANDIR)/man$$s/; done
	$(SED_PATHS) conf/relaytrust-policyd.service > $(DESTDIR)$(UNITDIR)/relaytrust-policyd.service
	chmod 644 $(DESTDIR)$(UNITDIR)/relaytrust-policyd.service

# The configuration stays: it is the administrator's.
uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/relaytrust-policyd $(DESTDIR)$(BINDIR)/relaytrust-verify \
		$(DESTDIR)$(LIBEXECDIR)/relaytrust-spf-worker \
		$(DESTDIR)$(SYSCONF)/policyd.conf.sample \
		$(DESTDIR)$(UNITDIR)/relaytrust-policyd.service
	rmdir $(DESTDIR)$(LIBEXECDIR) 2>/dev/null || true
	for m in man/*.[0-9]; do s=$${m##*.}; rm -f $(DESTDIR)$(MANDIR)/man$$s/$${m##*/}; done

clean:
	rm -rf build build-asan build-arm64 bin

# Keep intermediate objects (tests' .o files): nothing is deleted after a run.
.SECONDARY:

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
