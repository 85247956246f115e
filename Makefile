# storagebox: built with PGXS.  Two flavours of one extension, one version:
#   storagebox      C (src/), scripts in sql/storagebox/
#   storagebox_sql  SQL and PL/pgSQL only, scripts in sql/storagebox_sql/
# Each folder holds one base install script and the upgrade scripts
# (sql/README.md); the version comes from the control files.
EXTENSION = storagebox storagebox_sql
control_version = $(shell grep default_version $(1).control | sed -e "s/default_version[[:space:]]*=[[:space:]]*'\([^']*\)'/\1/")
EXTVERSION = $(call control_version,storagebox)
SQL_EXTVERSION = $(call control_version,storagebox_sql)

MODULE_big = storagebox
# src/ by subsystem: common/ (shared by all), bank/, dispenser/, and
# citus/ behind the placement seam (citus/placement.h); docs/design.md
# maps the files.
OBJS = \
	src/storagebox.o \
	src/common/args.o \
	src/common/errors.o \
	src/common/name_cache.o \
	src/common/set_result.o \
	src/citus/placement.o \
	src/citus/guard.o \
	src/citus/layout.o \
	src/citus/delegate.o \
	src/bank/probe.o \
	src/bank/owner_sql.o \
	src/bank/hold_expiry.o \
	src/bank/holder_read.o \
	src/bank/claim.o \
	src/bank/released.o \
	src/bank/cache.o \
	src/bank/fetch_state.o \
	src/bank/settle.o \
	src/bank/fetch.o \
	src/bank/hold_confirm.o \
	src/bank/lookup_release.o \
	src/bank/batch.o \
	src/bank/export.o \
	src/bank/load.o \
	src/dispenser/seq_run.o \
	src/dispenser/dispenser.o

# The scripts of both flavours are committed; released ones are never
# edited (sql/released.sha256, make check_released).  CREATE EXTENSION runs
# a flavour's base script and then its upgrade scripts up to
# default_version.  Release guard: both flavours carry one version, and
# each flavour has a script that ends at it.
C_SCRIPTS = $(sort $(wildcard sql/storagebox/storagebox--*.sql))
SQL_SCRIPTS = $(sort $(wildcard sql/storagebox_sql/storagebox_sql--*.sql))
ifneq ($(EXTVERSION),$(SQL_EXTVERSION))
$(error storagebox.control says $(EXTVERSION) and storagebox_sql.control $(SQL_EXTVERSION): both flavours carry one version)
endif
ifeq ($(filter %--$(EXTVERSION).sql,$(C_SCRIPTS)),)
$(error no script of storagebox ends at $(EXTVERSION) in sql/storagebox/)
endif
ifeq ($(filter %--$(SQL_EXTVERSION).sql,$(SQL_SCRIPTS)),)
$(error no script of storagebox_sql ends at $(SQL_EXTVERSION) in sql/storagebox_sql/)
endif
DATA = $(C_SCRIPTS) $(SQL_SCRIPTS)

# Which flavour installcheck tests: FLAVOR=c (default) or FLAVOR=sql.
FLAVOR ?= c
ifeq ($(FLAVOR),sql)
TEST_EXTENSION = storagebox_sql
else
TEST_EXTENSION = storagebox
endif

# Tests and specs named *_c run for the C flavour only, *_sql for the SQL
# flavour only (README, "What differs from the C build", names the
# counterpart of each).
TESTS = $(sort $(wildcard test/sql/*.sql))
ifeq ($(FLAVOR),sql)
TESTS := $(filter-out %_c.sql,$(TESTS))
else
TESTS := $(filter-out %_sql.sql,$(TESTS))
endif
REGRESS = $(patsubst test/sql/%.sql,%,$(TESTS))
REGRESS_OPTS = --inputdir=test --load-extension=$(TEST_EXTENSION)

SPECS = $(sort $(wildcard test/specs/*.spec))
ifeq ($(FLAVOR),sql)
SPECS := $(filter-out %_c.spec,$(SPECS))
else
SPECS := $(filter-out %_sql.spec,$(SPECS))
endif
ISOLATION = $(patsubst test/specs/%.spec,%,$(SPECS))
ISOLATION_OPTS = --inputdir=test --load-extension=$(TEST_EXTENSION)

PG_CPPFLAGS = -I$(srcdir)/src
PG_CFLAGS = -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Werror

# The pg_tle install file of the SQL flavour (below); make clean removes dist/.
PGTLE_DIST = dist/storagebox_sql--pgtle.sql
EXTRA_CLEAN = dist

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# Rebuild every object when a shared header changes.
$(OBJS): $(wildcard src/*.h src/*/*.h)

# The pg_tle install file of the SQL flavour (Amazon RDS and Aurora): the
# base script, every upgrade script and the default version, each body the
# script byte for byte (check_dist proves it).
all: $(PGTLE_DIST)
$(PGTLE_DIST): sql/storagebox_sql $(SQL_SCRIPTS) storagebox_sql.control tools/make_pgtle_dist.sh
	@mkdir -p dist
	tools/make_pgtle_dist.sh storagebox_sql storagebox_sql.control sql/storagebox_sql $@

.PHONY: dist check_dist check_released
dist: $(PGTLE_DIST)
check_dist: $(PGTLE_DIST)
	tools/check_pgtle_dist.sh $(PGTLE_DIST) storagebox_sql sql/storagebox_sql

# The released scripts are the ones they were at their release.
check_released:
	cd sql && sha256sum --quiet --strict -c released.sha256
	@echo "$$(wc -l < sql/released.sha256) released scripts unchanged"

# TAP tests live in test/t/ (PGXS's TAP_TESTS only looks in t/).
.PHONY: prove_installcheck
prove_installcheck:
	rm -rf $(CURDIR)/tmp_check
	cd $(srcdir) && TESTDIR='$(CURDIR)' PATH="$(bindir):$$PATH" PGPORT='6$(DEF_PGPORT)' \
		PG_REGRESS='$(top_builddir)/src/test/regress/pg_regress' SB_FLAVOR='$(FLAVOR)' \
		$(PROVE) $(PG_PROVE_FLAGS) $(PROVE_FLAGS) -I $(srcdir)/test/perl $(if $(PROVE_TESTS),$(PROVE_TESTS),test/t/*.pl)

# The Citus tests (test/citus): each starts its own coordinator and two
# workers with tools/citus_cluster.sh, and skips itself where Citus is not
# installed.
.PHONY: prove_citus
prove_citus:
	rm -rf $(CURDIR)/tmp_check
	cd $(srcdir) && TESTDIR='$(CURDIR)' PATH="$(bindir):$$PATH" PGPORT='6$(DEF_PGPORT)' \
		PG_REGRESS='$(top_builddir)/src/test/regress/pg_regress' SB_FLAVOR='$(FLAVOR)' \
		$(PROVE) $(PG_PROVE_FLAGS) $(PROVE_FLAGS) -I $(srcdir)/test/perl $(if $(PROVE_TESTS),$(PROVE_TESTS),test/citus/t/*.pl)

# Every tier of tests against the PostgreSQL of PG_CONFIG (test/run_tests.sh
# says which, and how to pick tiers).
.PHONY: test
test:
	test/run_tests.sh PG_CONFIG='$(PG_CONFIG)'
