# storagebox: built with PGXS.  Two flavours of one extension:
#   storagebox      C (src/), scripts sql/storagebox--*.sql
#   storagebox_sql  SQL and PL/pgSQL only, its script generated from sql/src
# Versions come from the control files.
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

# The C flavour's scripts are all committed, and never edited once released
# (sql/storagebox--1.3--1.4.sql is the file make built, at 1.4's release,
# from pieces it shared with the SQL flavour).

# The SQL flavour's install script, from its pieces (sql/src/README).  The
# advisory-lock class ids are defined here once.
SB_LOCK_SLOT = 1935827201
SB_LOCK_DISPENSER = 1935827202
SQL_SCRIPT = sql/storagebox_sql--$(SQL_EXTVERSION).sql
SQL_PIECES = sql/src/head.sql sql/src/schema.sql sql/src/schema_1.4.sql sql/src/citus.sql sql/src/checks.sql sql/src/setting.sql \
	sql/src/banks.sql sql/src/dispensers.sql sql/src/shared.sql sql/src/holds.sql sql/src/operate.sql \
	sql/src/acl.sql sql/src/acl_1.4.sql
# Its released scripts, committed and never edited (1.4, 1.5 and 1.6 and
# their upgrade scripts as make built them at their release), and the
# upgrade script from 1.6, built from the pieces 1.7 changed
# (sql/src/README).
SQL_RELEASED = sql/storagebox_sql--1.3.sql sql/storagebox_sql--1.4.sql sql/storagebox_sql--1.3--1.4.sql \
	sql/storagebox_sql--1.5.sql sql/storagebox_sql--1.4--1.5.sql \
	sql/storagebox_sql--1.6.sql sql/storagebox_sql--1.5--1.6.sql
SQL_UPGRADE_SCRIPT = sql/storagebox_sql--1.6--1.7.sql
SQL_UPGRADE_PIECES = sql/src/sql_1.6--1.7.sql sql/src/banks.sql
ifneq ($(filter $(SQL_SCRIPT),$(SQL_RELEASED)),)
$(error $(SQL_SCRIPT) is a released script; raise default_version in storagebox_sql.control)
endif
DATA_built = $(SQL_SCRIPT) $(SQL_UPGRADE_SCRIPT)
DATA = $(filter-out $(DATA_built),$(wildcard sql/storagebox--*.sql) $(SQL_RELEASED))

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

$(SQL_SCRIPT): $(SQL_PIECES) storagebox_sql.control Makefile
	cat $(SQL_PIECES) | $(SQL_SUBST) > $@.tmp
	mv $@.tmp $@

# The substitutions of the SQL flavour's scripts; in the upgrade script
# every CREATE FUNCTION and CREATE VIEW is CREATE OR REPLACE (see
# sql/src/sql_1.6--1.7.sql).
SQL_SUBST = sed -e 's/@VERSION@/$(SQL_EXTVERSION)/g' \
		-e 's/@SB_LOCK_SLOT@/$(SB_LOCK_SLOT)/g' \
		-e 's/@SB_LOCK_DISPENSER@/$(SB_LOCK_DISPENSER)/g'
$(SQL_UPGRADE_SCRIPT): $(SQL_UPGRADE_PIECES) storagebox_sql.control Makefile
	cat $(SQL_UPGRADE_PIECES) | $(SQL_SUBST) \
		-e 's/^CREATE FUNCTION /CREATE OR REPLACE FUNCTION /' \
		-e 's/^CREATE VIEW /CREATE OR REPLACE VIEW /' > $@.tmp
	mv $@.tmp $@

# The pg_tle install file of the SQL flavour (Amazon RDS and Aurora), and
# the check that each body in it is the script byte for byte.
all: $(PGTLE_DIST)
$(PGTLE_DIST): $(SQL_SCRIPT) $(SQL_UPGRADE_SCRIPT) $(SQL_RELEASED) storagebox_sql.control tools/make_pgtle_dist.sh
	@mkdir -p dist
	tools/make_pgtle_dist.sh storagebox_sql storagebox_sql.control sql $@

.PHONY: dist check_dist
dist: $(PGTLE_DIST)
check_dist: $(PGTLE_DIST)
	tools/check_pgtle_dist.sh $(PGTLE_DIST) storagebox_sql sql

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
