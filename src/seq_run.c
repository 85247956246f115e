/*-------------------------------------------------------------------------
 *
 * seq_run.c
 *	  Take a contiguous run of N values from a sequence in one step.
 *
 * PostgreSQL has no nextval(seq, n).  Calling nextval N times is neither
 * contiguous (other sessions interleave) nor cheap, and ALTER SEQUENCE ...
 * INCREMENT would change the sequence for everyone.  sb_seq_take_run does
 * what nextval_internal() in src/backend/commands/sequence.c does, for N
 * values at once: under the exclusive lock of the sequence's buffer it reads
 * the sequence tuple, steps it N times (wrapping at the ends if the sequence
 * CYCLEs), and writes it back.  The run is contiguous because no other
 * backend can read the tuple while the buffer is locked.
 *
 * WAL follows core's protocol so that redo, replicas, pg_dump and ALTER
 * SEQUENCE see an ordinary sequence: when fewer than N values are covered by
 * the last WAL record (log_cnt), or the page was last logged before the
 * latest checkpoint, we log the state SEQ_LOG_AHEAD values per number of
 * the run past it (scaling by N makes a batch log as seldom as a single
 * number does), stopping at the end of the range as nextval does, and keep
 * the uncovered rest in log_cnt.  A crash skips the values logged ahead.  The record is
 * core's own XLOG_SEQ_LOG, so core's redo replays it.
 *
 * One thing is stricter than core: before returning, we make sure the WAL
 * record that covers the run is flushed.  nextval() can return a value
 * covered only by a record of a transaction that later aborted and whose WAL
 * never reached disk; after a crash that value would be handed out again.
 *
 * Locking: RowExclusiveLock on the sequence relation (as nextval; ALTER
 * SEQUENCE and DROP conflict with it), then the buffer's exclusive lock for
 * the read-modify-write.
 *
 * Adapted from nextval_internal() and read_seq_tuple() of PostgreSQL's
 * src/backend/commands/sequence.c (PostgreSQL License).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/relation.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "access/xloginsert.h"
#include "catalog/pg_class.h"
#include "catalog/pg_sequence.h"
#include "common/int.h"
#include "commands/sequence.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "storagebox.h"

/*
 * Values logged ahead per number taken.  nextval logs 32 ahead; each WAL
 * record of a dispenser is also a flush that callers may wait for (see
 * above), so we log further ahead: a crash skips up to this many numbers
 * per number of the last run, a gap and never a repeat.
 */
#define SEQ_LOG_AHEAD		1024

/* Runs longer than this log ahead as if they were this long. */
#define SEQ_LOG_RUNS_MAX	100

/* The special-space magic number of a sequence page, as in sequence.c. */
#define SEQ_MAGIC		0x1717

typedef struct sequence_magic
{
	uint32		magic;
} sequence_magic;

/* A sequence's parameters from pg_sequence. */
typedef struct SeqParams
{
	int64		increment;
	int64		min_value;
	int64		max_value;
	bool		cycle;
} SeqParams;

static Relation
open_sequence(Oid seqoid, LOCKMODE mode)
{
	Relation	rel = relation_open(seqoid, mode);

	if (rel->rd_rel->relkind != RELKIND_SEQUENCE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a sequence", RelationGetRelationName(rel))));
	return rel;
}

static void
read_params(Oid seqoid, SeqParams *params)
{
	HeapTuple	tuple = SearchSysCache1(SEQRELID, ObjectIdGetDatum(seqoid));
	Form_pg_sequence form;

	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "cache lookup failed for sequence %u", seqoid);
	form = (Form_pg_sequence) GETSTRUCT(tuple);
	params->increment = form->seqincrement;
	params->min_value = form->seqmin;
	params->max_value = form->seqmax;
	params->cycle = form->seqcycle;
	ReleaseSysCache(tuple);
}

/*
 * Pin and lock (in the given mode) the sequence's only page and return its
 * data tuple.  Caller releases the buffer.
 */
static Form_pg_sequence_data
read_seq_tuple(Relation rel, int lockmode, Buffer *buf, HeapTuple tuple)
{
	Page		page;
	ItemId		lp;
	sequence_magic *sm;

	*buf = ReadBuffer(rel, 0);
	LockBuffer(*buf, lockmode);

	page = BufferGetPage(*buf);
	sm = (sequence_magic *) PageGetSpecialPointer(page);
	if (sm->magic != SEQ_MAGIC)
		elog(ERROR, "bad magic number in sequence \"%s\": %08X",
			 RelationGetRelationName(rel), sm->magic);

	lp = PageGetItemId(page, FirstOffsetNumber);
	Assert(ItemIdIsNormal(lp));
	tuple->t_data = (HeapTupleHeader) PageGetItem(page, lp);
	tuple->t_len = ItemIdGetLength(lp);
	return (Form_pg_sequence_data) GETSTRUCT(tuple);
}

/* Whether no value follows v before the end of the range. */
static bool
at_end(const SeqParams *p, int64 v)
{
	if (p->increment > 0)
		return v > p->max_value - p->increment;
	return v < p->min_value - p->increment;
}

