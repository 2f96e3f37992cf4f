# svcmove: `make demo` runs the main job on the test bed, `make test` runs every test.
# Both set the machine up first (root; idempotent).
SHELL := /bin/bash
MVN ?= mvn -B -ntp
PREFIX ?= /usr/local
OCF_ROOT ?= /usr/lib/ocf
MANDIR ?= $(PREFIX)/share/man
# bash-completion loads completions from $XDG_DATA_DIRS (/usr/local/share:/usr/share)/bash-completion/completions.
BASH_COMPLETION_DIR ?= $(PREFIX)/share/bash-completion/completions
export SVCMOVE_HOME := $(CURDIR)

.PHONY: setup setup-vm build native test unit fuzz faults test-vm vm-image demo install uninstall bench-vip bench-move bench-lazy bench-stall bench-flood soak clean deb deb-check

setup:
	@native/setup

# setup, and the VM bed's host packages (QEMU, mmdebstrap, NFS-Ganesha).
setup-vm:
	@native/setup --vm

native:
	@$(MAKE) -s -C native

build: native
	@$(MVN) -q package -DskipTests

# Every test: unit tests and the real integration tests on the netns test bed (root, CRIU), each
# fuzz target for 10 s, then the VM bed's suite (make test-vm) unless SVCMOVE_VM=0.
test: setup native
	@set -e; t0=$$SECONDS; $(MVN) verify; t1=$$SECONDS; \
	FUZZ_TIME=10s MVN="$(MVN)" test-vm/fuzz; t2=$$SECONDS; \
	if [ "$${SVCMOVE_VM:-1}" = 0 ]; then \
	  echo "make test: the netns suite passed in $$(( (t1 - t0) / 60 )) min, fuzzing in $$(( (t2 - t1) / 60 )) min; the VM suite was SKIPPED (SVCMOVE_VM=0; make test-vm runs it)"; \
	else \
	  $(MAKE) test-vm; \
	  echo "make test: the netns suite passed in $$(( (t1 - t0) / 60 )) min, fuzzing in $$(( (t2 - t1) / 60 )) min, the VM suite in $$(( (SECONDS - t2) / 60 )) min"; \
	fi

# Every Jazzer fuzz target (*FuzzTest) for FUZZ_TIME each (default 5m; FUZZ_TARGETS picks some).
# `make test` replays their committed corpora (mvn verify), then fuzzes each for 10 s (about 250 s
# on 2 cores).
FUZZ_TIME ?= 5m
fuzz:
	FUZZ_TIME=$(FUZZ_TIME) MVN="$(MVN)" test-vm/fuzz

# The node image of the VM bed (Debian 12 by mmdebstrap; cached in /var/cache/svcmove-vm, env
# SVCMOVE_VM_CACHE; rebuilt only when its recipe or svcmove's Depends change). Needs no bed lock.
vm-image: setup-vm
	@test-vm/vm/build-image

# The integration tests on the VM bed (QEMU guests under TCG; about 5-7 minutes to bring up 3 nodes). Nodes
# boot with svcmove's `make deb` installed in their image. VMs boot under the machine's bed lock: taken here unless the caller
# holds it already (flock /work/bed.lock make test).
test-vm: setup-vm build vm-image $(if $(wildcard packaging/deb/build-deb),deb)
	test-vm/vm/bed-lock run env SVCMOVE_BED=vm SVCMOVE_BED_PREFIX=$${SVCMOVE_BED_PREFIX:-vm} $(MVN) verify -pl test-vm -Dtest=none \
	  -Dsurefire.failIfNoSpecifiedTests=false -Dit.test='Vm*IT' -Dfailsafe.failIfNoSpecifiedTests=false

# The whole fault matrix of a move (every boundary, every fault, eager and lazy; make test runs a part).
faults: setup native
	SVCMOVE_FAULT_MATRIX=all $(MVN) verify -Dtest=none -Dsurefire.failIfNoSpecifiedTests=false -Dit.test=FaultMatrixIT \
	  -Dfailsafe.failIfNoSpecifiedTests=false

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
	install -D -m 0644 migrator/man/svcmove.8 $(DESTDIR)$(MANDIR)/man8/svcmove.8
	install -D -m 0644 migrator/man/svcmove-agent.toml.5 $(DESTDIR)$(MANDIR)/man5/svcmove-agent.toml.5
	install -d $(DESTDIR)$(BASH_COMPLETION_DIR)
	java -jar migrator/target/svcmove.jar completion bash > $(DESTDIR)$(BASH_COMPLETION_DIR)/svcmove
	chmod 0644 $(DESTDIR)$(BASH_COMPLETION_DIR)/svcmove

# A Debian package of this checkout: build/deb/svcmove_VERSION_ARCH.deb (packaging/deb/build-deb).
deb: build
	@packaging/deb/build-deb

# Installs that package into a fresh Debian 12 chroot, checks it, purges it (root, network; not in `make test`).
deb-check: deb
	@packaging/deb/check-in-chroot build/deb/svcmove_*.deb

uninstall:
	rm -rf $(DESTDIR)$(PREFIX)/lib/svcmove $(DESTDIR)$(PREFIX)/bin/svcmove $(DESTDIR)/etc/systemd/system/svcmove-agent.service \
	  $(DESTDIR)$(OCF_ROOT)/resource.d/svcmove $(DESTDIR)$(MANDIR)/man8/svcmove.8 $(DESTDIR)$(MANDIR)/man5/svcmove-agent.toml.5 \
	  $(DESTDIR)$(BASH_COMPLETION_DIR)/svcmove

bench-vip: setup build
	@test-vm/bench-vip

bench-move: setup build
	@test-vm/bench-move

# Lazy (post-copy) against eager moves and plain CRIU for a memory-scanning service of 100 MB-1 GB.
bench-lazy: setup build
	@test-vm/bench-lazy

bench-stall: setup build
	@test-vm/bench-stall

# Moves between node1 and node2 with and without a flood of node2's peer port (1,000 connections held,
# slow TLS handshakes, garbage); fails if a move fails or node2's agent grows by more than 64 MB.
bench-flood: setup build
	@test-vm/bench-flood

# SOAK_MOVES moves (default 200) of a service holding 50 connections; fails on any lost connection or byte.
soak: setup build
	@test-vm/soak

clean:
	$(MVN) -q clean
	rm -rf native/build/svcmove-launch
