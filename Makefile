# svcmove: `make demo` runs the main job on the test bed, `make test` runs every test.
# Both set the machine up first (root; idempotent).
SHELL := /bin/bash
MVN ?= mvn -B -ntp
PREFIX ?= /usr/local
OCF_ROOT ?= /usr/lib/ocf
export SVCMOVE_HOME := $(CURDIR)

.PHONY: setup build native test unit demo install uninstall bench-vip bench-move bench-lazy bench-stall soak clean

setup:
	@native/setup

native:
	@$(MAKE) -s -C native

build: native
	@$(MVN) -q package -DskipTests

# Every test: unit tests and the real integration tests on the netns test bed (root, CRIU).
test: setup native
	$(MVN) verify

# Only the unit tests: no root, netns or CRIU needed.
unit:
	$(MVN) verify -DskipITs

demo: setup build
	@test-vm/demo

install: build
	install -d $(DESTDIR)$(PREFIX)/lib/svcmove $(DESTDIR)$(PREFIX)/bin $(DESTDIR)/etc/svcmove
	install -m 0644 migrator/target/svcmove.jar $(DESTDIR)$(PREFIX)/lib/svcmove/svcmove.jar
	install -m 0755 native/build/svcmove-launch $(DESTDIR)$(PREFIX)/lib/svcmove/svcmove-launch
	install -m 0755 $$(readlink -f native/build/criu-bin) $(DESTDIR)$(PREFIX)/lib/svcmove/criu
	printf '#!/bin/sh\nexport SVCMOVE_LIB=%s\nexec java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC $${SVCMOVE_JAVA_OPTS:-} -jar %s "$$@"\n' \
	  $(PREFIX)/lib/svcmove $(PREFIX)/lib/svcmove/svcmove.jar > $(DESTDIR)$(PREFIX)/bin/svcmove
	chmod 0755 $(DESTDIR)$(PREFIX)/bin/svcmove
	install -d $(DESTDIR)/etc/systemd/system
	sed 's|@BIN@|$(PREFIX)/bin/svcmove|' migrator/svcmove-agent.service > $(DESTDIR)/etc/systemd/system/svcmove-agent.service
	install -D -m 0755 migrator/ocf/svcmove $(DESTDIR)$(OCF_ROOT)/resource.d/svcmove/svcmove
	test -e $(DESTDIR)/etc/svcmove/agent.toml || install -m 0600 migrator/agent.toml.example $(DESTDIR)/etc/svcmove/agent.toml

uninstall:
	rm -rf $(DESTDIR)$(PREFIX)/lib/svcmove $(DESTDIR)$(PREFIX)/bin/svcmove $(DESTDIR)/etc/systemd/system/svcmove-agent.service \
	  $(DESTDIR)$(OCF_ROOT)/resource.d/svcmove

bench-vip: setup build
	@test-vm/bench-vip

bench-move: setup build
	@test-vm/bench-move

# Lazy (post-copy) against eager moves and plain CRIU for a memory-scanning service of 100 MB-1 GB.
bench-lazy: setup build
	@test-vm/bench-lazy

bench-stall: setup build
	@test-vm/bench-stall

# SOAK_MOVES moves (default 200) of a service holding 50 connections; fails on any lost connection or byte.
soak: setup build
	@test-vm/soak

clean:
	$(MVN) -q clean
	rm -rf native/build/svcmove-launch