/* The value after v, wrapping to the other end if the sequence cycles. */
static int64
step(const SeqParams *p, int64 v, const char *seqname)
{
	if (!at_end(p, v))
		return v + p->increment;
	if (!p->cycle)
		ereport(ERROR,
				(errcode(ERRCODE_SEQUENCE_GENERATOR_LIMIT_EXCEEDED),
				 errmsg("sequence \"%s\" reached its %s value",
						seqname, p->increment > 0 ? "maximum" : "minimum")));
	return p->increment > 0 ? p->min_value : p->max_value;
}

/*
 * The value up to ahead steps after v without wrapping: stops at the end of
 * the range.  *steps gets the number of steps taken.
 */
static int64
advance_to_end(const SeqParams *p, int64 v, int64 ahead, int64 *steps)
{
	int64		room;
	bool		overflow;

	if (p->increment > 0)
		overflow = pg_sub_s64_overflow(p->max_value, v, &room);
	else
		overflow = pg_sub_s64_overflow(v, p->min_value, &room);
	if (overflow)
		room = PG_INT64_MAX;
	room /= (p->increment > 0 ? p->increment : -p->increment);
	*steps = Min(room, ahead);
	return v + *steps * p->increment;
}

/*
 * Take count >= 1 consecutive values of the sequence into values[].
 * Must not run in a read-only transaction or on a standby.
 */
void
sb_seq_take_run(Oid seqoid, int count, int64 *values)
{
	Relation	rel;
	SeqParams	params;
	Buffer		buf;
	Page		page;
	HeapTupleData tuple;
	Form_pg_sequence_data seq;
	const char *seqname;
	int64		value;
	int64		log;
	int64		logged;
	bool		logit;
	XLogRecPtr	covering_lsn;

	Assert(count >= 1);

	rel = open_sequence(seqoid, RowExclusiveLock);
	seqname = RelationGetRelationName(rel);
	read_params(seqoid, &params);

	seq = read_seq_tuple(rel, BUFFER_LOCK_EXCLUSIVE, &buf, &tuple);
	page = BufferGetPage(buf);

	/* the run: the last value if never called, else the values after it */
	value = seq->last_value;
	for (int i = 0; i < count; i++)
	{
		if (i > 0 || seq->is_called)
			value = step(&params, value, seqname);
		values[i] = value;
	}

	/* Log ahead when the last record does not cover the run (see nextval). */
	log = seq->log_cnt;
	logit = log < count || !seq->is_called || PageGetLSN(page) <= GetRedoRecPtr();
	if (!logit)
		log -= count;

	/*
	 * The state to log: SEQ_LOG_AHEAD values per number of the run past it,
	 * but never past the end of the range (as nextval, which does not log
	 * across the wrap).
	 */
	logged = value;
	if (logit)
		logged = advance_to_end(&params, value,
								(int64) SEQ_LOG_AHEAD * Min(count, SEQ_LOG_RUNS_MAX),
								&log);

	/* An xid makes commit flush the WAL and wait for synchronous standbys. */
	if (logit && RelationNeedsWAL(rel))
		GetTopTransactionId();

	START_CRIT_SECTION();

	MarkBufferDirty(buf);

	if (logit && RelationNeedsWAL(rel))
	{
		xl_seq_rec	xlrec;
		XLogRecPtr	recptr;

		seq->last_value = logged;
		seq->is_called = true;
		seq->log_cnt = 0;

		/* the record carries the whole page; redo re-initializes block 0 */
		XLogBeginInsert();
		XLogRegisterBuffer(0, buf, REGBUF_WILL_INIT);
#if PG_VERSION_NUM >= 160000
		xlrec.locator = rel->rd_locator;
#else
		xlrec.node = rel->rd_node;
#endif
		XLogRegisterData((char *) &xlrec, sizeof(xl_seq_rec));
		XLogRegisterData((char *) tuple.t_data, tuple.t_len);
		recptr = XLogInsert(RM_SEQ_ID, XLOG_SEQ_LOG);
		PageSetLSN(page, recptr);
	}

	seq->last_value = value;
	seq->is_called = true;
	seq->log_cnt = log;

	END_CRIT_SECTION();

	covering_lsn = RelationNeedsWAL(rel) ? PageGetLSN(page) : InvalidXLogRecPtr;
	UnlockReleaseBuffer(buf);
	relation_close(rel, NoLock);

	/* Never hand out values whose covering WAL could be lost in a crash. */
	if (!XLogRecPtrIsInvalid(covering_lsn))
		XLogFlush(covering_lsn);
}

/*
 * The value the sequence hands out next (what nextval would return), read
 * without changing anything.
 */
int64
sb_seq_peek_next(Oid seqoid)
{
	Relation	rel;
	SeqParams	params;
	Buffer		buf;
	HeapTupleData tuple;
	Form_pg_sequence_data seq;
	int64		next;

	rel = open_sequence(seqoid, AccessShareLock);
	read_params(seqoid, &params);
	seq = read_seq_tuple(rel, BUFFER_LOCK_SHARE, &buf, &tuple);
	if (!seq->is_called)
		next = seq->last_value;
	else if (!at_end(&params, seq->last_value))
		next = seq->last_value + params.increment;
	else if (params.cycle)
		next = params.increment > 0 ? params.min_value : params.max_value;
	else
		next = seq->last_value; /* exhausted: nextval would fail */
	UnlockReleaseBuffer(buf);
	relation_close(rel, NoLock);
	return next;
}
