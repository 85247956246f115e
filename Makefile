# storagebox: built with PGXS.  The version comes from storagebox.control.
EXTENSION = storagebox
EXTVERSION = $(shell grep default_version $(EXTENSION).control | sed -e "s/default_version[[:space:]]*=[[:space:]]*'\([^']*\)'/\1/")

MODULE_big = storagebox
OBJS = \
	src/storagebox.o \
	src/args.o \
	src/bank_probe.o \
	src/bank_claim.o \
	src/bank_cache.o \
	src/bank_fetch.o \
	src/bank_holder.o \
	src/bank_settle.o \
	src/bank_reuse.o \
	src/bank_load.o \
	src/seq_run.o \
	src/dispenser.o

DATA = $(wildcard sql/$(EXTENSION)--*.sql)

TESTS = $(sort $(wildcard test/sql/*.sql))
REGRESS = $(patsubst test/sql/%.sql,%,$(TESTS))
REGRESS_OPTS = --inputdir=test --load-extension=$(EXTENSION)

ISOLATION = $(patsubst test/specs/%.spec,%,$(sort $(wildcard test/specs/*.spec)))
ISOLATION_OPTS = --inputdir=test --load-extension=$(EXTENSION)

PG_CFLAGS = -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Werror

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# Rebuild every object when a shared header changes.
$(OBJS): $(wildcard src/*.h)

# TAP tests live in test/t/ (PGXS's TAP_TESTS only looks in t/).
.PHONY: prove_installcheck
prove_installcheck:
	rm -rf $(CURDIR)/tmp_check
	cd $(srcdir) && TESTDIR='$(CURDIR)' PATH="$(bindir):$$PATH" PGPORT='6$(DEF_PGPORT)' \
		PG_REGRESS='$(top_builddir)/src/test/regress/pg_regress' \
		$(PROVE) $(PG_PROVE_FLAGS) $(PROVE_FLAGS) -I $(srcdir)/test/perl $(if $(PROVE_TESTS),$(PROVE_TESTS),test/t/*.pl)
